"""Test helpers shipped with the server: a deterministic engine and a real server on a loopback port.

with running_server(create_app(ScriptedEngine)) as port:
    ... connect to ws://127.0.0.1:{port}/v1/realtime ...
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np

from polyvox.engine import CancelToken, Engine, Turn
from polyvox.events import AudioChunk, Event, TextDelta, Timings, ToolCall, TurnDone, TurnResult, UserTranscript

TONE_HZ = 440.0


def tone(seconds: float, sample_rate: int, amplitude: float = 0.2, hz: float = TONE_HZ) -> np.ndarray:
    """(n,) float32 sine."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


class ScriptedEngine(Engine):
    """Answers every turn the same, deterministic way, without models.

    Transcript: the user's text, or "audio 1.23 s" for audio. Reply: `reply`, one word per audio chunk of
    `chunk_ms` tone (TextDelta + AudioChunk with its text), `delay_s` between chunks. With tools declared
    and no tool result yet in the history, it calls the first tool with `tool_arguments` instead.
    After a tool result it says "the tool said <output>".
    """

    name = "scripted"
    output_sample_rate = 24_000

    def __init__(
        self,
        reply: str = "hello from polyvox",
        chunk_ms: int = 100,
        delay_s: float = 0.0,
        tool_arguments: str = '{"city": "Paris"}',
    ) -> None:
        self.reply, self.chunk_ms, self.delay_s, self.tool_arguments = reply, chunk_ms, delay_s, tool_arguments
        self.turns: list[Turn] = []  # every turn answered, for assertions
        self.active = 0  # turns running right now (concurrency checks)
        self.max_active = 0
        self._lock = threading.Lock()

    def transcribe(self, speech, conversation, language=None, final=True) -> UserTranscript:
        """A streaming listener's transcript: one "la" per 250 ms of audio (grows as the user speaks)."""
        return UserTranscript(" ".join(["la"] * max(1, len(speech) // 4000)), "en", 0.99)

    def stream(self, turn: Turn, cancel: CancelToken | None = None) -> Iterator[Event]:
        cancel = cancel or CancelToken()
        with self._lock:
            self.turns.append(turn)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            yield from self._answer(turn, cancel)
        finally:
            with self._lock:
                self.active -= 1

    def _answer(self, turn: Turn, cancel: CancelToken) -> Iterator[Event]:
        t0 = time.perf_counter()
        heard = turn.text or ""
        if turn.audio is not None:
            heard = f"audio {len(turn.audio) / turn.sample_rate:.2f} s"
            yield UserTranscript(heard, "en", 0.99)
        elif turn.text:
            yield UserTranscript(turn.text, "en", 1.0)
        last = turn.history[-1] if turn.history else None
        timings = Timings()
        if turn.tools and not (last and last.role == "tool"):
            fn = turn.tools[0]["function"]["name"]
            yield ToolCall(f"call_{len(self.turns)}", fn, self.tool_arguments)
            yield TurnDone(TurnResult(heard, "en", "", timings, engine=self.name))
            return
        reply = f"the tool said {last.content}" if last and last.role == "tool" else self.reply
        said, seconds = "", 0.0
        for i, word in enumerate(reply.split()):
            if cancel.cancelled:
                break
            if i and self.delay_s:
                time.sleep(self.delay_s)
            piece = word if i == 0 else " " + word
            yield TextDelta(piece)
            if i == 0:
                timings.tts_first_audio_ms = (time.perf_counter() - t0) * 1000
            chunk = tone(self.chunk_ms / 1000, self.output_sample_rate)
            yield AudioChunk(chunk, self.output_sample_rate, piece)
            said, seconds = said + piece, seconds + self.chunk_ms / 1000
        timings.total_ms = (time.perf_counter() - t0) * 1000
        yield TurnDone(
            TurnResult(
                heard,
                "en",
                said,
                timings,
                audio_seconds=seconds,
                cancelled=cancel.cancelled,
                engine=self.name,
                trace={"emotion": "neutral"},
            )
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(app, host: str = "127.0.0.1", port: int = 0, ws_max_size: int | None = None) -> Iterator[int]:
    """Run `app` under uvicorn in a thread on a loopback port; yields the port once it accepts connections."""
    import uvicorn

    from polyvox.server.config import MAX_FRAME_BYTES

    config = uvicorn.Config(
        app,
        host=host,
        port=port or free_port(),
        log_level="warning",
        ws_max_size=ws_max_size or MAX_FRAME_BYTES,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="polyvox-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield config.port
    finally:
        server.should_exit = True
        thread.join(10)
