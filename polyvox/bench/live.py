"""Live sessions: a user turn streamed in real time, 20 ms at a time, the way a microphone sends it.

Both targets get the same client: the turn's audio is pushed at real-time pace, then silence keeps coming (as
from a microphone) until the reply is over. The system decides when the turn ended (its VAD / end-of-turn
model), so latency counts from the end of the last voiced 20 ms chunk sent — the wait for the end of the
turn included — to the first reply audio received.

    LiveEngineSession    an in-process engine behind polyvox.conversation.ConversationSession
    LiveRealtimeSession  a Realtime endpoint (polyvox serve, ...) with server turn detection on
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, float_to_pcm16, resample
from polyvox.bench.core import Reply, SessionConfig, ToolCallInfo
from polyvox.bench.targets import EngineSession, Session
from polyvox.cascade.languages import FILLERS, filler
from polyvox.engine import Engine, Message, Turn
from polyvox.events import (
    AudioChunk,
    EndOfTurn,
    PartialTranscript,
    ToolCall,
    TurnDone,
    UserTranscript,
)
from polyvox.listen.endpoint import EndOfTurnConfig

CHUNK_MS = 20  # what a browser or phone sends per packet
VOICED_DBFS = -45.0  # a 20 ms chunk above this level is voiced (the speech renders are clean)
REPLY_TIMEOUT_S = 60.0  # silence sent after the turn before giving up on a reply


def voiced_chunks(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """(ceil(n / chunk),) bool: which CHUNK_MS chunks of `x` are above VOICED_DBFS."""
    n = sample_rate * CHUNK_MS // 1000
    levels = [float(np.sqrt(np.mean(x[i : i + n].astype(np.float64) ** 2))) for i in range(0, len(x), n)]
    return np.array([20 * np.log10(max(v, 1e-9)) > VOICED_DBFS for v in levels], bool)


def last_voiced_chunk(x: np.ndarray, sample_rate: int) -> int:
    """Index of the last CHUNK_MS chunk of `x` whose level is above VOICED_DBFS (-1: none)."""
    voiced = np.flatnonzero(voiced_chunks(x, sample_rate))
    return int(voiced[-1]) if len(voiced) else -1


class Pacer:
    """Sends chunks at real-time pace: chunk i no sooner than t0 + i * CHUNK_MS."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.i = 0

    def wait(self) -> None:
        due = self.t0 + self.i * CHUNK_MS / 1000
        self.i += 1
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def _stream(x: np.ndarray, sample_rate: int, send: Callable[[np.ndarray], None], finished: Callable[[], bool]) -> float:
    """Send `x` then silence in CHUNK_MS chunks at real-time pace until `finished()`; returns the
    perf_counter at which the last voiced chunk was sent."""
    n = sample_rate * CHUNK_MS // 1000
    last = last_voiced_chunk(x, sample_rate)
    pacer, voiced_at = Pacer(), time.perf_counter()
    for i in range(0, len(x), n):
        pacer.wait()
        send(x[i : i + n])
        if i // n == last:
            voiced_at = time.perf_counter()
    silence = np.zeros(n, np.float32)
    deadline = time.perf_counter() + REPLY_TIMEOUT_S
    while not finished() and time.perf_counter() < deadline:
        pacer.wait()
        send(silence)
    return voiced_at


