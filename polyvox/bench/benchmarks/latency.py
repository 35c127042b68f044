"""latency: the user's last word -> first reply audio, per turn, over long scripted conversations.

A case is one session: the user lines of a script are spoken in turn (cycling) until the session's
conversation clock — user audio + reply audio — reaches SESSION_MINUTES (full) or QUICK_MINUTES
(`--minutes` sets it: 120 is the two-hour conversation). Live (the default, `--turns semantic_vad|server_vad`):
each turn is streamed in real time in 20 ms chunks and the system's own turn detection ends it, so the clock
starts at the user's last voiced chunk and the end-of-turn wait counts (bench.live); `--turns whole`
submits each finished turn (the clock starts at the submission). The session keeps the whole conversation,
as a server does; the engine leaves out its oldest turns when they outgrow the LLM's context. Each turn
records its stages (end-of-turn wait, reply start, LLM first token, first audio, prompt tokens evaluated).
"""

from __future__ import annotations

import contextlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.bench.core import Case, CaseResult, SessionConfig, Summary
from polyvox.bench.runner import Benchmark, CaseContext

SESSION_MINUTES = 30.0  # full run: 30-minute sessions
QUICK_MINUTES = 1.0  # --limit runs: one minute of conversation per session
FULL_SESSIONS = 3  # one per script
MAX_TURNS = 400  # a hard stop for a system that answers with silence


# per-turn stages, ms from the end of the user's last voiced chunk (live) or from the submission (whole)
STAGES = ("end_of_turn_ms", "reply_started_ms", "llm_first_token_ms", "first_audio_ms", "prompt_tokens_evaluated")


def stages(trace: dict[str, Any]) -> dict[str, Any]:
    """A reply's stages on the turn's clock, from its trace (engine trace or Realtime response metadata)."""
    if "polyvox_trace" in trace:  # a Realtime endpoint: the engine trace travels as response metadata
        with contextlib.suppress(ValueError):
            trace = {**trace, **json.loads(trace["polyvox_trace"])}
    out: dict[str, Any] = {}
    latency = trace.get("latency_ms") or {}
    if "end_of_turn" in trace:
        out["end_of_turn_ms"] = trace["end_of_turn"].get("wait_ms")
        out["end_of_turn_reason"] = trace["end_of_turn"].get("reason")
    elif trace.get("speech_stopped_ms") is not None:
        out["end_of_turn_ms"] = trace["speech_stopped_ms"]
    for k in ("reply_started", "llm_first_token", "first_audio"):
        if k in latency:
            out[f"{k}_ms"] = latency[k]
    if "prompt_tokens_evaluated" in trace:
        out["prompt_tokens_evaluated"] = trace["prompt_tokens_evaluated"]
        out["prompt_tokens"] = trace.get("prompt_tokens")
        out["prompt_tokens_shifted_out"] = trace.get("prompt_tokens_shifted_out", 0)
    if "preemptive_dropped" in trace:
        out["preemptive_dropped"] = trace["preemptive_dropped"]
        out["preemptive_wasted_chars"] = trace["preemptive_wasted_chars"]
    return out


def _rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _median(xs: list[float]) -> float | None:
    return round(float(np.median(xs)), 1) if xs else None


def scripts() -> list[list[str]]:
    text = (resources.files("polyvox.bench") / "data" / "conversations.json").read_text()
    return json.loads(text)["scripts"]


