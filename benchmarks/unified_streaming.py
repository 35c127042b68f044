"""Streaming speed of the unified model on CPU: real-time factor, per-chunk latency, memory.

    .venv/bin/python benchmarks/unified_streaming.py                 # tiny and default, 1 and 2 threads
    .venv/bin/python benchmarks/unified_streaming.py --configs default --threads 2 --seconds 20 --json

Per-chunk latency = wall time from handing the model one 80 ms input chunk to getting its 80 ms output
audio chunk (one `step`: mel, encoder, core, decoder, vocoder). RTF = total compute / audio duration;
real time needs RTF < 1, the target is ≤ 0.3 (leaves 2/3 of the CPU for everything else) and p95
latency ≤ 80 ms. Memory: parameter bytes, and process peak RSS (ru_maxrss) after the run.
Random weights: speed does not depend on training.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import torch

from polyvox.unified.config import CHUNK_MS, CHUNK_SAMPLES, SPEAK, get_config
from polyvox.unified.model import S2SModel
from polyvox.unified.sampling import SamplingOptions


def bench(config: str, threads: int, seconds: float, warmup: int = 10) -> dict[str, float | str | int]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = S2SModel(get_config(config)).eval()
    n_params = sum(p.numel() for p in model.parameters())
    n_steps = int(seconds * 1000 / CHUNK_MS)
    audio = torch.randn(1, (n_steps + warmup) * CHUNK_SAMPLES) * 0.1
    opts = SamplingOptions(seed=0)
    lat: list[float] = []
    with torch.inference_mode(), model.streaming(1):
        for i, chunk in enumerate(audio.split(CHUNK_SAMPLES, dim=1)):
            t0 = time.perf_counter()
            out = model.step(chunk, SPEAK, sampling=opts)
            _ = out.audio.numpy()  # the chunk is ready for the sound card
            if i >= warmup:
                lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    return {
        "config": config,
        "threads": threads,
        "params_m": round(n_params / 1e6, 2),
        "weights_mb": round(n_params * 4 / 1e6, 1),
        "steps": len(lat),
        "rtf": round(sum(lat) / (len(lat) * CHUNK_MS), 3),
        "latency_ms_mean": round(statistics.mean(lat), 1),
        "latency_ms_p50": round(lat[len(lat) // 2], 1),
        "latency_ms_p95": round(lat[int(len(lat) * 0.95)], 1),
        "latency_ms_max": round(lat[-1], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["tiny", "default"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--seconds", type=float, default=16.0, help="audio seconds streamed per run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [bench(c, t, args.seconds) for c in args.configs for t in args.threads]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))


if __name__ == "__main__":
    main()
