"""emotion: 8 emotions x scenarios (full: 100 each) — is the reply appropriate, and is its intensity right?

Scenarios (polyvox/bench/data/emotion_scenarios.json) are spoken with an emotional delivery (speed,
pitch, energy). Each reply is scored by a transparent rubric:
  appropriateness (weight 0.7): Whisper's transcript of the reply (the reply text if the audio has no
      words) contains an appropriate cue for the user's emotion ("congratulations" for joy, "sorry" /
      "here for you" for sadness, ...) and no inappropriate one ("congratulations" to grief).
  intensity (weight 0.3): the reply's arousal index — the mean of z-scores of pitch variation
      (f0 std, ref 2.0 st, scale 1.0), loudness variation (ref 9 dB, scale 3) and speaking rate
      (ref 2.8 words/s, scale 0.7) — lies on the expected side: > 0 for high-arousal emotions (joy,
      anger, fear, surprise, anticipation), < 0 for low (sadness, trust), within ±0.5 for disgust.
The reference values are a neutral Kokoro voice; a system with a different neutral voice is judged
against them all the same (a limitation). The system's own emotion label (trace "emotion", e.g. the
unified model's emotion head or the server's metadata) is recorded separately and never scored.
`--limit N` takes N cases round-robin over the emotions.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from polyvox.bench.acoustics import measure
from polyvox.bench.core import Case, SessionConfig
from polyvox.bench.runner import Benchmark, CaseContext, round_robin
from polyvox.bench.speech import Delivery

FULL_PER_EMOTION = 100
INSTRUCTIONS = "You are a warm, emotionally aware voice assistant. Reply in one or two short spoken sentences."
REFERENCE = {"f0_std_st": (2.0, 1.0), "energy_std_db": (9.0, 3.0), "words_per_s": (2.8, 0.7)}  # (ref, scale)


def scenarios() -> dict[str, Any]:
    return json.loads((resources.files("polyvox.bench") / "data" / "emotion_scenarios.json").read_text())["emotions"]


def arousal_index(features: dict[str, float | None]) -> float | None:
    zs = [(features[k] - ref) / scale for k, (ref, scale) in REFERENCE.items() if features.get(k) is not None]
    return sum(zs) / len(zs) if zs else None


def intensity_match(index: float | None, arousal: str) -> bool:
    if index is None:
        return False
    return index > 0 if arousal == "high" else index < 0 if arousal == "low" else abs(index) <= 0.5


def appropriate(text: str, cues: list[str], avoid: list[str]) -> tuple[bool, list[str]]:
    low = text.lower().replace("’", "'")

    def said(phrase: str) -> bool:
        return re.search(rf"\b{re.escape(phrase)}\b", low) is not None

    hits = [c for c in cues if said(c)]
    return bool(hits) and not any(said(a) for a in avoid), hits


class Emotion(Benchmark):
    name = "emotion"
    title = "Emotion appropriateness & intensity"
    metric = "rubric score"

    def cases(self) -> list[Case]:
        self.data_source = "hand-written scenarios: polyvox/bench/data/emotion_scenarios.json (8 x 10 x 10)"
        n = FULL_PER_EMOTION if self.options.limit is None else self.options.limit  # per emotion: enough
        out = []
        for emo, spec in scenarios().items():
            sits, frames = spec["situations"], spec["framings"]
            for i in range(min(n, len(sits) * len(frames))):
                s, f = sits[i % len(sits)], frames[(i + i // len(sits)) % len(frames)]  # every pair once
                out.append(Case(f"{emo}_{i:03d}", f.format(s=s), group=emo, expected=emo, meta=spec))
        return round_robin(out, self.options.limit)

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        spec = case.meta
        reply, heard = ctx.ask(
            case, SessionConfig(instructions=INSTRUCTIONS, max_reply_tokens=48), Delivery(**spec["delivery"])
        )
        text = heard.text or reply.text
        ok, hits = appropriate(text, spec["cues"], spec["avoid"])
        feats = measure(reply.audio, reply.sample_rate, heard.text).as_dict()
        index = arousal_index(feats)
        match = intensity_match(index, spec["arousal"])
        score = 0.7 * ok + 0.3 * match
        return round(score, 3), {
            "appropriate": ok,
            "cues": hits,
            "arousal_expected": spec["arousal"],
            "arousal_index": None if index is None else round(index, 3),
            "intensity_match": match,
            "features": feats,
            "answer": text[:200],
            "system_emotion": reply.trace.get("emotion"),
            "exclamations": text.count("!"),
        }


BENCHMARK = Emotion
