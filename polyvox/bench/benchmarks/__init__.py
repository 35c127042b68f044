"""The nine benchmarks, one module each. `create(name, options)` imports only the one asked for."""

from __future__ import annotations

import importlib

from polyvox.bench.core import BenchOptions
from polyvox.bench.runner import Benchmark

# name -> module in this package; each module defines one Benchmark subclass named in its BENCHMARK
NAMES: tuple[str, ...] = (
    "boot",
    "latency",
    "humaneval",
    "bfcl",
    "emotion",
    "expressiveness",
    "multilingual",
    "ethics",
    "hhh",
)


def create(name: str, options: BenchOptions) -> Benchmark:
    if name not in NAMES:
        raise ValueError(f"unknown benchmark '{name}' (choose from {', '.join(NAMES)})")
    module = importlib.import_module(f"polyvox.bench.benchmarks.{name}")
    return module.BENCHMARK(options)
