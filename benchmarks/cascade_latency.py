"""Cascade latency benchmark: N spoken one-sentence questions through the engine, in-process.

Reports time to first audio after the end of user speech (median, p90) and two real-time factors, per
language, as JSON + a PNG histogram:
  rtf      turn wall time / reply audio duration (everything: VAD, ASR, LLM, TTS; for a 1-2 s reply the
           ~0.5 s of ASR and prompt before the first word weigh as much as the speech itself)
  tts_rtf  the voice alone: synthesis time / audio duration of each reply text, voiced again after the
           turns by the engine's TTS (Kokoro or espeak-ng), the figure that says whether speech streams
           faster than it plays
The questions are voiced by the cascade's own TTS (--voice espeak: by espeak-ng, as in earlier releases).

    python benchmarks/cascade_latency.py --n 10 --out out/bench-cascade
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from polyvox.audio import load_audio, resample
from polyvox.engine import Turn
from polyvox.samples import espeak_wav
from polyvox.talk import create_engine

QUESTIONS = {
    "en": ["What is the capital of France?", "How many days are in a week?", "What color is the sky?",
           "Can you recommend a good book?", "What is two plus three?", "Why do cats purr?",
           "What is the tallest mountain?", "How do I boil an egg?", "What time zone is London in?",
           "Tell me a fun fact about the moon."],
    "es": ["¿Cuál es la capital de Francia?", "¿Cuántos días tiene una semana?"],
    "fr": ["Quelle est la capitale de l'Italie?", "Combien de jours y a-t-il dans une semaine?"],
    "de": ["Was ist die Hauptstadt von Deutschland?", "Wie viele Tage hat eine Woche?"],
    "hi": ["भारत की राजधानी क्या है?", "एक सप्ताह में कितने दिन होते हैं?"],
}  # fmt: skip
VOICES = {"en": "en-us", "es": "es", "fr": "fr-fr", "de": "de", "hi": "hi"}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10, help="English questions (other languages add 2 each)")
    ap.add_argument("--languages", default="en,es,fr,de,hi")
    ap.add_argument(
        "--reply-voice",
        help="the engine's reply voice (polyvox talk --voice), e.g. an espeak-ng variant 'f3': the fast robotic voice",
    )
    ap.add_argument("--engine", default="cascade")
    ap.add_argument(
        "--voice",
        choices=("tts", "espeak"),
        default="tts",
        help="who speaks the questions: the cascade's own TTS (Kokoro; espeak-ng where Kokoro lacks the language) "
        "or espeak-ng (Whisper base misreads its fr/de/hi voices, so those turns answer nonsense)",
    )
    ap.add_argument("--out", default="out/bench-cascade")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    t = time.perf_counter()
    engine = create_engine(args.engine, languages=tuple(args.languages.split(",")))
    load_s = time.perf_counter() - t
    engine.warmup()
    if args.voice == "tts":
        from polyvox.cascade.tts import MultilingualTTS

        speaker = getattr(engine, "tts", None) or MultilingualTTS()
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in args.languages.split(","):
            qs = QUESTIONS[lang] * (1 + args.n // len(QUESTIONS[lang]))
            for i, q in enumerate(qs[: args.n if lang == "en" else 2]):
                if args.voice == "espeak":
                    wav = espeak_wav(q, Path(tmp) / f"{lang}{i}.wav", voice=VOICES[lang], speed=150)
                    audio = load_audio(wav).samples
                else:
                    voiced = speaker.synthesize(q, lang)  # (n,) 24 kHz
                    audio = resample(np.concatenate([np.zeros(6000, np.float32), voiced]), 24_000, 16_000)
                cases.append((lang, q, audio))
        rows = []
        for lang, q, audio in tqdm(cases, desc="turns"):
            t = time.perf_counter()
            result, reply = engine.run(Turn(audio=audio, voice=args.reply_voice))
            wall = time.perf_counter() - t
            rows.append(
                {
                    "language": lang,
                    "question": q,
                    "transcript": result.user_transcript,
                    "detected": result.language,
                    "reply": result.reply_text,
                    "ttfa_ms": result.ttfa_ms,
                    "timings": result.timings.as_dict(),
                    "reply_seconds": len(reply) / engine.output_sample_rate,
                    "rtf": wall / max(len(reply) / engine.output_sample_rate, 1e-6),
                }
            )
    tts = getattr(engine, "tts", None)
    for r in rows:  # the TTS stage alone, same texts, nothing else running
        if tts is not None and r["reply"].strip():
            t = time.perf_counter()
            voiced = tts.synthesize(r["reply"], r["detected"], voice=args.reply_voice)
            r["tts_rtf"] = (time.perf_counter() - t) / max(len(voiced) / tts.sample_rate, 1e-6)
    ttfa = [r["ttfa_ms"] for r in rows]
    rtf = [r["rtf"] for r in rows]
    tts_rtf = [r["tts_rtf"] for r in rows if "tts_rtf" in r]
    summary = {
        "engine": args.engine,
        "voice": args.voice,
        "reply_voice": args.reply_voice,
        "model_load_s": round(load_s, 2),
        "turns": len(rows),
        "ttfa_median_ms": round(statistics.median(ttfa), 1),
        "ttfa_p90_ms": round(pct(ttfa, 90), 1),
        "rtf_median": round(statistics.median(rtf), 3),
        "tts_rtf_median": round(statistics.median(tts_rtf), 3) if tts_rtf else None,
        "per_language": {
            lang: {
                "ttfa_median_ms": round(statistics.median([r["ttfa_ms"] for r in rows if r["language"] == lang]), 1),
                "language_id_correct": sum(r["detected"] == lang for r in rows if r["language"] == lang),
                "turns": sum(r["language"] == lang for r in rows),
            }
            for lang in args.languages.split(",")
        },
    }
    (out / "results.json").write_text(json.dumps({"summary": summary, "turns": rows}, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        ax[0].hist(ttfa, bins=15, color="#3b7dd8")
        ax[0].axvline(1500, color="red", ls="--", label="target 1.5 s")
        ax[0].set(xlabel="time to first audio (ms)", ylabel="turns", title="TTFA after end of speech")
        ax[0].legend()
        ax[1].hist(rtf, bins=15, color="#d8843b")
        ax[1].axvline(0.5, color="red", ls="--", label="target 0.5")
        ax[1].set(xlabel="real-time factor", title="processing time / reply duration")
        ax[1].legend()
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
    except ImportError:
        print('matplotlib missing: pip install "polyvox[bench]" for the plot')


if __name__ == "__main__":
    main()
