"""A real `polyvox serve` heard as users meet it: speech streamed in real time, 20 ms chunks, server turn detection.

    python benchmarks/live_server.py --out docs/bench_live_server          # starts polyvox serve on a free port
    python benchmarks/live_server.py --url ws://127.0.0.1:8000/v1/realtime --parts latency

Parts (each writes into --out/results.json, a plot and summary.md; finished parts are kept, so a rerun with the
same --out goes on where it stopped):
  latency      one conversation of TURNS spoken questions: first reply audio after the user's last voiced chunk,
               per turn (the end-of-turn wait included), for --turn-detection server_vad and semantic_vad
  concurrency  CONVERSATIONS conversations at once, the same questions: median latency against one alone
  barge_in     BARGE_INS times: a question, then "Wait, stop ..." over the reply: ms from the interruption's first
               voiced chunk to speech_started (the page stops playback there) and to response.done (cancelled);
               BACKCHANNELS times "mm-hm" / "yeah" / "okay" / "right" over a reply: how many stopped it
Speech is espeak-ng (polyvox.samples), the user's voice for every part.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from polyvox.audio import OUTPUT_SAMPLE_RATE, float_to_pcm16, load_audio
from polyvox.bench.core import SessionConfig
from polyvox.bench.live import CHUNK_MS, LiveRealtimeSession, Pacer, voiced_chunks

QUESTIONS = [
    "What is the capital of France?",
    "How many days are in a week?",
    "Tell me one fact about the moon.",
    "What should I cook for dinner tonight?",
    "Is it going to be cold in winter in Oslo?",
    "Which is bigger, a cat or a horse?",
    "Name a famous painter.",
    "How do I say hello in Spanish?",
]
INTERRUPT = "Wait, stop. Tell me about Spain instead."
BACKCHANNELS = ["Mm-hm.", "Yeah.", "Okay.", "Right."]
LONG_ASK = "Tell me a long story about a dragon and a knight."
RATE = OUTPUT_SAMPLE_RATE  # the protocol's 24 kHz


def speech(text: str, cache: dict[str, np.ndarray]) -> np.ndarray:
    """espeak-ng speech, (n,) float32 at 24 kHz."""
    if text not in cache:
        from polyvox.samples import espeak_wav

        with tempfile.TemporaryDirectory() as d:
            path = espeak_wav(text, Path(d) / "s.wav")
            cache[text] = load_audio(path, RATE).samples
    return cache[text]


def start_server(port: int, log: Path) -> subprocess.Popen:
    """`polyvox serve` on a loopback port, its log in `log`; returns once /healthz answers."""
    exe = Path(sys.executable).with_name("polyvox")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if json.load(r).get("status") == "ok":
                    return proc
        except OSError:
            time.sleep(1)
        if proc.poll() is not None:
            raise RuntimeError(f"polyvox serve exited: {log.read_text()[-2000:]}")
    proc.kill()
    raise RuntimeError("polyvox serve did not come up in 300 s")


def converse(url: str, mode: str, questions: list[str], cache: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One live conversation: each question streamed, then silence until the reply is done."""
    s = LiveRealtimeSession(url, None, SessionConfig(max_reply_tokens=60), {"type": mode})
    turns = []
    try:
        for q in questions:
            r = s.say(speech(q, cache), RATE)
            turns.append(
                {
                    "user": q,
                    "heard": r.user_transcript,
                    "reply": r.text,
                    "first_audio_ms": None if r.ttfa_ms is None else round(r.ttfa_ms, 1),
                    "speech_stopped_ms": r.trace.get("speech_stopped_ms"),
                    "partials_ms": r.trace.get("partials_ms"),
                    "engine_trace": r.trace.get("polyvox_trace"),
                }
            )
    finally:
        s.close()
    return turns


