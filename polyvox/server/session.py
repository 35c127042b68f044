"""One Realtime connection's state machine: session config, input audio buffer + server VAD, conversation,
and at most one response in flight. Transport-free: text in via `handle()`, server events out via `emit`.

Every refused client event becomes an `error` event; nothing a client sends raises out of `handle()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from openai.types import realtime as rt
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved, OutputAudioBufferCleared
from pydantic import BaseModel

from polyvox.audio import SAMPLE_RATE, resample
from polyvox.conversation import ConversationSession, Judge, ListenOptions
from polyvox.engine import Engine, Turn
from polyvox.events import (
    BargeIn,
    EndOfTurn,
    Event,
    PartialTranscript,
    ReplyEvent,
    SpeechStarted,
    SpeechStopped,
    TurnDone,
    UserTranscript,
)
from polyvox.listen.endpoint import EndOfTurnConfig
from polyvox.listen.vad import SpeechScorer
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

log = logging.getLogger(__name__)

MIN_COMMIT_MS = 100  # a commit needs at least this much audio (as the protocol requires)


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
        judge: Judge | None = None,
    ) -> None:
        self.id = new_id("sess")
        self.engine, self.scorers, self.emit, self.limits = engine, scorers, emit, limits
        self.judge = judge  # the end-of-turn model (semantic_vad); None: semantic_vad falls back to silence
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
        self.total_ms = 0.0  # input audio appended over the session
        self.listener: ConversationSession | None = None  # turn detection on: it hears, decides and answers
        self.resampler: Any = None  # 24 kHz input -> 16 kHz for the listener (streaming, no edge effects)
        self.speech: tuple[str, int] | None = None  # (item id, audio_start_ms) while the user speaks
        self.speech_announced = False  # speech_started was sent for self.speech (deferred over a reply)
        self.partial = ""  # the live transcript sent so far (transcription.delta events) for self.speech
        self.reply_events: dict[int, asyncio.Queue[Event | None]] = {}  # turn -> its reply's events, to its response
        self.response: ResponseRun | None = None
        self.tasks: set[asyncio.Future[None]] = set()  # barge-ins in progress
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
        if self.listener is not None:
            self.listener.close()
        else:
            self.engine.end_conversation(self.conversation.state)
        self.response, self.listener, self.buffer = None, None, bytearray()
        self.conversation.items.clear()

    @property
    def playing(self) -> bool:
        """The client is still playing the last reply: it is being made, or its audio (sent at real-time pace or
        faster since the first delta) has not all been heard yet."""
        if self.responding:
            return True
        run = self.response
        if run is None or run.first_audio_at is None or run.message is None or run.cancel_reason or run.played_out:
            return False
        return time.perf_counter() < run.first_audio_at + run.message.audio_ms / 1000

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
        """(Re)start listening with the session's turn detection (none: manual commits)."""
        import soxr

        if self.listener is not None:
            self.listener.close(end_conversation=False)
        td = self.config.turn_detection
        self.listener, self.speech = None, None
        if td is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        eot = td.end_of_turn
        if eot.mode == "semantic_vad" and self.judge is None:  # no end-of-turn model: the eagerness's silence
            eot = EndOfTurnConfig(mode="server_vad", silence_ms=float(td.vad.silence_duration_ms))
        options = ListenOptions(
            vad=td.vad,
            end_of_turn=eot,
            interrupt=td.interrupt_response,
            respond=td.create_response,
            tag_replies=True,
        )

        def hop(ev: Event) -> None:  # listener threads -> the event loop
            if loop is None:
                self._on_listen(ev)
            else:
                loop.call_soon_threadsafe(self._on_listen, ev)

        self.listener = ConversationSession(
            self.engine, self._make_turn, hop, self.scorers(), options, self.judge, self.conversation.state
        )
        self.resampler = soxr.ResampleStream(PCM_RATE, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    async def _on_input_audio_buffer_append(self, ev: rt.InputAudioBufferAppendEvent) -> None:
        pcm = decode_pcm16(ev.audio, self.limits.max_append_bytes, ev.event_id)
        if len(pcm) == 0:
            return
        buffered_ms = len(self.buffer) / PCM_BYTES_PER_MS
        if self.listener is None and buffered_ms + len(pcm) / PCM_RATE * 1000 > self.limits.max_buffer_ms:
            raise ProtocolError(
                "input_audio_buffer_full",
                f"the input buffer holds at most {self.limits.max_buffer_ms} ms: commit or clear it",
                "audio",
                ev.event_id,
            )
        self.total_ms += len(pcm) * 1000 / PCM_RATE
        if self.listener is None:
            self.buffer += pcm.tobytes()
            return
        self.listener.speaking_reply = self.playing
        self.listener.push(self.resampler.resample_chunk(_pcm_to_float(pcm)))

    # -- the listener (turn detection on) -----------------------------------------------------------
    def _on_listen(self, ev: Event) -> None:
        """One event of the listener, on the event loop: Realtime events out, the reply into its response."""
        if self.listener is None:
            return
        td = self.config.turn_detection
        if isinstance(ev, SpeechStarted):
            self.speech, self.partial, self.speech_announced = (new_id("item"), round(ev.audio_ms)), "", False
            if not (self.playing and td and td.interrupt_response):
                self._announce_speech()  # over a reply it waits for BargeIn: a backchannel is not a turn
        elif isinstance(ev, PartialTranscript):
            self._on_partial(ev)
        elif isinstance(ev, BargeIn):
            if self.playing and td and td.interrupt_response:
                self._announce_speech()  # the client stops playback here
                run = self.response
                run.cancel_reason = run.cancel_reason or "turn_detected"  # this turn's end knows it interrupted
                self.dropped.add(run.id)  # unsent audio of the interrupted reply is never sent
                task = asyncio.ensure_future(self._barge_in(run))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        elif isinstance(ev, SpeechStopped):
            pass  # EndOfTurn follows for a turn; speech over the reply that did not barge in ends here, unannounced
        elif isinstance(ev, EndOfTurn):
            self._on_end_of_turn(ev)
        elif isinstance(ev, ReplyEvent) and (queue := self.reply_events.get(ev.turn)) is not None:
            queue.put_nowait(ev.event)  # to the response of that turn (a stopped reply's last events go nowhere)
            if isinstance(ev.event, TurnDone):
                queue.put_nowait(None)
                del self.reply_events[ev.turn]

    def _announce_speech(self) -> None:
        if self.speech is not None and not self.speech_announced:
            self.speech_announced = True
            item_id, start_ms = self.speech
            self.emit(build(rt.InputAudioBufferSpeechStartedEvent, audio_start_ms=start_ms, item_id=item_id))

    def _on_partial(self, ev: PartialTranscript) -> None:
        """Partial transcripts go out as transcription deltas while they only grow (clients append deltas);
        a revision waits for the final transcript (`.completed` carries it whole)."""
        if self.speech is None or not self.speech_announced or not ev.text.startswith(self.partial):
            return
        delta, self.partial = ev.text[len(self.partial) :], ev.text
        if delta:
            self.emit(
                build(
                    rt.ConversationItemInputAudioTranscriptionDeltaEvent,
                    item_id=self.speech[0],
                    content_index=0,
                    delta=delta,
                )
            )

    async def _barge_in(self, run: ResponseRun) -> None:
        """The user spoke over `run`'s reply: stop it; the conversation keeps only what was played."""
        await run.cancel("turn_detected")
        msg = run.message
        if msg is not None and msg.has_audio and run.first_audio_at is not None:
            played_ms = (time.perf_counter() - run.first_audio_at) * 1000  # the client plays as it receives
            if played_ms < msg.audio_ms:
                msg.heard_until(played_ms)

    def _on_end_of_turn(self, ev: EndOfTurn) -> None:
        td = self.config.turn_detection
        item_id = self.speech[0] if self.speech else new_id("item")
        self._announce_speech()
        self.speech = None
        self.emit(build(rt.InputAudioBufferSpeechStoppedEvent, audio_end_ms=round(ev.decided_ms), item_id=item_id))
        item = Item(item_id, "message", role="user", has_audio=True)
        prev = self.conversation.add(item)
        self.emit(build(rt.InputAudioBufferCommittedEvent, item_id=item_id, previous_item_id=prev))
        self._item_added(item, prev)
        if not (td and td.create_response):
            return
        if self.responding and not (td.interrupt_response and self.response.cancel_reason):
            # a reply still runs and this turn did not barge in (interruption off): it is not answered
            self.listener.cancel_reply()
            return
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.reply_events = {ev.turn: queue}  # replies to earlier turns are over for this session

        async def events(queue: asyncio.Queue[Event | None]) -> AsyncIterator[Event]:
            while (item := await queue.get()) is not None:
                yield item

        self._respond(None, source=events(queue), transcribes=[item])

    def _make_turn(self, speech: np.ndarray, heard: UserTranscript | None) -> Turn:
        """The listener's turn (called from its threads): the conversation so far and the session's settings."""
        turn = Turn(audio=speech, sample_rate=SAMPLE_RATE, transcript=heard, conversation=self.conversation.state)
        turn.history = self.conversation.history()
        self._apply(turn, rt.RealtimeResponseCreateParams())
        return turn

    async def _on_input_audio_buffer_commit(self, ev: rt.InputAudioBufferCommitEvent) -> None:
        if self.listener is not None:  # turn detection on: the client ends the turn being heard now
            if not self.listener.end_input():
                raise ProtocolError(
                    "input_audio_buffer_commit_empty", "no speech is being heard: nothing to commit", None, ev.event_id
                )
            return
        if len(self.buffer) / PCM_BYTES_PER_MS < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"buffer too small: expected at least {MIN_COMMIT_MS} ms of audio, have "
                f"{len(self.buffer) / PCM_BYTES_PER_MS:.0f} ms",
                None,
                ev.event_id,
            )
        self._commit(new_id("item"))

    def _commit(self, item_id: str) -> None:
        """The whole buffer becomes a user audio item (16 kHz for the engine); the buffer empties."""
        audio = resample(_pcm_to_float(self.buffer), PCM_RATE, SAMPLE_RATE)  # (n,) float32 at 16 kHz
        self.buffer = bytearray()
        item = Item(item_id, "message", role="user", audio=audio, has_audio=True)
        prev = self.conversation.add(item)
        self.emit(build(rt.InputAudioBufferCommittedEvent, item_id=item_id, previous_item_id=prev))
        self._item_added(item, prev)

    def _item_added(self, item: Item, prev: str | None) -> None:
        self.emit(build(rt.ConversationItemAdded, item=item.to_model(), previous_item_id=prev))
        self.emit(build(rt.ConversationItemDone, item=item.to_model(), previous_item_id=prev))

    async def _on_input_audio_buffer_clear(self, ev: rt.InputAudioBufferClearEvent) -> None:
        self.buffer = bytearray()
        if self.listener is not None:
            self.listener.clear()
            self.speech = None
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
        self.response.played_out = True  # the client stopped playing it
        if self.responding:
            await self._cancel("client_cancelled")
        self.emit(build(OutputAudioBufferCleared, response_id=self.response.id))

    async def _cancel(self, reason: str) -> None:
        assert self.response is not None
        self.dropped.add(self.response.id)  # unsent audio of a cancelled response is never sent
        await self.response.cancel(reason)

    def _apply(self, turn: Turn, p: rt.RealtimeResponseCreateParams) -> ResponseOptions:
        """The session's settings, overridden by response.create's `p`, onto `turn`; the response's options."""
        cfg = self.config
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
        return ResponseOptions(
            modality=modality,
            voice=turn.voice,
            in_conversation=p.conversation != "none",
            metadata=dict(p.metadata) if p.metadata else None,
        )

    def _respond(
        self,
        params: rt.RealtimeResponseCreateParams | None,
        source: AsyncIterator[Event] | None = None,
        transcribes: list[Item] | None = None,
    ) -> None:
        """Start a response for the conversation so far (response.create params override the session);
        `source`: the listener's reply events, instead of an engine turn run here."""
        p = params or rt.RealtimeResponseCreateParams()
        if source is None:
            turn, transcribes = self.conversation.build_turn()
        else:
            turn = Turn(conversation=self.conversation.state)
        options = self._apply(turn, p)
        if not options.in_conversation:
            transcribes = []
        self.response = ResponseRun(
            self.engine,
            turn,
            transcribes or [],
            self.conversation,
            options,
            self.emit,
            source=source,
            on_cancel=self.listener.cancel_reply if source is not None and self.listener else None,
        )
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
