"""multilingual: does the system answer intelligibly, in the user's language, in 15 languages?

A parallel set of three prompts (polyvox/bench/data/multilingual.json) is spoken in en es fr de it hi
ta te bn mr gu kn ml pa or; the system is not told the language. Per reply:
  language match   Whisper's language ID of the reply audio == the prompt's language
  intelligibility  1 - CER (jiwer) between the system's own reply text and Whisper's transcript of the
                   reply audio (pinned to the expected language), after lower-casing and stripping
                   punctuation: a round trip through the recogniser, so Whisper base's own errors in a
                   language lower it too (its Indic accuracy is low)
  score            0.5 x language match + 0.5 x intelligibility
  naturalness      DNSMOS overall (speechmos) when that package is installed; reported, not scored
  content          prompt 2 ("capital of France"): the reply names Paris (reported, not scored)
`--limit N` takes N cases round-robin over the languages; `--languages` picks languages.
"""

from __future__ import annotations

import json
import re
import unicodedata
from importlib import resources
from typing import Any

import numpy as np

from polyvox.audio import resample
from polyvox.bench.core import Case, SessionConfig
from polyvox.bench.runner import Benchmark, CaseContext, round_robin

LANGUAGES = ("en", "es", "fr", "de", "it", "hi", "ta", "te", "bn", "mr", "gu", "kn", "ml", "pa", "or")


def data() -> dict[str, Any]:
    return json.loads((resources.files("polyvox.bench") / "data" / "multilingual.json").read_text())


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower())
    text = "".join(ch if not unicodedata.category(ch).startswith("P") else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def cer(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return min(1.0, float(jiwer.cer(ref, hyp)))


def dnsmos(audio: np.ndarray, sr: int) -> float | None:
    """DNSMOS overall quality (1-5) if speechmos is installed, else None."""
    try:
        from speechmos import dnsmos as dm
    except ImportError:
        return None
    x = resample(np.asarray(audio, np.float32), sr, 16_000)
    return float(dm.run(x, sr=16_000)["ovrl_mos"])


class Multilingual(Benchmark):
    name = "multilingual"
    title = "Multilingual naturalness & intelligibility"
    metric = "lang match + intelligibility"

    def cases(self) -> list[Case]:
        self.data_source = "hand-written parallel prompts: polyvox/bench/data/multilingual.json (15 x 3)"
        d = data()
        self.paris = d["paris"]
        langs = [lang for lang in LANGUAGES if not self.options.languages or lang in self.options.languages]
        cases = [
            Case(f"{lang}_{i}", p, language=lang, group=lang, meta={"prompt_index": i})
            for lang in langs
            for i, p in enumerate(d["prompts"][lang])
        ]
        return round_robin(cases, self.options.limit)

    def run_case(self, case: Case, ctx: CaseContext) -> tuple[float | None, dict[str, Any]]:
        reply, heard = ctx.ask(case, SessionConfig(max_reply_tokens=48), pin_language=False)  # scores the language
        if not len(reply.audio):
            raise RuntimeError("the system sent no reply audio")
        match = heard.language == case.language
        pinned = heard if match else ctx.speech.transcribe(reply.audio, reply.sample_rate, case.language)
        error = cer(reply.text, pinned.text) if reply.text else 1.0
        mos = dnsmos(reply.audio, reply.sample_rate)
        metrics: dict[str, Any] = {
            "language_detected": heard.language,
            "language_match": match,
            "cer": round(error, 3),
            "asr": pinned.text[:200],
            "dnsmos": mos,
        }
        if case.meta["prompt_index"] == 1:
            metrics["content_ok"] = any(p in normalise(reply.text + " " + pinned.text) for p in self.paris)
        return round(0.5 * match + 0.5 * (1 - error), 3), metrics


BENCHMARK = Multilingual
