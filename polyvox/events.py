"""Typed events an engine emits while it answers a turn (pipecat-style frames, never raw dicts).

Order for one turn: [SpeechStarted, SpeechStopped] → UserTranscript → (TextDelta | AudioChunk | ToolCall)* → TurnDone.

A streaming conversation (polyvox.conversation) adds, while the user speaks: SpeechStarted → PartialTranscript*
→ [BargeIn] → EndOfTurn (with SpeechStopped) → the turn's events as above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Event:
    """Base of everything an engine yields."""


@dataclass(frozen=True)
class SpeechStarted(Event):
    """The VAD found the start of user speech at `audio_ms` into the turn's audio."""

    audio_ms: float


@dataclass(frozen=True)
class SpeechStopped(Event):
    """The VAD found the end of user speech at `audio_ms` into the turn's audio."""

    audio_ms: float


@dataclass(frozen=True)
class UserTranscript(Event):
    """What the user said (final), in which language (ISO 639-1), with the recogniser's confidence."""

    text: str
    language: str
    language_probability: float = 1.0


@dataclass(frozen=True)
class PartialTranscript(Event):
    """What the user has said so far in a turn still going on (replaced by the next one, then by UserTranscript)."""

    text: str
    language: str
    audio_ms: float  # how much of the turn's speech it covers


@dataclass(frozen=True)
class EndOfTurn(Event):
    """The listener decided the user's turn is over; the reply follows.

    reason: "semantic" (the end-of-turn model found the words complete), "silence" (the silence limit),
    "cap" (the longest wait for an incomplete turn), "input_end" (no more audio, or the client committed).
    """

    reason: str
    audio_ms: float  # end of the last voiced window on the input timeline
    wait_ms: float  # wall time from the last voiced window to the decision
    decided_ms: float = 0.0  # input timeline when decided (audio fed by then: the silence waited for included)
    turn: int = 0  # the conversation's turn number (ReplyEvent.turn of its reply)


@dataclass(frozen=True)
class ReplyEvent(Event):
    """An event of the reply to turn `turn` (EndOfTurn.turn), for front ends that run a reply per turn and must
    not mix a stopped reply's last events into the next one's (ListenOptions.tag_replies)."""

    turn: int
    event: Event


@dataclass(frozen=True)
class BargeIn(Event):
    """The user started speaking over the reply (not a backchannel): the reply stops here."""

    audio_ms: float
    words: str = ""  # what was heard by the time of the decision


@dataclass(frozen=True)
class TextDelta(Event):
    """A piece of the assistant's reply text (streams as the model produces it)."""

    text: str


@dataclass(frozen=True)
class AudioChunk(Event):
    """A piece of the assistant's spoken reply: mono float32 in [-1, 1]."""

    samples: np.ndarray  # (n,) float32
    sample_rate: int
    text: str = ""  # the text this audio speaks, when known (for transcripts aligned to audio)


@dataclass(frozen=True)
class ToolCall(Event):
    """The model asks to call a function; `arguments` is a JSON object string (OpenAI tools format)."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResult(Event):
    """A tool ran (inside the engine) and returned `output` (JSON string), or failed with `error`."""

    call_id: str
    name: str
    output: str
    error: str | None = None


@dataclass
class Timings:
    """Milliseconds from the start of the turn's processing (= end of user speech for a file)."""

    vad_ms: float = 0.0  # VAD finished
    asr_ms: float = 0.0  # transcript ready
    llm_first_token_ms: float = 0.0  # first reply token
    tts_first_audio_ms: float = 0.0  # first reply audio chunk
    total_ms: float = 0.0  # turn finished

    def as_dict(self) -> dict[str, float]:
        return {
            "vad": round(self.vad_ms, 1),
            "asr": round(self.asr_ms, 1),
            "llm_first_token": round(self.llm_first_token_ms, 1),
            "tts_first_audio": round(self.tts_first_audio_ms, 1),
            "total": round(self.total_ms, 1),
        }


@dataclass
class TurnResult:
    """Everything about one finished turn: the per-turn trace."""

    user_transcript: str
    language: str
    reply_text: str
    timings: Timings
    audio_seconds: float = 0.0  # duration of the reply audio
    cancelled: bool = False  # stopped early (barge-in / response.cancel)
    engine: str = ""
    trace: dict[str, Any] = field(default_factory=dict)  # extra per-turn data (emotion, speaker, tools, ...)

    @property
    def ttfa_ms(self) -> float:
        """Time to first audio: end of user speech → first reply audio chunk."""
        return self.timings.tts_first_audio_ms

    def as_json(self) -> dict[str, Any]:
        return {
            "user_transcript": self.user_transcript,
            "language": self.language,
            "reply_text": self.reply_text,
            "timings": self.timings.as_dict(),
            "ttfa_ms": round(self.ttfa_ms, 1),
            "audio_seconds": round(self.audio_seconds, 3),
            "cancelled": self.cancelled,
            "engine": self.engine,
            **({"trace": self.trace} if self.trace else {}),
        }


@dataclass(frozen=True)
class TurnDone(Event):
    """Last event of a turn."""

    result: TurnResult
