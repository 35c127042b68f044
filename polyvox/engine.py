"""The engine interface: the one seam every engine (cascade, unified) and every front end (CLI, server, bench) share.

An engine answers a `Turn` by yielding typed events (polyvox.events). Engines implement the blocking
generator `stream()`; `respond()` runs it in a worker thread and hands the events to asyncio, and
closing the async iterator (or `cancel.set()`) stops the work between chunks (barge-in).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.events import AudioChunk, Event, TurnDone, TurnResult, UserTranscript


@dataclass(frozen=True)
class Message:
    """One conversation item in OpenAI chat form.

    An assistant tool call is `Message("assistant", '{"name": …, "arguments": {…}}', tool_call_id=…)`;
    its result is `Message("tool", output, name=<function name>, tool_call_id=…)`.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: str | None = None  # tool name (role=tool) or speaker label (role=user)
    tool_call_id: str | None = None


def user_turn_starts(history: list[Message]) -> list[int]:
    """Indices of the user messages in `history`: where each user turn (and what followed it) starts."""
    return [i for i, m in enumerate(history) if m.role == "user"]


def last_user_turns(history: list[Message], n: int) -> list[Message]:
    """The last `n` user turns of `history` with what followed each; all of it when it has no more than `n`."""
    if n <= 0:
        return []
    starts = user_turn_starts(history)
    return history[starts[-n] :] if len(starts) > n else history


@dataclass
class Conversation:
    """State that lives as long as one conversation (a `polyvox talk` run, a server session).

    Engines are shared (models load once per process), so per-conversation state lives here and the
    caller passes the same object with every turn: speaker profiles, prosody baselines, the memory user.
    """

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    user_id: str | None = None  # durable memory key (facts, speaker profiles); None = nothing persists
    translate_to: str | None = None  # translation mode: speak what the user said in this language
    turns: int = 0  # user turns answered so far
    state: Any = None  # engine-owned, typed by the engine (cascade.state.CascadeState), created on first use


@dataclass
class Turn:
    """One user turn to answer: audio (or text), plus the conversation it belongs to."""

    audio: np.ndarray | None = None  # (n,) float32 mono at `sample_rate`; None for a text turn
    sample_rate: int = SAMPLE_RATE
    text: str | None = None  # a typed user message instead of audio
    language: str | None = None  # pin the reply language (ISO 639-1); None = reply in the user's language
    history: list[Message] = field(default_factory=list)  # earlier turns, oldest first
    instructions: str | None = None  # system prompt override
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI function tool schemas
    voice: str | None = None  # engine-specific voice name
    max_reply_tokens: int = 160
    conversation: Conversation | None = None  # None = a one-off turn (nothing carried over)
    # What `audio` says, when a streaming listener (polyvox.conversation) already transcribed it: the engine
    # then skips its own VAD and recognition and keeps `audio` (cropped to the speech) for how it was said.
    transcript: UserTranscript | None = None


class CancelToken:
    """Set from any thread to stop a turn between chunks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Engine(ABC):
    """Turns user speech into assistant speech. Implementations: CascadeEngine, UnifiedEngine."""

    name: str = "engine"
    output_sample_rate: int = 24_000

    @abstractmethod
    def stream(self, turn: Turn, cancel: CancelToken | None = None) -> Iterator[Event]:
        """Answer `turn`, yielding events as they are produced; the last one is TurnDone."""

    def warmup(self) -> None:  # noqa: B027 - optional hook, default is no warm-up
        """Load models and run a tiny pass so the first real turn is not slow."""

    def transcribe(
        self, speech: np.ndarray, conversation: Conversation, language: str | None = None, final: bool = True
    ) -> UserTranscript | None:
        """What `speech` ((n,) float32 at 16 kHz, cropped to the user's words) says, for a streaming listener:
        partial transcripts while the user speaks (final=False) and the turn's transcript at its end, which
        then comes back as `Turn.transcript`. None: this engine does not transcribe apart from answering."""
        return None

    def end_conversation(self, conversation: Conversation) -> None:  # noqa: B027 - optional hook
        """The conversation is over: free what the engine keeps for it (caches, state)."""

    def run(self, turn: Turn, cancel: CancelToken | None = None) -> tuple[TurnResult, np.ndarray]:
        """Answer `turn` synchronously: (result, reply audio (n,) float32 at output_sample_rate)."""
        chunks: list[np.ndarray] = []
        result: TurnResult | None = None
        for ev in self.stream(turn, cancel):
            if isinstance(ev, AudioChunk):
                chunks.append(ev.samples)
            elif isinstance(ev, TurnDone):
                result = ev.result
        if result is None:  # an engine that breaks the contract is a bug, not user error
            raise RuntimeError(f"engine {self.name} ended without TurnDone")
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return result, audio

    async def respond(self, turn: Turn, cancel: CancelToken | None = None) -> AsyncIterator[Event]:
        """Async view of `stream()`: runs it in a worker thread; closing the iterator cancels the turn."""
        cancel = cancel or CancelToken()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event | BaseException | None] = asyncio.Queue()

        def put(item: Event | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is listening any more
                cancel.set()

        def work() -> None:
            try:
                for ev in self.stream(turn, cancel):
                    if cancel.cancelled:
                        break
                    put(ev)
            except BaseException as e:  # handed to the consumer, re-raised there
                put(e)
            finally:
                put(None)

        thread = threading.Thread(target=work, name=f"{self.name}-turn", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()
