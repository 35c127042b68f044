"""One response: runs an engine turn and turns its typed events into the protocol's response events.

Event order (audio modality): response.created → [input transcription completed] →
response.output_item.added / conversation.item.added (assistant message) → response.content_part.added →
(response.output_audio.delta | response.output_audio_transcript.delta)* → ….done events → for each
ToolCall: output_item.added (function_call) → function_call_arguments.delta/.done → output_item.done →
response.done (completed | cancelled turn_detected/client_cancelled | failed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

from openai.types import realtime as rt
from openai.types.realtime.conversation_item_input_audio_transcription_completed_event import (
    UsageTranscriptTextUsageDuration,
)

from polyvox.audio import resample
from polyvox.engine import CancelToken, Engine, Turn
from polyvox.errors import PolyvoxError
from polyvox.events import AudioChunk, Event, TextDelta, ToolCall, TurnDone, TurnResult, UserTranscript
from polyvox.server.conversation import Conversation, Item
from polyvox.server.protocol import PCM_RATE, ServerEvent, build, encode_pcm16, new_id

log = logging.getLogger(__name__)

Emit = Callable[[ServerEvent], None]


@dataclass(frozen=True)
class ResponseOptions:
    """What one response.create (over the session defaults) asks for."""

    modality: str  # "audio" or "text"
    voice: str | None
    in_conversation: bool = True  # conversation "none": output items are not added to the conversation
    metadata: dict[str, str] | None = None


class ResponseRun:
    """State of one in-flight response; `run()` drives it, `cancel()` stops it from outside."""

    def __init__(
        self,
        engine: Engine,
        turn: Turn,
        transcribes: list[Item],
        conversation: Conversation,
        options: ResponseOptions,
        emit: Emit,
        source: AsyncIterator[Event] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.id = new_id("resp")
        self.source = source  # the events of a turn run elsewhere (the session's listener); None: run `turn` here
        self.on_cancel = on_cancel  # stops that turn
        self.first_audio_at: float | None = None  # perf_counter of the first audio delta sent
        self.played_out = False  # the client said it stopped playing this reply (output_audio_buffer.clear)
        self.engine, self.turn, self.transcribes = engine, turn, transcribes
        self.conversation, self.options, self.emit = conversation, options, emit
        self.token = CancelToken()
        self.cancel_reason: str | None = None  # turn_detected | client_cancelled
        self.output: list[Item] = []
        self.message: Item | None = None  # the assistant message item, once output starts
        self.transcript_from: str | None = None  # "text" (TextDelta) or "audio" (AudioChunk.text)
        self.result: TurnResult | None = None
        self.error: str | None = None
        self.task: asyncio.Task[None] | None = None

    # -- protocol helpers --------------------------------------------------------------------------
    def _response(self, status: str, **extra: Any) -> rt.RealtimeResponse:
        return rt.RealtimeResponse(
            id=self.id,
            object="realtime.response",
            status=status,
            conversation_id="conv_default" if self.options.in_conversation else None,
            output_modalities=[self.options.modality],
            audio={"output": {"format": {"type": "audio/pcm", "rate": PCM_RATE}, "voice": self.options.voice}},
            output=[i.to_model() for i in self.output],
            metadata=self.options.metadata,
            **extra,
        )

    def _where(self, item: Item) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": item.id, "output_index": self.output.index(item)}

    def _add_item(self, item: Item) -> None:
        prev = self.conversation.last_id()
        self.output.append(item)
        if self.options.in_conversation:
            self.conversation.add(item)
        self.emit(
            build(
                rt.ResponseOutputItemAddedEvent,
                response_id=self.id,
                output_index=len(self.output) - 1,
                item=item.to_model(),
            )
        )
        if self.options.in_conversation:
            self.emit(build(rt.ConversationItemAdded, item=item.to_model(), previous_item_id=prev))

    def _finish_item(self, item: Item, status: str) -> None:
        item.status = status
        self.emit(
            build(
                rt.ResponseOutputItemDoneEvent,
                response_id=self.id,
                output_index=self.output.index(item),
                item=item.to_model(),
            )
        )
        if self.options.in_conversation:
            self.emit(build(rt.ConversationItemDone, item=item.to_model()))

    # -- engine events -----------------------------------------------------------------------------
    def _on_transcript(self, ev: UserTranscript) -> None:
        seconds = sum(len(i.audio) for i in self.transcribes if i.audio is not None) / self.turn.sample_rate
        for n, item in enumerate(self.transcribes):
            item.text = ev.text if n == len(self.transcribes) - 1 else ""  # the joined audio's one transcript
            item.transcribed, item.audio = True, None  # audio is freed once transcribed
            self.emit(
                build(
                    rt.ConversationItemInputAudioTranscriptionCompletedEvent,
                    item_id=item.id,
                    content_index=0,
                    transcript=item.text,
                    languages=[{"code": ev.language}] if ev.language else None,
                    usage=UsageTranscriptTextUsageDuration(type="duration", seconds=round(seconds, 3)),
                )
            )

    def _open_message(self) -> Item:
        if self.message is None:
            self.message = Item(
                new_id("item"),
                "message",
                role="assistant",
                status="in_progress",
                has_audio=self.options.modality == "audio",
            )
            self._add_item(self.message)
            part = {"type": "audio", "transcript": ""} if self.message.has_audio else {"type": "text", "text": ""}
            self.emit(build(rt.ResponseContentPartAddedEvent, content_index=0, part=part, **self._where(self.message)))
        return self.message

    def _on_text(self, text: str, source: str) -> None:
        if not text or self.transcript_from not in (None, source):
            return
        self.transcript_from = source
        msg = self._open_message()
        msg.text += text
        kind = rt.ResponseAudioTranscriptDeltaEvent if msg.has_audio else rt.ResponseTextDeltaEvent
        self.emit(build(kind, content_index=0, delta=text, **self._where(msg)))

    def _on_audio(self, ev: AudioChunk) -> None:
        if self.options.modality != "audio":
            return
        msg = self._open_message()
        samples = resample(ev.samples, ev.sample_rate, PCM_RATE)  # (n,) float32 at 24 kHz
        if self.first_audio_at is None:
            self.first_audio_at = time.perf_counter()
        msg.audio_ms += len(samples) * 1000 / PCM_RATE
        if ev.text:
            msg.spans.append((msg.audio_ms, ev.text))
            self._on_text(ev.text, "audio")
        self.emit(
            build(
                rt.ResponseAudioDeltaEvent,
                response_id=self.id,
                content_index=0,
                delta=encode_pcm16(samples),
                item_id=msg.id,
                output_index=self.output.index(msg),
            )
        )

    def _on_tool_call(self, ev: ToolCall) -> None:
        item = Item(new_id("item"), "function_call", name=ev.name, call_id=ev.call_id, status="in_progress")
        self._add_item(item)
        item.arguments = ev.arguments
        self.emit(
            build(
                rt.ResponseFunctionCallArgumentsDeltaEvent, call_id=ev.call_id, delta=ev.arguments, **self._where(item)
            )
        )
        self.emit(
            build(
                rt.ResponseFunctionCallArgumentsDoneEvent,
                call_id=ev.call_id,
                name=ev.name,
                arguments=ev.arguments,
                **self._where(item),
            )
        )
        self._finish_item(item, "completed")

    def _close_message(self, status: str) -> None:
        msg = self.message
        if msg is None or msg.status != "in_progress":
            return
        where = self._where(msg)
        if msg.has_audio:
            self.emit(build(rt.ResponseAudioDoneEvent, content_index=0, **where))
            self.emit(build(rt.ResponseAudioTranscriptDoneEvent, content_index=0, transcript=msg.text, **where))
            part = {"type": "audio", "transcript": msg.text}
        else:
            self.emit(build(rt.ResponseTextDoneEvent, content_index=0, text=msg.text, **where))
            part = {"type": "text", "text": msg.text}
        self.emit(build(rt.ResponseContentPartDoneEvent, content_index=0, part=part, **where))
        self._finish_item(msg, status)

    # -- driving -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run the engine turn to its end (or cancellation) and always finish with response.done."""
        self.emit(build(rt.ResponseCreatedEvent, response=self._response("in_progress")))
        t0 = time.perf_counter()
        try:
            events = self.source if self.source is not None else self.engine.respond(self.turn, self.token)
            async for ev in events:
                if isinstance(ev, UserTranscript):
                    self._on_transcript(ev)
                elif isinstance(ev, TextDelta):
                    self._on_text(ev.text, "text")
                elif isinstance(ev, AudioChunk):
                    self._on_audio(ev)
                elif isinstance(ev, ToolCall):
                    self._on_tool_call(ev)
                elif isinstance(ev, TurnDone):
                    self.result = ev.result
        except asyncio.CancelledError:
            pass  # cancel(): finish below with status cancelled
        except PolyvoxError as e:  # e.g. no speech in the audio: the user's problem, not a bug
            log.info("turn failed: %s", e)
            self.error = str(e)
        except Exception as e:  # an engine failure fails this response, never the session
            log.exception("engine %s failed", self.engine.name)
            self.error = str(e) or type(e).__name__
        finally:
            self.token.set()
            self._done(time.perf_counter() - t0)

    def _done(self, seconds: float) -> None:
        if self.transcribes and not self.transcribes[-1].transcribed:
            for item in self.transcribes:
                self.emit(
                    build(
                        rt.ConversationItemInputAudioTranscriptionFailedEvent,
                        item_id=item.id,
                        content_index=0,
                        error={
                            "type": "transcription_error",
                            "code": "no_transcript",
                            "message": "the engine produced no transcript",
                        },
                    )
                )
        if self.cancel_reason:
            status, details = "cancelled", {"type": "cancelled", "reason": self.cancel_reason}
        elif self.error:
            status = "failed"
            details = {
                "type": "failed",
                "error": {"type": "server_error", "code": "engine_error", "message": self.error[:500]},
            }
        else:
            status, details = "completed", {"type": "completed"}
        self._close_message("completed" if status == "completed" else "incomplete")
        meta = dict(self.options.metadata or {})
        meta.update(trace_metadata(self.result, seconds))
        self.options = replace(self.options, metadata=meta)
        self.emit(build(rt.ResponseDoneEvent, response=self._response(status, status_details=details)))

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.run(), name=self.id)
        return self.task

    async def cancel(self, reason: str) -> None:
        """Stop the engine between chunks and wait for response.done (status cancelled, `reason`)."""
        if self.task is None or self.task.done():
            return
        self.cancel_reason = reason
        self.token.set()
        if self.on_cancel is not None:
            self.on_cancel()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def trace_metadata(result: TurnResult | None, seconds: float) -> dict[str, str]:
    """The per-turn trace as response metadata (string values, at most 512 chars each)."""
    import json

    meta = {"polyvox_wall_ms": f"{seconds * 1000:.0f}"}
    if result is None:
        return meta
    meta.update(
        polyvox_engine=result.engine or "",
        polyvox_language=result.language or "",
        polyvox_ttfa_ms=f"{result.ttfa_ms:.0f}",
        polyvox_timings=json.dumps(result.timings.as_dict()),
    )
    for key in ("emotion", "speaker", "voice"):
        if key in result.trace:
            meta[f"polyvox_{key}"] = str(result.trace[key])[:512]
    trace = json.dumps(result.trace, default=str)
    if len(trace) <= 512:
        meta["polyvox_trace"] = trace
    return meta
