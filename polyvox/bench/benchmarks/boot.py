"""boot: connect -> session ready -> first reply audio, for N sequential fresh sessions (full: 100).

For a Realtime endpoint a "call" is a new WebSocket connection; for an in-process engine it is a new
conversation on the already loaded engine (its one-off model load time is reported beside it).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from polyvox.bench.core import Case, CaseResult, SessionConfig, Summary
from polyvox.bench.runner import Benchmark, CaseContext

FULL_CALLS = 100
GREETING = "Hello, can you hear me?"


class Boot(Benchmark):
    name = "boot"
    title = "Boot time"
    metric = "median boot to first audio (s)"
    higher_is_better = False

    def cases(self) -> list[Case]:
        self.data_source = "generated: one spoken greeting per call"
        n = FULL_CALLS if self.options.limit is None else self.options.limit
        return [Case(f"call_{i:03d}", GREETING) for i in range(n)]

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        audio = ctx.speech.render(case.prompt)  # rendered before the clock starts
        t0 = time.perf_counter()
        with ctx.open(SessionConfig(max_reply_tokens=24)) as session:
            ready_ms = (time.perf_counter() - t0) * 1000
            t_turn = time.perf_counter()
            reply = session.say(audio)
        if reply.ttfa_ms is None:
            raise RuntimeError("the system sent no reply audio")
        boot_ms = (t_turn - t0) * 1000 + reply.ttfa_ms
        ctx.save_audio("input.wav", audio, 16_000)
        ctx.record(reply, prompt=case.prompt, transcribe=False)
        return None, {
            "ready_ms": round(ready_ms, 1),
            "first_audio_ms": round(boot_ms, 1),
            "ttfa_ms": round(reply.ttfa_ms, 1),
        }

    def summarize(self, results: list[CaseResult]) -> Summary:
        boots = [r.metrics["first_audio_ms"] / 1000 for r in results if r.ok]
        ready = [r.metrics["ready_ms"] / 1000 for r in results if r.ok]
        metrics: dict[str, Any] = {}
        if boots:
            metrics = {
                "p90_s": round(float(np.percentile(boots, 90)), 3),
                "mean_s": round(float(np.mean(boots)), 3),
                "median_ready_s": round(float(np.median(ready)), 3),
                "samples_s": [round(b, 3) for b in boots],
            }
        score = round(float(np.median(boots)), 3) if boots else None
        return self.summary(results, score, metrics=metrics)


BENCHMARK = Boot
