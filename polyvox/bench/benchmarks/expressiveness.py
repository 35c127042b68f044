"""expressiveness: rhythm, pitch variation, pacing and emphasis across 8 expressive scenarios.

Each scenario (polyvox/bench/data/expressive.json) asks for a way of speaking — a question, excitement,
calm, emphasis, list pacing, soft, sad, urgent — and lists acoustic checks on the reply measured with
acoustics.py (Praat pitch, frame energy, pauses, words/s from Whisper's transcript). A case's score is
the share of its checks passed; a question also needs a "?" in the transcript. Absolute thresholds
are rough (set against a neutral Kokoro reading) and voice-dependent; the raw features are reported
so a different threshold can be applied afterwards. `--limit N` takes N cases round-robin over the scenarios.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from polyvox.bench.acoustics import check, measure
from polyvox.bench.core import Case, SessionConfig
from polyvox.bench.runner import Benchmark, CaseContext, round_robin

INSTRUCTIONS = "You are an expressive voice assistant. Do what the user asks in one or two short spoken sentences."


class Expressiveness(Benchmark):
    name = "expressiveness"
    title = "Expressiveness & prosody"
    metric = "checks passed"

    def cases(self) -> list[Case]:
        self.data_source = "hand-written scenarios: polyvox/bench/data/expressive.json (8 scenarios x 2 prompts)"
        data = json.loads((resources.files("polyvox.bench") / "data" / "expressive.json").read_text())["scenarios"]
        cases = [
            Case(f"{name}_{i}", p, group=name, expected=spec)
            for name, spec in data.items()
            for i, p in enumerate(spec["prompts"])
        ]
        return round_robin(cases, self.options.limit)

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        reply, heard = ctx.ask(case, SessionConfig(instructions=INSTRUCTIONS, max_reply_tokens=48))
        feats = measure(reply.audio, reply.sample_rate, heard.text).as_dict()
        results = {k: check(feats.get(k), rule) for k, rule in case.expected["checks"].items()}
        if case.expected.get("text", {}).get("question_mark"):
            results["question_mark"] = "?" in heard.text + reply.text  # the content asks (pitch is checked apart)
        return round(sum(results.values()) / len(results), 3), {
            "checks": results,
            "features": feats,
            "answer": (heard.text or reply.text)[:200],
        }


BENCHMARK = Expressiveness