def latency(url: str, modes: list[str], turns: int, cache: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in modes:
        qs = [QUESTIONS[i % len(QUESTIONS)] for i in range(turns)]
        rows = converse(url, mode, qs, cache)
        firsts = [t["first_audio_ms"] for t in rows if t["first_audio_ms"] is not None]
        out[mode] = {
            "turns": rows,
            "median_ms": round(statistics.median(firsts), 1) if firsts else None,
            "p90_ms": round(float(np.percentile(firsts, 90)), 1) if firsts else None,
            "partials_per_turn": round(float(np.mean([len(t["partials_ms"] or []) for t in rows])), 2),
        }
    return out


def concurrency(url: str, n: int, turns: int, cache: dict[str, np.ndarray]) -> dict[str, Any]:
    qs = [QUESTIONS[i % len(QUESTIONS)] for i in range(turns)]
    alone = converse(url, "server_vad", qs, cache)
    results: list[list[dict[str, Any]]] = [[] for _ in range(n)]

    def run(i: int) -> None:
        time.sleep(i * 0.37)  # people do not start speaking in the same 20 ms
        results[i] = converse(url, "server_vad", qs[i % len(qs) :] + qs[: i % len(qs)], cache)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    one = [t["first_audio_ms"] for t in alone if t["first_audio_ms"] is not None]
    many = [t["first_audio_ms"] for r in results for t in r if t["first_audio_ms"] is not None]
    m1, mn = statistics.median(one), statistics.median(many)
    return {"conversations": n, "alone_median_ms": round(m1, 1), "together_median_ms": round(mn, 1),
            "ratio": round(mn / m1, 2), "alone": alone, "together": results}  # fmt: skip


class Client:
    """A raw Realtime connection for the barge-in runs: events with their arrival times."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, max_size=None, open_timeout=30).__enter__()
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait("session.created")
        self.ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "max_output_tokens": 200,
            "audio": {"input": {"turn_detection": {"type": "server_vad"}}}}}))  # fmt: skip
        self.wait("session.updated")

    def _read(self) -> None:
        try:
            for raw in self.ws:
                with self.lock:
                    self.events.append((time.perf_counter(), json.loads(raw)))
        except Exception:
            pass

    def wait(self, kind: str, after: float = 0.0, timeout: float = 60.0, send_silence: bool = False) -> float:
        """perf_counter of the first `kind` event after `after` (silence keeps streaming meanwhile if asked)."""
        deadline = time.monotonic() + timeout
        pacer = Pacer()
        silence = np.zeros(RATE * CHUNK_MS // 1000, np.float32)
        while time.monotonic() < deadline:
            with self.lock:
                hit = next((t for t, e in self.events if e.get("type") == kind and t >= after), None)
            if hit is not None:
                return hit
            if send_silence:
                pacer.wait()
                self.send(silence)
            else:
                time.sleep(0.005)
        with self.lock:
            recent = [e.get("type") for t, e in self.events if t >= after][-25:]
        raise TimeoutError(f"no {kind} within {timeout} s; events since: {recent}")

    def send(self, chunk: np.ndarray) -> None:
        pcm = base64.b64encode(float_to_pcm16(chunk)).decode()
        self.ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))

    def stream(self, x: np.ndarray) -> float:
        """Stream `x` in real time; returns perf_counter of its first voiced chunk."""
        n = RATE * CHUNK_MS // 1000
        pacer, first = Pacer(), None
        voiced = voiced_chunks(x, RATE)
        for k, i in enumerate(range(0, len(x), n)):
            pacer.wait()
            self.send(x[i : i + n])
            if first is None and voiced[k]:
                first = time.perf_counter()
        return first or time.perf_counter()

    def played_until(self) -> float:
        """perf_counter at which a client playing every reply as it arrives has played all it received."""
        until, starts, audio = 0.0, {}, {}
        with self.lock:
            for t, e in self.events:
                if e.get("type") == "response.output_audio.delta":
                    rid = e["response_id"]
                    starts.setdefault(rid, t)
                    audio[rid] = audio.get(rid, 0.0) + len(base64.b64decode(e["delta"])) / 2 / RATE
        for rid, t in starts.items():
            until = max(until, t + audio[rid])
        return until

    def silence(self, seconds: float) -> None:
        """Send `seconds` of silence at real-time pace (a microphone in a quiet room)."""
        pacer, n = Pacer(), RATE * CHUNK_MS // 1000
        for _ in range(int(seconds * 1000 / CHUNK_MS)):
            pacer.wait()
            self.send(np.zeros(n, np.float32))

    def count(self, kind: str, after: float) -> int:
        with self.lock:
            return sum(1 for t, e in self.events if e.get("type") == kind and t >= after)

    def done_status(self, after: float) -> str | None:
        with self.lock:
            return next((e["response"]["status"] for t, e in self.events
                         if e.get("type") == "response.done" and t >= after), None)  # fmt: skip

    def close(self) -> None:
        self.ws.close()


def barge_in(url: str, n_barge: int, n_back: int, cache: dict[str, np.ndarray]) -> dict[str, Any]:
    """Each round in a conversation of its own (asked again in one conversation, the story gets shorter
    until it is over before the interruption)."""
    stops, dones = [], []
    backchannel_stops = 0
    silence = np.zeros(int(0.3 * RATE), np.float32)
    for i in tqdm(range(n_barge + n_back), desc="barge-in"):
        c = Client(url)
        try:
            t0 = c.stream(np.concatenate([speech(LONG_ASK, cache), silence]))
            c.wait("response.output_audio.delta", after=t0, send_silence=True)
            c.silence(1.0)  # the client has played 1 s of the reply (the story goes on for many more)
            over = INTERRUPT if i < n_barge else BACKCHANNELS[i % len(BACKCHANNELS)]
            start = c.stream(np.concatenate([speech(over, cache), silence]))
            if i < n_barge:
                stopped = c.wait("input_audio_buffer.speech_started", after=start, send_silence=True)
                done = c.wait("response.done", after=start - 5, send_silence=True)
                stops.append(round((stopped - start) * 1000, 1))
                dones.append(round((done - start) * 1000, 1))
            else:  # the reply goes on unless the backchannel stopped it: speech_started is where a client stops
                c.silence(1.5)
                if c.count("input_audio_buffer.speech_started", start) or c.done_status(start) == "cancelled":
                    backchannel_stops += 1
            # the next round starts in quiet: every response of this one made, the player stopped and told so
            while c.count("response.created", t0) > c.count("response.done", t0):
                c.silence(0.2)
            if time.perf_counter() < c.played_until():
                c.ws.send(json.dumps({"type": "output_audio_buffer.clear"}))
            c.silence(0.5)
        finally:
            c.close()
    return {
        "barge_ins": n_barge,
        "speech_started_after_onset_ms": stops,
        "median_stop_ms": round(statistics.median(stops), 1) if stops else None,
        "response_done_after_onset_ms": dones,
        "backchannels": n_back,
        "backchannels_that_stopped_the_reply": backchannel_stops,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=None, help="an endpoint already running (default: start polyvox serve)")
    ap.add_argument("--out", type=Path, default=Path("docs/bench_live_server"))
    ap.add_argument("--parts", nargs="+", default=["latency", "concurrency", "barge_in"])
    ap.add_argument("--turn-detection", nargs="+", default=["server_vad", "semantic_vad"])
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--conversations", type=int, default=4)
    ap.add_argument("--barge-ins", type=int, default=5)
    ap.add_argument("--backchannels", type=int, default=20)
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    proc = None
    url = args.url
    if url is None:
        port = 8700 + os.getpid() % 200
        print(f"starting polyvox serve on port {port} ...", file=sys.stderr)
        proc = start_server(port, args.out / "server.log")
        url = f"ws://127.0.0.1:{port}/v1/realtime"
    cache: dict[str, np.ndarray] = {}
    try:
        for part in args.parts:
            if part in results:
                print(f"{part}: kept from {path}", file=sys.stderr)
                continue
            print(f"{part} ...", file=sys.stderr)
            if part == "latency":
                results[part] = latency(url, args.turn_detection, args.turns, cache)
            elif part == "concurrency":
                results[part] = concurrency(url, args.conversations, args.turns, cache)
            elif part == "barge_in":
                results[part] = barge_in(url, args.barge_ins, args.backchannels, cache)
            path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    (args.out / "summary.md").write_text(summary(results))
    plot(results, args.out / "live_server.png")
    print((args.out / "summary.md").read_text())


def summary(r: dict[str, Any]) -> str:
    lines = ["# polyvox serve, heard live", "",
             "`python benchmarks/live_server.py` — espeak-ng questions streamed in real time (20 ms chunks) into a "
             "real `polyvox serve`; latency from the user's last voiced chunk to the first reply audio delta "
             "received (the end-of-turn wait included). 2 CPU cores.", ""]  # fmt: skip
    if "latency" in r:
        lines += ["| turn detection | median s | p90 s | partial transcripts per turn |", "|---|---|---|---|"]
        for mode, v in r["latency"].items():
            med = v["median_ms"] / 1000 if v["median_ms"] else None
            p90 = v["p90_ms"] / 1000 if v["p90_ms"] else None
            lines.append(f"| {mode} | {med} | {p90} | {v['partials_per_turn']} |")
        lines.append("")
    if "concurrency" in r:
        c = r["concurrency"]
        lines.append(f"Concurrency: {c['conversations']} conversations at once, median {c['together_median_ms']} ms "
                     f"against {c['alone_median_ms']} ms alone: {c['ratio']}x (target ≤ 2x).")  # fmt: skip
        lines.append("")
    if "barge_in" in r:
        b = r["barge_in"]
        runs, stopped = b["speech_started_after_onset_ms"], b["backchannels_that_stopped_the_reply"]
        lines.append(
            f"Barge-in: speech_started (the client stops playback) {b['median_stop_ms']} ms median after the "
            f"interruption's first voiced chunk ({b['barge_ins']} runs: {runs}); {stopped} of {b['backchannels']} "
            "backchannels stopped the reply (target ≤ 2)."
        )
    return "\n".join(lines) + "\n"


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "latency" not in r:
        return
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for mode, v in r["latency"].items():
        xs = [t["first_audio_ms"] / 1000 if t["first_audio_ms"] else np.nan for t in v["turns"]]
        ax.plot(range(1, len(xs) + 1), xs, "o-", label=mode)
    ax.axhline(0.8, color="tab:green", ls="--", lw=1, label="0.8 s target")
    ax.set(xlabel="turn", ylabel="first reply audio (s)", title="polyvox serve, live: after the user's last word")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
