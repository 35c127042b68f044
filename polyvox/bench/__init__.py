"""polyvox bench: end-to-end speech-to-speech benchmarks for any engine or Realtime endpoint.

    text prompt ─ TTS (Kokoro / espeak-ng, cached) ─ input audio ─ Target (engine in-process, or a
    Realtime endpoint over WebSocket) ─ reply audio + reply text ─ Whisper transcript ─ scorer

    from polyvox.bench import BenchOptions, run_all
    from polyvox.bench.targets import EngineTarget
    run_all(["latency", "hhh"], EngineTarget.create("cascade"), BenchOptions(out="out/bench", limit=2))

Each benchmark is one module in polyvox/bench/benchmarks/ (cases + scoring); docs/benchmarks.md
explains every scoring method and its limits.
"""

from polyvox.bench.core import BenchOptions, Case, CaseResult, Reply, SessionConfig, Summary
from polyvox.bench.runner import run_all, run_benchmark

__all__ = ["BenchOptions", "Case", "CaseResult", "Reply", "SessionConfig", "Summary", "run_all", "run_benchmark"]
