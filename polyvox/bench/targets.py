"""Targets: the system under test behind one small interface (an in-process engine or a Realtime endpoint).

    target.open(SessionConfig(...)) -> Session      # one conversation
    session.say(audio_16k) -> Reply                 # a user turn, end of speech = when it is submitted
    session.tool_output(call_id, name, output)      # answer a function call ...
    session.respond() -> Reply                      # ... and let the system continue
    session.close()

Latency is measured at the client, the same way for every target: from submitting the finished user
turn to the first reply audio chunk received.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.bench.core import Reply, SessionConfig, ToolCallInfo
from polyvox.engine import Conversation, Engine, Message, Turn, last_user_turns
from polyvox.errors import PolyvoxError
from polyvox.events import AudioChunk, TextDelta, ToolCall, TurnDone, UserTranscript


class Session(ABC):
    """One conversation with the system under test."""

    @abstractmethod
    def say(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Reply:
        """Speak one finished user turn: audio (n,) float32 -> the system's reply."""

    @abstractmethod
    def tool_output(self, call_id: str, name: str, output: str) -> None:
        """Give the system the result of one of its function calls (answered by `respond`)."""

    @abstractmethod
    def respond(self) -> Reply:
        """Let the system continue after tool outputs."""

    def close(self) -> None:  # noqa: B027 - optional
        """End the conversation."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Target(ABC):
    """Something that speaks: opens conversations."""

    name: str = "target"
    kind: str = "engine"  # "engine" (in-process) or "realtime" (endpoint)

    @abstractmethod
    def open(self, config: SessionConfig) -> Session:
        """Start a conversation (for an endpoint: connect and wait until the session is ready)."""

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind}

    def close(self) -> None:  # noqa: B027 - optional
        """Release resources."""


class RecordedTarget(Target):
    """The system a run folder's cases were recorded from, for `--report-only`: it describes that system
    (as the folder's report.json names it) without loading or connecting to it, and opens nothing."""

    def __init__(self, description: dict[str, object]) -> None:
        self.description = dict(description)
        self.name = str(description.get("name", "target"))
        self.kind = str(description.get("kind", "engine"))

    @classmethod
    def from_run(cls, out: Path, name: str, kind: str) -> RecordedTarget:
        """The target out/report.json describes when it is `name` (`kind`), else (no report yet, another
        target's, unreadable) just `name` and `kind`."""
        try:
            recorded = json.loads((Path(out) / "report.json").read_text())["target"]
        except (OSError, ValueError, KeyError, TypeError):
            recorded = None
        if not isinstance(recorded, dict) or (recorded.get("name"), recorded.get("kind")) != (name, kind):
            recorded = {"name": name, "kind": kind}
        return cls(recorded)

    def open(self, config: SessionConfig) -> Session:
        raise PolyvoxError(
            "a recorded target runs no case (--report-only summarises the cases already in the run folder)",
            "drop --report-only to run cases",
        )

    def describe(self) -> dict[str, object]:
        return dict(self.description)


class EngineTarget(Target):
    """A polyvox Engine in this process; the conversation history is kept here."""

    kind = "engine"

    def __init__(self, engine: Engine, load_seconds: float | None = None) -> None:
        self.engine = engine
        self.name = engine.name
        self.load_seconds = load_seconds  # model load time, when this target built the engine

    @classmethod
    def create(cls, kind: str = "cascade") -> EngineTarget:
        """Build and warm up the named engine (create_engine), timing the load."""
        from polyvox.talk import create_engine

        t0 = time.perf_counter()
        engine = create_engine(kind)
        engine.warmup()
        return cls(engine, time.perf_counter() - t0)

    def open(self, config: SessionConfig) -> Session:
        if config.live:
            from polyvox.bench.live import LiveEngineSession

            return LiveEngineSession(self.engine, config, config.live)
        return EngineSession(self.engine, config)

    def describe(self) -> dict[str, object]:
        d = super().describe()
        if self.load_seconds is not None:
            d["load_seconds"] = round(self.load_seconds, 2)
        return d


class EngineSession(Session):
    def __init__(self, engine: Engine, config: SessionConfig) -> None:
        self.engine, self.config = engine, config
        self.history: list[Message] = []
        # one conversation's state, as the Realtime server keeps per session: the speaker's prosody
        # baseline, the conversation's language, speaker labels
        self.conversation = Conversation()

    def _turn(self, audio: np.ndarray | None, sample_rate: int) -> Turn:
        history = self.history
        if self.config.history_turns is not None:  # keep the last N user turns (and what followed them)
            history = last_user_turns(history, self.config.history_turns)
        return Turn(
            audio=audio,
            sample_rate=sample_rate,
            language=self.config.language,
            history=list(history),
            instructions=self.config.instructions,
            tools=list(self.config.tools),
            max_reply_tokens=self.config.max_reply_tokens,
            conversation=self.conversation,
        )

    def _run(self, turn: Turn) -> Reply:
        t0 = time.perf_counter()
        first: float | None = None
        chunks: list[np.ndarray] = []
        text: list[str] = []
        calls: list[ToolCallInfo] = []
        heard, result = "", None
        for ev in self.engine.stream(turn):
            if isinstance(ev, AudioChunk):
                if first is None and len(ev.samples):
                    first = (time.perf_counter() - t0) * 1000
                chunks.append(ev.samples)
            elif isinstance(ev, TextDelta):
                text.append(ev.text)
            elif isinstance(ev, UserTranscript):
                heard = ev.text
            elif isinstance(ev, ToolCall):
                calls.append(ToolCallInfo(ev.call_id, ev.name, ev.arguments))
            elif isinstance(ev, TurnDone):
                result = ev.result
        total = (time.perf_counter() - t0) * 1000
        reply_text = result.reply_text if result is not None else "".join(text).strip()
        if turn.audio is not None or turn.text is not None:
            self.history.append(Message("user", heard))
        for c in calls:
            body = json.dumps({"name": c.name, "arguments": json.loads(c.arguments or "{}")})
            self.history.append(Message("assistant", body, tool_call_id=c.call_id))
        if reply_text and not calls:
            self.history.append(Message("assistant", reply_text))
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        trace = {"engine_timings": result.timings.as_dict(), **result.trace} if result is not None else {}
        return Reply(reply_text, audio, self.engine.output_sample_rate, heard, first, total, calls, trace)

    def say(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Reply:
        return self._run(self._turn(np.asarray(audio, np.float32), sample_rate))

    def tool_output(self, call_id: str, name: str, output: str) -> None:
        self.history.append(Message("tool", output, name=name, tool_call_id=call_id))

    def respond(self) -> Reply:
        return self._run(self._turn(None, SAMPLE_RATE))
