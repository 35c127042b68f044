"""Server performance against a real `polyvox serve` app (loopback only): boot-to-first-audio, concurrency, memory.

    python benchmarks/server_load.py                      # cascade engine, 5 boots, 2 concurrency rounds
    python benchmarks/server_load.py --boot-n 1 --rounds 1 --out out/server-load.json

Every turn is a spoken question (espeak-ng, pcm16 24 kHz, 100 ms `input_audio_buffer.append` chunks) in manual
turn mode (`turn_detection: null`); "end of user speech" is the moment `input_audio_buffer.commit` +
`response.create` are sent, so the clock does not include a VAD silence timeout.

1. boot: N sequential sessions, each connect -> session.created -> question -> first `response.output_audio.delta`.
   Reports connect->first audio, end of speech->first audio, the engine's own TTFA (`response.done` metadata
   `polyvox_ttfa_ms`), and overhead = (end of speech->first audio) - engine TTFA. Target: median overhead <= 500 ms.
2. concurrency: the same 4 questions asked by 1 session at a time, then by 4 sessions at the same moment
   (`asyncio.gather`), `--rounds` times. Reports end of speech->first audio medians and their ratio. Target: <= 2x.
3. memory: process RSS (the server runs in this process) before and after 20 idle sessions, per session in MB.

Prints one JSON object (milliseconds unless named otherwise); `--out FILE` also writes it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RATE = 24_000
CHUNK_MS = 100
QUESTIONS = [
    "What is the capital of France?",
    "How many days are in a week?",
    "What color is the sky?",
    "What is two plus three?",
    "Why do cats purr?",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 1) if xs else float("nan")


def med(xs: list[float]) -> float:
    return round(statistics.median(xs), 1) if xs else float("nan")


def spoken_questions(n: int) -> list[list[str]]:
    """`n` distinct spoken questions as lists of base64 pcm16 24 kHz chunks of CHUNK_MS."""
    from polyvox.audio import load_audio
    from polyvox.samples import espeak_wav

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            wav = espeak_wav(QUESTIONS[i % len(QUESTIONS)], Path(tmp) / f"q{i}.wav", voice="en-us", speed=150)
            x = load_audio(wav, sample_rate=RATE).samples
            pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
            step = RATE * CHUNK_MS // 1000 * 2
            out.append([base64.b64encode(pcm[j : j + step]).decode() for j in range(0, len(pcm), step)])
    return out


class Session:
    def __init__(self, url: str, voice: str | None = None) -> None:
        self.url = url
        self.ws: Any = None
        self.voice = voice  # reply voice for session.update (None: the engine's default)

    async def open(self, manual: bool = True) -> None:
        import websockets

        self.ws = await websockets.connect(self.url, max_size=None)
        await self.until("session.created")
        if manual:
            audio: dict[str, Any] = {"input": {"turn_detection": None}}
            if self.voice:
                audio["output"] = {"voice": self.voice}
            await self.send(type="session.update", session={"type": "realtime", "audio": audio})
            await self.until("session.updated")

    async def send(self, **event: Any) -> None:
        await self.ws.send(json.dumps(event))

    async def until(self, kind: str, timeout: float = 60.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            ev = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, end - loop.time())))
            if ev["type"] == "error":
                raise RuntimeError(f"server error: {ev.get('error')}")
            if ev["type"] == kind:
                return ev

    async def speak(self, chunks: list[str]) -> None:
        for c in chunks:
            await self.send(type="input_audio_buffer.append", audio=c)

    async def ask(self) -> dict[str, float]:
        """Audio already appended: commit + response.create, then time the first audio delta and response.done."""
        t_end = time.perf_counter()
        await self.send(type="input_audio_buffer.commit")
        await self.send(type="response.create")
        first = None
        while True:
            ev = json.loads(await asyncio.wait_for(self.ws.recv(), 120))
            if ev["type"] == "error":
                raise RuntimeError(f"server error: {ev.get('error')}")
            if ev["type"] == "response.output_audio.delta" and first is None:
                first = time.perf_counter()
            if ev["type"] == "response.done":
                resp = ev["response"]
                meta = resp.get("metadata") or {}
                if first is None:
                    raise RuntimeError(
                        f"no audio in the response (status {resp.get('status')}: {resp.get('status_details')})"
                    )
                return {
                    "t_end": t_end,
                    "t_first": first,
                    "speech_to_audio_ms": (first - t_end) * 1000,
                    "engine_ttfa_ms": float(meta.get("polyvox_ttfa_ms", "nan")),
                }

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def one_turn(url: str, chunks: list[str], voice: str | None = None) -> dict[str, float]:
    t0 = time.perf_counter()
    s = Session(url, voice)
    try:
        await s.open()
        await s.speak(chunks)
        r = await s.ask()
    finally:
        await s.close()
    r["connect_to_audio_ms"] = (r["t_first"] - t0) * 1000
    r["overhead_ms"] = r["speech_to_audio_ms"] - r["engine_ttfa_ms"]
    return r


async def concurrent(url: str, questions: list[list[str]], k: int, voice: str | None = None) -> list[dict[str, float]]:
    """`k` open sessions, their audio appended, then all asked at the same moment."""
    sessions = [Session(url, voice) for _ in range(k)]
    try:
        await asyncio.gather(*(s.open() for s in sessions))
        await asyncio.gather(*(s.speak(questions[i % len(questions)]) for i, s in enumerate(sessions)))
        return list(await asyncio.gather(*(s.ask() for s in sessions)))
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


async def idle_memory(url: str, n: int) -> dict[str, float]:
    gc.collect()
    await asyncio.sleep(1.0)
    before = rss_mb()
    sessions = [Session(url) for _ in range(n)]
    try:
        for s in sessions:
            await s.open(manual=False)
        gc.collect()
        await asyncio.sleep(1.0)
        after = rss_mb()
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    return {
        "sessions": n,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "per_session_mb": round((after - before) / n, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("cascade", "unified"), default="cascade")
    ap.add_argument("--concurrency", type=int, default=4, help="engine concurrency and concurrent sessions")
    ap.add_argument("--boot-n", type=int, default=5, help="sequential sessions for the boot measurement")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of 1 vs N concurrent sessions")
    ap.add_argument("--idle", type=int, default=20, help="idle sessions for the memory measurement")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--voice", help="reply voice set in session.update, e.g. 'f3' (espeak-ng: the fast robotic voice)")
    args = ap.parse_args()

    from polyvox.server import ServerOptions, create_app
    from polyvox.server.commands import engine_factory
    from polyvox.server.testing import running_server

    questions = spoken_questions(max(args.concurrency, len(QUESTIONS)))
    t0 = time.perf_counter()
    # As `polyvox serve` does: load the engine before the port opens (running_server allows only 30 s to start).
    engine = engine_factory(args.engine, concurrency=args.concurrency)()
    result: dict[str, Any] = {
        "engine": args.engine,
        "voice": args.voice,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
    }
    result["engine_load_s"] = round(time.perf_counter() - t0, 2)
    app = create_app(lambda: engine, ServerOptions())
    with running_server(app) as port:
        result["server_ready_s"] = round(time.perf_counter() - t0, 2)
        url = f"ws://127.0.0.1:{port}/v1/realtime?model=polyvox"

        async def run() -> None:
            boot = [await one_turn(url, questions[i % len(questions)], args.voice) for i in range(args.boot_n)]
            result["boot"] = {
                "n": len(boot),
                "connect_to_audio_median_ms": med([r["connect_to_audio_ms"] for r in boot]),
                "connect_to_audio_p90_ms": pct([r["connect_to_audio_ms"] for r in boot], 90),
                "speech_end_to_audio_median_ms": med([r["speech_to_audio_ms"] for r in boot]),
                "speech_end_to_audio_p90_ms": pct([r["speech_to_audio_ms"] for r in boot], 90),
                "engine_ttfa_median_ms": med([r["engine_ttfa_ms"] for r in boot]),
                "engine_ttfa_p90_ms": pct([r["engine_ttfa_ms"] for r in boot], 90),
                "overhead_median_ms": med([r["overhead_ms"] for r in boot]),
                "overhead_p90_ms": pct([r["overhead_ms"] for r in boot], 90),
                "target_overhead_ms": 500,
                "turns_speech_end_to_audio_ms": [round(r["speech_to_audio_ms"]) for r in boot],
                "turns_engine_ttfa_ms": [round(r["engine_ttfa_ms"]) for r in boot],
            }
            result["boot"]["pass"] = result["boot"]["overhead_median_ms"] <= 500
            single: list[dict[str, float]] = []
            multi: list[dict[str, float]] = []
            k = args.concurrency
            for _ in range(args.rounds):  # the same k questions: each alone, then all k at the same moment
                for i in range(k):
                    single += await concurrent(url, questions[i : i + 1], 1, args.voice)
                multi += await concurrent(url, questions[:k], k, args.voice)
            s_med = med([r["speech_to_audio_ms"] for r in single])
            m_med = med([r["speech_to_audio_ms"] for r in multi])
            result["concurrency_test"] = {
                "rounds": args.rounds,
                "sessions": args.concurrency,
                "single_ttfa_median_ms": s_med,
                "single_engine_ttfa_median_ms": med([r["engine_ttfa_ms"] for r in single]),
                "concurrent_ttfa_median_ms": m_med,
                "concurrent_ttfa_p90_ms": pct([r["speech_to_audio_ms"] for r in multi], 90),
                "concurrent_engine_ttfa_median_ms": med([r["engine_ttfa_ms"] for r in multi]),
                "ratio": round(m_med / s_med, 2),
                "target_ratio": 2.0,
                "single_turns_ms": [round(r["speech_to_audio_ms"]) for r in single],
                "concurrent_turns_ms": [round(r["speech_to_audio_ms"]) for r in multi],
            }
            result["concurrency_test"]["pass"] = result["concurrency_test"]["ratio"] <= 2.0
            result["idle_memory"] = await idle_memory(url, args.idle)

        asyncio.run(run())
    result["total_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
