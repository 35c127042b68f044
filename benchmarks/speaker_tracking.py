"""How often the speaker tracker splits one voice into two speakers, or merges two voices into one.

    python benchmarks/speaker_tracking.py                 # renders 45 lines x 11 voices (~10 min, 2 cores)
    python benchmarks/speaker_tracking.py --cache F.npz   # reuse (or write) the embeddings

The latency benchmark's scripted lines are spoken by the five packaged Kokoro voices and six espeak-ng
variants and embedded with the Resemblyzer encoder once; the tracker's rule (polyvox.speakers.tracker:
a turn joins the most similar profile at cosine >= threshold, else enrols a new speaker) is then replayed
on the embeddings for several thresholds:
  single voice: 20 sessions of 15 random lines per voice -> share of sessions split, of turns mislabelled
  two voices:   every ordered pair of voices alternating 8 + 8 turns, 3 times -> share of pairs merged
                into one speaker, and of turns mislabelled (all of them, when merged)
"""

from __future__ import annotations

import argparse
import itertools
import json
from importlib import resources
from pathlib import Path

import numpy as np

from polyvox.speakers.tracker import SpeakerTracker, TrackerConfig

VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo", "m1", "m3", "m5", "f1", "f3", "f5")
THRESHOLDS = (0.70, 0.72, 0.75, 0.78, 0.80, 0.85)


def lines() -> list[str]:
    text = (resources.files("polyvox.bench") / "data" / "conversations.json").read_text()
    return [line for script in json.loads(text)["scripts"] for line in script]


def embed_all(cache: Path | None) -> np.ndarray:
    """(n_voices, n_lines, 256) unit embeddings, rendered with polyvox's TTS (or read from `cache`)."""
    if cache is not None and cache.exists():
        return np.load(cache)["emb"]
    from tqdm import tqdm

    from polyvox.audio import resample
    from polyvox.cascade.tts import MultilingualTTS
    from polyvox.speakers.encoder import SpeakerEncoder

    tts, enc, said = MultilingualTTS(), SpeakerEncoder(), lines()
    emb = np.zeros((len(VOICES), len(said), 256), np.float32)
    with tqdm(total=emb.shape[0] * emb.shape[1], unit="turn") as bar:
        for v, voice in enumerate(VOICES):
            for i, line in enumerate(said):
                emb[v, i] = enc.embed(resample(tts.synthesize(line, "en", voice), 24_000, 16_000), 16_000)
                bar.update(1)
    if cache is not None:
        np.savez(cache, emb=emb, voices=np.array(VOICES))
    return emb


def labels(emb: np.ndarray, turns: list[tuple[int, int]], threshold: float) -> list[str]:
    """The tracker's speaker id for each (voice, line) turn, in order."""
    tracker = SpeakerTracker(encoder=None, config=TrackerConfig(threshold=threshold))  # type: ignore[arg-type]
    return [tracker.identify_embedding(emb[v, i]).speaker_id for v, i in turns]


def majority(ids: list[str]) -> str:
    return max(sorted(set(ids)), key=ids.count)  # ties: the lowest id, so every run counts the same


def single_voice(emb: np.ndarray, threshold: float, rng: np.random.Generator) -> tuple[float, float]:
    split = wrong = total = 0
    for v in range(emb.shape[0]):
        for _ in range(20):
            ids = labels(emb, [(v, int(i)) for i in rng.permutation(emb.shape[1])[:15]], threshold)
            split += len(set(ids)) > 1
            wrong += sum(s != majority(ids) for s in ids)
            total += len(ids)
    return split / (emb.shape[0] * 20), wrong / total


def two_voices(emb: np.ndarray, threshold: float, rng: np.random.Generator) -> tuple[float, float]:
    merged = wrong = total = n = 0
    for a, b in itertools.permutations(range(emb.shape[0]), 2):
        for _ in range(3):
            la, lb = rng.permutation(emb.shape[1])[:8], rng.permutation(emb.shape[1])[:8]
            alternating = [t for i, j in zip(la, lb, strict=True) for t in ((a, int(i)), (b, int(j)))]
            ids = labels(emb, alternating, threshold)
            ma, mb = majority(ids[0::2]), majority(ids[1::2])
            merged += ma == mb
            wrong += len(ids) if ma == mb else sum(s != ma for s in ids[0::2]) + sum(s != mb for s in ids[1::2])
            total += len(ids)
            n += 1
    return merged / n, wrong / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, help="embeddings file to reuse or write (.npz)")
    args = ap.parse_args()
    emb = embed_all(args.cache)
    print(
        f"{'threshold':>9} | one voice: sessions split, turns mislabelled | two voices: pairs merged, turns mislabelled"
    )
    for t in THRESHOLDS:
        split, wrong1 = single_voice(emb, t, np.random.default_rng(0))  # the same sessions for every threshold
        merged, wrong2 = two_voices(emb, t, np.random.default_rng(1))
        print(f"{t:9.2f} | {split:14.0%} {wrong1:15.1%}           | {merged:22.0%} {wrong2:16.1%}")


if __name__ == "__main__":
    main()