class LiveEngineSession(Session):
    """An engine heard live: ConversationSession decides the end of each turn and answers it."""

    def __init__(self, engine: Engine, config: SessionConfig, mode: str = "server_vad") -> None:
        from polyvox.conversation import ConversationSession, ListenOptions
        from polyvox.listen.vad import ScorerSource

        self.engine, self.config = engine, config
        self.batch = EngineSession(engine, config)  # tool continuations, and the history both share
        self.events: queue.Queue[Any] = queue.Queue()
        judge = None
        if mode == "semantic_vad":
            from polyvox.listen.smart_turn import SmartTurn

            judge = SmartTurn.load()
        self.listener = ConversationSession(
            engine,
            self._make_turn,
            self.events.put,
            ScorerSource("silero")(),
            ListenOptions(end_of_turn=EndOfTurnConfig(mode=mode)),  # type: ignore[arg-type]
            judge,
            self.batch.conversation,
        )

    def _make_turn(self, speech: np.ndarray, heard: UserTranscript | None) -> Turn:
        turn = self.batch._turn(speech, SAMPLE_RATE)
        turn.transcript = heard
        return turn

    def say(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Reply:
        x = resample(np.asarray(audio, np.float32), sample_rate, SAMPLE_RATE)
        done = threading.Event()
        got: list[tuple[float, Any]] = []

        def send(chunk: np.ndarray) -> None:
            self.listener.push(chunk)
            while True:
                try:
                    ev = self.events.get_nowait()
                except queue.Empty:
                    return
                got.append((time.perf_counter(), ev))
                if isinstance(ev, TurnDone):
                    done.set()

        voiced_at = _stream(x, SAMPLE_RATE, send, done.is_set)
        return self._reply(got, voiced_at)

    def _reply(self, got: list[tuple[float, Any]], voiced_at: float) -> Reply:
        first: float | None = None  # the answer's first audio (a "one moment" filler is not the answer)
        first_any: float | None = None
        chunks, calls, partials = [], [], []
        heard, result, end = "", None, None
        fillers = {filler(c) for c in FILLERS}
        for t, ev in got:
            if isinstance(ev, AudioChunk):
                if len(ev.samples) and first_any is None:
                    first_any = (t - voiced_at) * 1000
                if first is None and len(ev.samples) and ev.text not in fillers:
                    first = (t - voiced_at) * 1000
                chunks.append(ev.samples)
            elif isinstance(ev, UserTranscript):
                heard = ev.text
            elif isinstance(ev, PartialTranscript):
                partials.append(round((t - voiced_at) * 1000))
            elif isinstance(ev, ToolCall):
                calls.append(ToolCallInfo(ev.call_id, ev.name, ev.arguments))
            elif isinstance(ev, EndOfTurn):
                end = ev
            elif isinstance(ev, TurnDone):
                result = ev.result
        last_t = got[-1][0] if got else voiced_at
        reply_text = result.reply_text if result is not None else ""
        if heard:
            self.batch.history.append(Message("user", heard))
        for c in calls:
            body = json.dumps({"name": c.name, "arguments": json.loads(c.arguments or "{}")})
            self.batch.history.append(Message("assistant", body, tool_call_id=c.call_id))
        if reply_text and not calls:
            self.batch.history.append(Message("assistant", reply_text))
        trace: dict[str, Any] = {}
        if result is not None:
            trace = {"engine_timings": result.timings.as_dict(), **result.trace}
        if end is not None:
            trace["end_of_turn"] = {"reason": end.reason, "wait_ms": round(end.wait_ms, 1)}
        trace["partials_ms"] = partials  # when each partial transcript arrived, ms after the last voiced chunk
        trace["first_any_audio_ms"] = None if first_any is None else round(first_any, 1)
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        total = (last_t - voiced_at) * 1000
        return Reply(reply_text, audio, self.engine.output_sample_rate, heard, first, total, calls, trace)

    def tool_output(self, call_id: str, name: str, output: str) -> None:
        self.batch.tool_output(call_id, name, output)

    def respond(self) -> Reply:
        return self.batch.respond()

    def close(self) -> None:
        self.listener.close()


class LiveRealtimeSession(Session):
    """A Realtime endpoint heard live: turn detection on the server, audio appended every 20 ms."""

    def __init__(self, url: str, api_key: str | None, config: SessionConfig, turn_detection: dict[str, Any]) -> None:
        from websockets.sync.client import connect

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.ws = connect(url, additional_headers=headers, max_size=None, open_timeout=30).__enter__()
        self.events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True, name="live-realtime-reader")
        self.reader.start()
        self._until("session.created")
        session: dict[str, Any] = {"type": "realtime", "audio": {"input": {"turn_detection": turn_detection}}}
        if config.instructions is not None:
            session["instructions"] = config.instructions
        session["max_output_tokens"] = config.max_reply_tokens
        self.ws.send(json.dumps({"type": "session.update", "session": session}))
        self._until("session.updated")

    def _read(self) -> None:
        try:
            for raw in self.ws:
                self.events.put((time.perf_counter(), json.loads(raw)))
        except Exception:  # closed
            pass

    def _until(self, kind: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            _, ev = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if ev.get("type") == "error":
                raise RuntimeError(f"endpoint error: {ev.get('error')}")
            if ev.get("type") == kind:
                return ev

    def say(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Reply:
        x = resample(np.asarray(audio, np.float32), sample_rate, OUTPUT_SAMPLE_RATE)
        got: list[tuple[float, dict[str, Any]]] = []
        done = threading.Event()

        def drain() -> None:
            while True:
                try:
                    t, ev = self.events.get_nowait()
                except queue.Empty:
                    return
                got.append((t, ev))
                if ev.get("type") == "response.done":
                    done.set()

        def send(chunk: np.ndarray) -> None:
            pcm = base64.b64encode(float_to_pcm16(chunk)).decode()
            self.ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))
            drain()

        voiced_at = _stream(x, OUTPUT_SAMPLE_RATE, send, done.is_set)
        drain()
        first: float | None = None
        pcm_out: list[bytes] = []
        text, heard, trace, partials, stopped = "", "", {}, [], None
        for t, ev in got:
            kind = ev.get("type")
            if kind == "response.output_audio.delta":
                if first is None:
                    first = (t - voiced_at) * 1000
                pcm_out.append(base64.b64decode(ev["delta"]))
            elif kind == "response.output_audio_transcript.done":
                text += ev.get("transcript", "")
            elif kind == "conversation.item.input_audio_transcription.completed":
                heard = ev.get("transcript", "")
            elif kind == "conversation.item.input_audio_transcription.delta":
                partials.append(round((t - voiced_at) * 1000))
            elif kind == "input_audio_buffer.speech_stopped":
                stopped = round((t - voiced_at) * 1000)
            elif kind == "response.done":
                trace = dict((ev.get("response") or {}).get("metadata") or {})
        trace["partials_ms"] = partials
        trace["speech_stopped_ms"] = stopped
        raw = b"".join(pcm_out)
        out = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        total = ((got[-1][0] if got else voiced_at) - voiced_at) * 1000
        return Reply(text.strip(), out, OUTPUT_SAMPLE_RATE, heard, first, total, [], trace)

    def tool_output(self, call_id: str, name: str, output: str) -> None:
        raise NotImplementedError("live Realtime sessions are used for latency only")

    def respond(self) -> Reply:
        raise NotImplementedError("live Realtime sessions are used for latency only")

    def close(self) -> None:
        self.ws.close()