class Latency(Benchmark):
    name = "latency"
    title = "Latency (end of speech -> first audio)"
    metric = "median TTFA (s)"
    higher_is_better = False

    def cases(self) -> list[Case]:
        self.data_source = "generated: hand-written scripted conversations (polyvox/bench/data/conversations.json)"
        all_scripts = scripts()
        n = FULL_SESSIONS if self.options.limit is None else self.options.limit
        minutes = self.options.session_minutes or (SESSION_MINUTES if self.options.full else QUICK_MINUTES)
        return [
            Case(f"session_{i:02d}", "", expected=minutes, meta={"script": all_scripts[i % len(all_scripts)]})
            for i in range(n)
        ]

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        lines: list[str] = case.meta["script"]
        limit_s = float(case.expected) * 60
        clock, ttfas, turns = 0.0, [], []
        live = self.options.live
        # the conversation keeps its whole history, as a server session does (the engine drops its oldest turns
        # when they outgrow the LLM's context, shifting them out of its cache)
        config = SessionConfig(history_turns=None, max_reply_tokens=80, live=live)
        with ctx.open(config) as session:
            for i in range(MAX_TURNS):
                if clock >= limit_s:
                    break
                text = lines[i % len(lines)]
                reply, _ = ctx.turn(session, text, tag=f"turn_{i:03d}_", transcribe=False)
                user_s = len(ctx.speech.render(text)) / 16_000
                clock += user_s + reply.audio_seconds
                if reply.ttfa_ms is not None:
                    ttfas.append(reply.ttfa_ms)
                turns.append(
                    {
                        "user": text,
                        "heard": reply.user_transcript,
                        "reply": reply.text,
                        "ttfa_ms": reply.ttfa_ms,
                        "total_ms": round(reply.total_ms, 1),
                        "clock_s": round(clock, 1),
                        "rss_mb": _rss_mb(),  # this process (the engine, for an in-process target)
                        **stages(reply.trace),
                    }
                )
        ctx.save_json("turns.json", turns)
        if not ttfas:
            raise RuntimeError("no turn produced reply audio")
        half = len(ttfas) // 2
        stage_medians = {
            k: round(float(np.median(v)), 1) for k in STAGES if (v := [t[k] for t in turns if t.get(k) is not None])
        }
        return None, {
            "live": self.options.live or "whole",
            "stage_median_ms": stage_medians,
            "turns_1_10_median_ms": _median(ttfas[:10]),
            "turns_41_50_median_ms": _median(ttfas[40:50]),
            "turns": len(turns),
            "silent_turns": len(turns) - len(ttfas),
            "conversation_s": round(clock, 1),
            "ttfa_ms": [round(t, 1) for t in ttfas],
            "median_ttfa_ms": round(float(np.median(ttfas)), 1),
            "first_half_median_ms": round(float(np.median(ttfas[:half] or ttfas)), 1),
            "second_half_median_ms": round(float(np.median(ttfas[half:])), 1),
        }

    def summarize(self, results: list[CaseResult]) -> Summary:
        ttfas = np.array([t for r in results if r.ok for t in r.metrics["ttfa_ms"]]) / 1000
        if not len(ttfas):
            return self.summary(results, None)
        by_turn: dict[int, list[float]] = {}
        for r in results:
            if r.ok:
                for i, t in enumerate(r.metrics["ttfa_ms"]):
                    by_turn.setdefault(i, []).append(t / 1000)
        first = [t for i in range(10) for t in by_turn.get(i, [])]
        later = [t for i in range(40, 50) for t in by_turn.get(i, [])]
        metrics = {
            "live": self.options.live or "whole",
            "turns_1_10_p50_s": round(float(np.median(first)), 3) if first else None,
            "turns_41_50_p50_s": round(float(np.median(later)), 3) if later else None,
            "growth_41_50_over_1_10": round(float(np.median(later) / np.median(first)), 3) if first and later else None,
            "p50_by_turn_s": [round(float(np.median(by_turn[i])), 3) for i in sorted(by_turn)],
            "p50_s": round(float(np.percentile(ttfas, 50)), 3),
            "p90_s": round(float(np.percentile(ttfas, 90)), 3),
            "p99_s": round(float(np.percentile(ttfas, 99)), 3),
            "mean_s": round(float(ttfas.mean()), 3),
            "turns": len(ttfas),
            "ttfa_s": [round(float(t), 3) for t in ttfas],
            "silent_turns": sum(r.metrics["silent_turns"] for r in results if r.ok),
        }
        return self.summary(results, metrics["p50_s"], metrics=metrics)


BENCHMARK = Latency
