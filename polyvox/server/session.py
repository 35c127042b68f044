"""One Realtime connection's state machine: session config, input audio buffer + server VAD, conversation,
and at most one response in flight. Transport-free: text in via `handle()`, server events out via `emit`.

Every refused client event becomes an `error` event; nothing a client sends raises out of `handle()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from openai.types import realtime as rt
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved, OutputAudioBufferCleared
from pydantic import BaseModel

from polyvox.audio import SAMPLE_RATE, resample
from polyvox.engine import Engine
from polyvox.server.config import (
    Limits,
    check_extension,
    check_item_audio,
    default_session,
    engine_voice,
    merge_update,
    session_config,
    session_payload,
)
from polyvox.server.conversation import Conversation, Item, item_from_model
from polyvox.server.protocol import (
    PCM_BYTES_PER_MS,
    PCM_RATE,
    ProtocolError,
    build,
    decode_pcm16,
    error_event,
    from_exception,
    new_id,
    parse_client_event,
)
from polyvox.server.response import Emit, ResponseOptions, ResponseRun
from polyvox.server.turn_detection import SpeechScorer, TurnDetector, VadEvent

log = logging.getLogger(__name__)

MIN_COMMIT_MS = 100  # a commit needs at least this much audio (as the protocol requires)
VAD_KEEP_MARGIN_MS = 200  # in VAD mode, audio kept before speech beyond prefix_padding_ms


def _pcm_to_float(pcm: np.ndarray | bytes | bytearray) -> np.ndarray:
    """int16 pcm (array or LE bytes) -> (n,) float32 in [-1, 1]."""
    a = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes | bytearray) else pcm
    return a.astype(np.float32) / 32768.0


class TokenBucket:
    """Client event rate limit: `rate` per second sustained, `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.t = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class RealtimeSession:
    """Per-connection state; freed with the connection (nothing here is shared between sessions)."""

    def __init__(
        self,
        engine: Engine,
        scorers: Callable[[], SpeechScorer],
        emit: Emit,
        limits: Limits,
        model: str = "polyvox",
        translate_to: str | None = None,
    ) -> None:
        self.id = new_id("sess")
        self.engine, self.scorers, self.emit, self.limits = engine, scorers, emit, limits
        self.languages = speakable(engine)
        self.session: dict[str, Any] = default_session(model)
        self.url_error: ProtocolError | None = None  # a bad ?translate_to=, reported after session.created
        if translate_to is not None:
            try:
                self.session["polyvox"] = check_extension({"translate_to": translate_to}, None, self.languages)
            except ProtocolError as e:
                e.param = "translate_to"
                self.url_error = e
        self.config = session_config(self.session)
        self.conversation = Conversation(limits.max_items)
        self.buffer = bytearray()  # uncommitted input: pcm16 LE at 24 kHz
        self.buffer_start_ms = 0.0  # input timeline position of buffer[0]
        self.total_ms = 0.0  # input audio appended over the session
        self.detector: TurnDetector | None = None
        self.speech: tuple[str, int] | None = None  # (item id, audio_start_ms) while the user speaks
        self.response: ResponseRun | None = None
        self.dropped: set[str] = set()  # responses whose unsent audio deltas the sender drops
        self.bucket = TokenBucket(limits.events_per_second, limits.event_burst)
        self.last_rate_error = 0.0
        self._reset_detector()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.emit(build(rt.SessionCreatedEvent, session=session_payload(self.session, self.id)))
        self.emit(
            build(rt.ConversationCreatedEvent, conversation={"id": "conv_default", "object": "realtime.conversation"})
        )
        if self.url_error is not None:  # the session runs without translation; the client is told why
            self.emit(error_event(self.url_error))

    async def close(self) -> None:
        """The connection is gone: stop the engine and drop everything."""
        if self.responding:
            await self.response.cancel("client_cancelled")
        self.response, self.detector, self.buffer = None, None, bytearray()
        self.conversation.items.clear()

    @property
    def responding(self) -> bool:
        return self.response is not None and self.response.task is not None and not self.response.task.done()

    # -- input -------------------------------------------------------------------------------------
    async def handle(self, text: str | bytes) -> None:
        """One client message: parse, dispatch; any refusal becomes an `error` event."""
        try:
            if not self.bucket.take():
                now = time.monotonic()
                if now - self.last_rate_error >= 1.0:  # one error per second, not one per dropped event
                    self.last_rate_error = now
                    raise ProtocolError(
                        "rate_limit_exceeded",
                        f"more than {self.limits.events_per_second:.0f} events/s: events are being dropped",
                        type="rate_limit_error",
                    )
                return
            if len(text) > self.limits.max_event_bytes:
                raise ProtocolError("event_too_large", f"an event may be at most {self.limits.max_event_bytes} bytes")
            event = parse_client_event(text)
            handler = getattr(self, "_on_" + event.type.replace(".", "_"))
            try:
                await handler(event)
            except ProtocolError as e:
                e.event_id = e.event_id or event.event_id
                raise
            except (ValueError, RecursionError) as e:  # pydantic's ValidationError is a ValueError
                raise from_exception(e, event.event_id) from e
        except ProtocolError as e:
            self.emit(error_event(e))

    async def _on_session_update(self, ev: rt.SessionUpdateEvent) -> None:
        self.session = merge_update(self.session, ev.session, ev.event_id, self.languages)
        old = self.config.turn_detection
        self.config = session_config(self.session)
        if self.config.turn_detection != old:
            self._reset_detector()
        self.emit(build(rt.SessionUpdatedEvent, session=session_payload(self.session, self.id)))

    def _reset_detector(self) -> None:
        td = self.config.turn_detection
        self.detector = TurnDetector(td.vad, self.scorers(), PCM_RATE, self.total_ms) if td else None
        self.speech = None

    async def _on_input_audio_buffer_append(self, ev: rt.InputAudioBufferAppendEvent) -> None:
        pcm = decode_pcm16(ev.audio, self.limits.max_append_bytes, ev.event_id)
        if len(pcm) == 0:
            return
        buffered_ms = len(self.buffer) / PCM_BYTES_PER_MS
        if self.detector is None and buffered_ms + len(pcm) / PCM_RATE * 1000 > self.limits.max_buffer_ms:
            raise ProtocolError(
                "input_audio_buffer_full",
                f"the input buffer holds at most {self.limits.max_buffer_ms} ms: commit or clear it",
                "audio",
                ev.event_id,
            )
        self.buffer += pcm.tobytes()
        self.total_ms += len(pcm) * 1000 / PCM_RATE
        if self.detector is None:
            return
        for vad in self.detector.feed(_pcm_to_float(pcm)):
            await self._on_vad(vad)
        if self.speech is None:  # not speaking: keep only what a later start may pad with
            keep_ms = self.detector.config.prefix_padding_ms + VAD_KEEP_MARGIN_MS
            self._drop_before(self.total_ms - keep_ms)
        elif len(self.buffer) / PCM_BYTES_PER_MS > self.limits.max_buffer_ms:  # a 2-minute monologue: cut here
            await self._on_vad(VadEvent("stopped", round(self.total_ms)))
            self.detector.speaking = False

    def _drop_before(self, ms: float) -> None:
        n = int(max(0.0, ms - self.buffer_start_ms) * PCM_RATE / 1000) * 2
        if n > 0:
            del self.buffer[: min(n, len(self.buffer))]
            self.buffer_start_ms += n / PCM_BYTES_PER_MS

    async def _on_vad(self, vad: VadEvent) -> None:
        td = self.config.turn_detection
        if vad.kind == "started":
            item_id = new_id("item")
            self.speech = (item_id, vad.audio_ms)
            self.emit(build(rt.InputAudioBufferSpeechStartedEvent, audio_start_ms=vad.audio_ms, item_id=item_id))
            if td and td.interrupt_response and self.responding:
                await self._cancel("turn_detected")
            return
        if self.speech is None:
            return
        item_id, start_ms = self.speech
        self.speech = None
        self.emit(build(rt.InputAudioBufferSpeechStoppedEvent, audio_end_ms=vad.audio_ms, item_id=item_id))
        self._drop_before(start_ms)
        self._commit(item_id)
        if td and td.create_response and not self.responding:
            self._respond(None)

    async def _on_input_audio_buffer_commit(self, ev: rt.InputAudioBufferCommitEvent) -> None:
        if len(self.buffer) / PCM_BYTES_PER_MS < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"buffer too small: expected at least {MIN_COMMIT_MS} ms of audio, have "
                f"{len(self.buffer) / PCM_BYTES_PER_MS:.0f} ms",
                None,
                ev.event_id,
            )
        item_id = self.speech[0] if self.speech else new_id("item")
        self._commit(item_id)
        if self.detector is not None:
            self._reset_detector()

    def _commit(self, item_id: str) -> None:
        """The whole buffer becomes a user audio item (16 kHz for the engine); the buffer empties."""
        audio = resample(_pcm_to_float(self.buffer), PCM_RATE, SAMPLE_RATE)  # (n,) float32 at 16 kHz
        self.buffer_start_ms += len(self.buffer) / PCM_BYTES_PER_MS
        self.buffer = bytearray()
        item = Item(item_id, "message", role="user", audio=audio, has_audio=True)
        prev = self.conversation.add(item)
        self.emit(build(rt.InputAudioBufferCommittedEvent, item_id=item_id, previous_item_id=prev))
        self._item_added(item, prev)

    def _item_added(self, item: Item, prev: str | None) -> None:
        self.emit(build(rt.ConversationItemAdded, item=item.to_model(), previous_item_id=prev))
        self.emit(build(rt.ConversationItemDone, item=item.to_model(), previous_item_id=prev))

    async def _on_input_audio_buffer_clear(self, ev: rt.InputAudioBufferClearEvent) -> None:
        self.buffer_start_ms += len(self.buffer) / PCM_BYTES_PER_MS
        self.buffer = bytearray()
        if self.detector is not None:
            self._reset_detector()
        self.emit(build(rt.InputAudioBufferClearedEvent))

    # -- conversation ------------------------------------------------------------------------------
    async def _on_conversation_item_create(self, ev: rt.ConversationItemCreateEvent) -> None:
        audio = self._item_audio(ev.item, ev.event_id)
        item = item_from_model(ev.item, ev.item.id or new_id("item"), audio)
        prev = self.conversation.add(item, ev.previous_item_id)
        self._item_added(item, prev)

    def _item_audio(self, m: BaseModel, event_id: str | None) -> np.ndarray | None:
        """User input_audio content -> (n,) float32 at 16 kHz (size-limited like the input buffer)."""
        chunks = [c.audio for c in getattr(m, "content", None) or [] if getattr(c, "type", "") == "input_audio"]
        if not chunks or getattr(m, "role", None) != "user":
            return None
        max_bytes = self.limits.max_buffer_ms * PCM_BYTES_PER_MS
        pcm = np.concatenate([decode_pcm16(a or "", max_bytes, event_id) for a in chunks])
        check_item_audio(len(pcm), self.conversation.pending_audio(), self.limits, event_id)  # counted in samples
        return resample(_pcm_to_float(pcm), PCM_RATE, SAMPLE_RATE)

    async def _on_conversation_item_retrieve(self, ev: rt.ConversationItemRetrieveEvent) -> None:
        self.emit(build(ConversationItemRetrieved, item=self.conversation.get(ev.item_id).to_model()))

    async def _on_conversation_item_delete(self, ev: rt.ConversationItemDeleteEvent) -> None:
        self.conversation.delete(ev.item_id)
        self.emit(build(rt.ConversationItemDeletedEvent, item_id=ev.item_id))

    async def _on_conversation_item_truncate(self, ev: rt.ConversationItemTruncateEvent) -> None:
        item = self.conversation.get(ev.item_id)
        if item.role != "assistant" or not item.has_audio:
            raise ProtocolError("invalid_value", "only an assistant audio message can be truncated", "item_id")
        if ev.content_index != 0:
            raise ProtocolError("invalid_value", "content_index must be 0", "content_index")
        if not 0 <= ev.audio_end_ms <= item.audio_ms + 1:
            raise ProtocolError(
                "invalid_value",
                f"audio_end_ms {ev.audio_end_ms} is outside the item's {item.audio_ms:.0f} ms of audio",
                "audio_end_ms",
            )
        item.truncate(ev.audio_end_ms)
        self.emit(
            build(rt.ConversationItemTruncatedEvent, item_id=item.id, content_index=0, audio_end_ms=ev.audio_end_ms)
        )

    # -- responses ---------------------------------------------------------------------------------
    async def _on_response_create(self, ev: rt.ResponseCreateEvent) -> None:
        if self.responding:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"response {self.response.id} is in progress: cancel it or wait for response.done",
            )
        self._respond(ev.response)

    async def _on_response_cancel(self, ev: rt.ResponseCancelEvent) -> None:
        if not self.responding:
            raise ProtocolError("response_cancel_not_active", "there is no response in progress to cancel")
        if ev.response_id and ev.response_id != self.response.id:
            raise ProtocolError(
                "response_cancel_not_active", f"response '{ev.response_id}' is not in progress", "response_id"
            )
        await self._cancel("client_cancelled")

    async def _on_output_audio_buffer_clear(self, ev: rt.OutputAudioBufferClearEvent) -> None:
        if self.response is None:
            raise ProtocolError("no_response", "no response audio to clear")
        self.dropped.add(self.response.id)
        if self.responding:
            await self._cancel("client_cancelled")
        self.emit(build(OutputAudioBufferCleared, response_id=self.response.id))

    async def _cancel(self, reason: str) -> None:
        assert self.response is not None
        self.dropped.add(self.response.id)  # unsent audio of a cancelled response is never sent
        await self.response.cancel(reason)

    def _respond(self, params: rt.RealtimeResponseCreateParams | None) -> None:
        """Start a response for the conversation so far (response.create params override the session)."""
        cfg = self.config
        p = params or rt.RealtimeResponseCreateParams()
        turn, transcribes = self.conversation.build_turn()
        self.conversation.state.translate_to = cfg.translate_to  # read by the engine for every turn
        tools = [t.model_dump(exclude_none=True) for t in p.tools] if p.tools is not None else list(cfg.tools)
        tool_choice = p.tool_choice if isinstance(p.tool_choice, str) else cfg.tool_choice
        turn.tools = [] if tool_choice == "none" else [_chat_tool(t) for t in tools if t.get("name")]
        turn.instructions = p.instructions if p.instructions is not None else cfg.instructions
        tokens = p.max_output_tokens if p.max_output_tokens is not None else cfg.max_output_tokens
        if isinstance(tokens, int):
            turn.max_reply_tokens = tokens
        asked = p.audio.output.voice if p.audio and p.audio.output and p.audio.output.voice else None
        turn.voice = engine_voice(asked) if asked else cfg.voice
        modality = (p.output_modalities or cfg.output_modalities or ["audio"])[0]
        options = ResponseOptions(
            modality=modality,
            voice=turn.voice,
            in_conversation=p.conversation != "none",
            metadata=dict(p.metadata) if p.metadata else None,
        )
        if not options.in_conversation:
            transcribes = []
        self.response = ResponseRun(self.engine, turn, transcribes, self.conversation, options, self.emit)
        self.dropped.discard(self.response.id)
        self.response.start()


def speakable(engine: Engine) -> frozenset[str] | None:
    """The languages an engine's TTS can voice (a translation target must be one), None if it does not say."""
    languages = getattr(getattr(engine, "tts", None), "languages", None)
    return frozenset(languages()) if callable(languages) else None


def _chat_tool(t: dict[str, Any]) -> dict[str, Any]:
    """Realtime's flat function tool -> the chat-completions form engines take (Turn.tools)."""
    fn = {
        "name": t["name"],
        "description": t.get("description", ""),
        "parameters": t.get("parameters") or {"type": "object", "properties": {}},
    }
    return {"type": "function", "function": fn}
