"""The benchmark data model: options, cases, replies, per-case results, per-benchmark summaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BenchOptions:
    """How one run is done (shared by every benchmark of the run)."""

    out: Path  # run folder: DIR/NAME/cases/ID/..., DIR/report.json, DIR/report.md, DIR/plots/
    limit: int | None = 2  # cases per benchmark (per group/language where a benchmark says so); None = full
    languages: tuple[str, ...] | None = None  # multilingual: restrict to these ISO 639-1 codes
    groups: tuple[str, ...] | None = None  # run only the cases of these groups (BFCL multi_step, an emotion, ...)
    resume: bool = False  # skip cases already recorded in DIR/NAME/results.jsonl
    report_only: bool = False  # run no case: summarise what DIR/NAME/results.jsonl holds, rewrite the report
    data: dict[str, Path] = field(default_factory=dict)  # benchmark name -> data path override (BIG-bench JSON)
    judge: bool = False  # also score open-ended replies with the local LLM judge (see judge.py)
    progress: bool = True  # tqdm progress bars
    max_cases: int | None = None  # hard cap on cases per benchmark after its own limit (smoke tests)
    reply_tokens_cap: int | None = None  # cap every reply's max tokens (smoke tests: short replies)
    session_minutes: float | None = None  # latency: conversation length per session (None = 1 quick / 30 full)
    # latency: turns streamed live and ended by the system's turn detection (server_vad | semantic_vad), or
    # None: each finished turn submitted whole (the clock starts at the submission)
    live: str | None = "semantic_vad"

    @property
    def full(self) -> bool:
        return self.limit is None


@dataclass(frozen=True)
class Case:
    """One benchmark item: what is said to the system, and what the scorer needs to judge the reply."""

    id: str  # unique within the benchmark, safe as a folder name
    prompt: str  # the text that is spoken to the system (rendered to audio)
    language: str = "en"  # ISO 639-1 of the prompt (and of the expected reply)
    group: str = ""  # breakdown key: emotion, language, BFCL category, HHH subset, ...
    expected: Any = None  # whatever the scorer compares with (answer letter, ranges, ground truth, ...)
    meta: dict[str, Any] = field(default_factory=dict)  # extra per-benchmark data (tools, prosody, turns, ...)


@dataclass(frozen=True)
class ToolCallInfo:
    """A function call the system asked for."""

    call_id: str
    name: str
    arguments: str  # JSON object text


@dataclass
class Reply:
    """What a target answered to one user turn, measured at the client."""

    text: str  # the system's own reply text (engine reply_text / Realtime output transcript)
    audio: np.ndarray  # (n,) float32 reply audio at `sample_rate`
    sample_rate: int
    user_transcript: str = ""  # what the system heard (when it says)
    ttfa_ms: float | None = None  # turn submitted (end of user speech) -> first reply audio; None = no audio
    total_ms: float = 0.0  # turn submitted -> reply finished
    tool_calls: list[ToolCallInfo] = field(default_factory=list)
    trace: dict[str, Any] = field(default_factory=dict)  # engine timings / response metadata

    @property
    def audio_seconds(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "user_transcript": self.user_transcript,
            "ttfa_ms": None if self.ttfa_ms is None else round(self.ttfa_ms, 1),
            "total_ms": round(self.total_ms, 1),
            "audio_seconds": round(self.audio_seconds, 3),
            "tool_calls": [asdict(c) for c in self.tool_calls],
            **({"trace": self.trace} if self.trace else {}),
        }


@dataclass(frozen=True)
class SessionConfig:
    """How a conversation with the target is set up."""

    instructions: str | None = None  # system prompt; None = the system's default
    tools: tuple[dict[str, Any], ...] = ()  # OpenAI chat-completions function tools
    language: str | None = None  # pin the reply language (engine targets only; endpoints choose)
    max_reply_tokens: int = 160
    history_turns: int | None = None  # engine targets: keep only the last N user turns of history
    # live: each turn streamed in real time (20 ms chunks, then silence) and ended by the system's own turn
    # detection, "server_vad" or "semantic_vad" (bench.live); None: the finished turn is submitted whole
    live: str | None = None


@dataclass
class CaseResult:
    """One case's outcome, as stored (one JSON line) in DIR/NAME/results.jsonl."""

    id: str
    group: str
    ok: bool  # False = the case crashed (`error` says why); it counts as a failure, never aborts the run
    score: float | None = None  # the case's main score in [0, 1] (None where the benchmark has none)
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0  # wall time of the case
    code: str = ""  # the polyvox code that ran it ("0.1.0+6bd2aee", "-dirty" with local changes): resumed runs can mix

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseResult:
        keys = ("id", "group", "ok", "score", "metrics", "error", "seconds")
        return cls(**{k: d.get(k) for k in keys}, code=d.get("code") or "")


@dataclass
class Summary:
    """One benchmark's result for the report."""

    name: str
    title: str
    metric: str  # what `score` is, e.g. "pass@1", "accuracy", "median TTFA (s)"
    score: float | None  # the headline number (None when nothing could be scored)
    higher_is_better: bool = True
    n_cases: int = 0
    n_failed: int = 0  # crashed cases
    metrics: dict[str, Any] = field(default_factory=dict)  # secondary numbers
    breakdown: dict[str, float] = field(default_factory=dict)  # group -> score (per language / emotion / ...)
    data_source: str = ""  # where the cases came from (a stand-in set says so here)
    stand_in: bool = False  # True = hand-written stand-in data, NOT the named benchmark
    notes: list[str] = field(default_factory=list)
    stopped: bool = False  # the run was interrupted (Ctrl-C, SIGTERM): the figures cover the cases done

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Summary:
        """A Summary from `as_json()` output (summary.json, a report.json entry); unknown keys are ignored."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})
