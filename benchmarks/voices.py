"""English voices side by side: Kokoro-82M (jf_nezumi) and the Piper voice en_US-joe-medium, in one run.

    python benchmarks/voices.py                       # ~3 min on 2 cores; writes docs/voices.{json,png,md}
    python benchmarks/voices.py --repeats 3 --out out/voices

For each voice, alternating voice by voice so load on the machine hits both alike:
  first chunk: ms from `stream()` to its first chunk for a 3-word and a one-sentence clause (median of
      --repeats runs over 6 clauses each, after a warm-up; espeak-ng phonemization included);
  RTF: synthesis seconds / audio seconds over 12 sentences (`synthesize`, clause by clause);
  WER: polyvox's WhisperASR (Whisper base, language pinned) on the 12 sentences, corpus-level, after
      spelling out the digits Whisper writes ("6 o'clock" counts as "six o'clock");
  emotion intensity: the emotion benchmark's arousal index (polyvox.bench.benchmarks.emotion) of two reply
      sentences voiced with the reply prosody polyvox gives each of the 8 user emotions, and whether it
      lies on the side the benchmark expects (its intensity part: 30 % of its score; the rest is the words).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample

THREE_WORDS = ("Sure, I can", "That sounds great", "Let me check", "Good morning, everyone", "Here you go",
               "I understand completely")  # fmt: skip
ONE_SENTENCE = (
    "The train to the city leaves from platform four in ten minutes",
    "I have set a timer for twenty minutes so you will not forget",
    "Paris is the capital of France and its largest city by far",
    "It should be sunny this afternoon with a light breeze from the west",
    "Your meeting with the design team has been moved to Thursday morning",
    "A cup of green tea has less caffeine than a cup of coffee",
)
SENTENCES = (
    "The weather is nice today, and I would like to go for a walk in the park.",
    "What is the capital of France?",
    "Please remind me to call my mother at six o'clock tonight.",
    "I am sorry to hear that you are not feeling well.",
    "Congratulations on your new job, that is wonderful news!",
    "Twenty five plus seventeen makes forty two.",
    "The library opens at nine in the morning and closes at eight.",
    "Could you turn down the music a little, please?",
    "My brother lives in a small village near the sea.",
    "It takes about three hours to drive from here to the mountains.",
    "Do not forget to bring an umbrella, it might rain later.",
    "She bought fresh bread, cheese and a bottle of milk.",
)
REPLIES = ("I hear you, and I am here to help with whatever you need.",
           "Let us take it one step at a time and see what we can do together.")  # fmt: skip


_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """42 -> "forty two" (0 <= n < 1,000,000)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    return number_words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + number_words(n % 1000))


def spell_numbers(text: str) -> str:
    """Whisper's digits as words: "25, plus 17" -> "twenty five, plus seventeen"."""
    return re.sub(r"\d{1,6}", lambda m: number_words(int(m.group())), text.replace(",000", "000"))


def voices() -> dict:
    """name -> (engine, voice) for the two English voices compared."""
    from polyvox.cascade.tts import KokoroTTS, PiperTTS

    return {"kokoro": (KokoroTTS(), None), "piper": (PiperTTS(), None)}


def first_chunk_ms(tts, voice, text: str) -> float:
    t0 = time.perf_counter()
    next(iter(tts.stream(text + ".", "en", voice)))
    return (time.perf_counter() - t0) * 1000


def measure_latency(engines: dict, repeats: int, bar) -> dict:
    out: dict = {name: {"3_words": [], "1_sentence": []} for name in engines}
    for _ in range(repeats):
        for kind, texts in (("3_words", THREE_WORDS), ("1_sentence", ONE_SENTENCE)):
            for text in texts:
                for name, (tts, voice) in engines.items():
                    out[name][kind].append(first_chunk_ms(tts, voice, text))
                    bar.update(1)
    return out


def measure_sentences(engines: dict, asr, bar) -> dict:
    from polyvox.cascade.tts.survey import error_rates

    out: dict = {name: {"synth_s": 0.0, "audio_s": 0.0, "words": 0, "errors": 0.0, "heard": []} for name in engines}
    for text in SENTENCES:
        for name, (tts, voice) in engines.items():
            t0 = time.perf_counter()
            audio = tts.synthesize(text, "en", voice)
            row = out[name]
            row["synth_s"] += time.perf_counter() - t0
            row["audio_s"] += len(audio) / OUTPUT_SAMPLE_RATE
            heard = asr.transcribe(resample(audio, OUTPUT_SAMPLE_RATE, SAMPLE_RATE), language="en").text
            wer, _ = error_rates(text, spell_numbers(heard))
            n = len(text.split())
            row["words"] += n
            row["errors"] += wer * n
            row["heard"].append(heard)
            bar.update(1)
    return out


def measure_emotion(engines: dict, bar) -> dict:
    from polyvox.affect.style import EMPATHY, reply_style
    from polyvox.bench.acoustics import measure
    from polyvox.bench.benchmarks.emotion import arousal_index, intensity_match, scenarios

    arousal = {emo: spec["arousal"] for emo, spec in scenarios().items()}
    out: dict = {name: {} for name in engines}
    for emo, expected in arousal.items():
        prosody = reply_style(None, target=EMPATHY[emo]).prosody
        for name, (tts, voice) in engines.items():
            idx = []
            for text in REPLIES:
                audio = tts.synthesize(text, "en", voice, prosody)
                idx.append(arousal_index(measure(audio, OUTPUT_SAMPLE_RATE, text).as_dict()))
                bar.update(1)
            mean = float(np.mean([i for i in idx if i is not None])) if any(i is not None for i in idx) else None
            out[name][emo] = {"arousal_expected": expected, "index": mean, "match": intensity_match(mean, expected)}
    return out


def summarize(latency: dict, sentences: dict, emotion: dict) -> dict:
    summary = {}
    for name in latency:
        s = sentences[name]
        summary[name] = {
            "first_chunk_ms_3_words": round(statistics.median(latency[name]["3_words"]), 1),
            "first_chunk_ms_1_sentence": round(statistics.median(latency[name]["1_sentence"]), 1),
            "rtf": round(s["synth_s"] / max(s["audio_s"], 1e-6), 3),
            "wer": round(s["errors"] / max(s["words"], 1), 4),
            "audio_s": round(s["audio_s"], 2),
            "emotion_intensity_match": round(float(np.mean([e["match"] for e in emotion[name].values()])), 3),
        }
    names = list(summary)
    if len(names) == 2:
        a, b = names
        summary["ratio_" + b + "_to_" + a] = {
            k: round(summary[b][k] / summary[a][k], 3)
            for k in ("first_chunk_ms_3_words", "first_chunk_ms_1_sentence", "rtf")
            if summary[a][k]
        }
    return summary


def markdown(summary: dict, emotion: dict, args: argparse.Namespace) -> str:
    names = [n for n in summary if not n.startswith("ratio")]
    lines = [
        "# English voices: Kokoro-82M vs Piper en_US-joe-medium",
        "",
        f"`python benchmarks/voices.py --repeats {args.repeats}` ({os.cpu_count()} CPU cores, load average "
        f"{args.load[0]:.1f} at the start, {args.load[1]:.1f} at the end; one run, voices alternated).",
        "",
        "| voice | first chunk, 3 words (ms) | first chunk, 1 sentence (ms) | RTF | Whisper WER (12 sentences) "
        "| emotion intensity on the expected side (8 emotions) |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        s = summary[n]
        lines.append(
            f"| {n} | {s['first_chunk_ms_3_words']:.0f} | {s['first_chunk_ms_1_sentence']:.0f} | {s['rtf']:.3f} "
            f"| {s['wer']:.1%} | {s['emotion_intensity_match']:.2f} |"
        )
    lines += ["", "Arousal index per user emotion (the emotion benchmark's intensity measure, reply prosody):", ""]
    lines.append("| emotion | expected | " + " | ".join(names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for emo in emotion[names[0]]:
        cells = []
        for n in names:
            e = emotion[n][emo]
            cells.append("–" if e["index"] is None else f"{e['index']:+.2f} {'✓' if e['match'] else '✗'}")
        lines.append(f"| {emo} | {emotion[names[0]][emo]['arousal_expected']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, latency: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in summary if not n.startswith("ratio")]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.8))
    data = [latency[n][k] for k in ("3_words", "1_sentence") for n in names]
    ax[0].boxplot(data, tick_labels=[f"{n}\n{k}" for k in ("3 words", "sentence") for n in names])
    ax[0].axhline(100, color="red", ls="--", label="target 100 ms (3 words)")
    ax[0].set(ylabel="ms (log scale)", yscale="log", title="first chunk from stream()")
    ax[0].legend(fontsize=8)
    ax[1].bar(names, [summary[n]["rtf"] for n in names], color=["#3b7dd8", "#d8843b"])
    ax[1].set(title="real-time factor (lower is faster)")
    ax[2].bar(names, [100 * summary[n]["wer"] for n in names], color=["#3b7dd8", "#d8843b"])
    ax[2].set(title="Whisper round-trip WER (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="latency runs over the clauses (median taken)")
    ap.add_argument("--out", type=Path, default=Path("docs"), help="folder for voices.json, voices.png, voices.md")
    args = ap.parse_args()
    from tqdm import tqdm

    from polyvox.cascade.asr import WhisperASR

    load_avg = os.getloadavg()[0]
    engines, asr = voices(), WhisperASR()
    load = {}
    for name, (tts, voice) in engines.items():
        t0 = time.perf_counter()
        tts.synthesize("Warm up.", "en", voice)  # load the session, first-call allocations
        load[name] = round(time.perf_counter() - t0, 2)
    n = len(engines) * (args.repeats * (len(THREE_WORDS) + len(ONE_SENTENCE)) + len(SENTENCES) + 8 * len(REPLIES))
    with tqdm(total=n, unit="call") as bar:
        latency = measure_latency(engines, args.repeats, bar)
        sentences = measure_sentences(engines, asr, bar)
        emotion = measure_emotion(engines, bar)
    summary = summarize(latency, sentences, emotion)
    args.load = (load_avg, os.getloadavg()[0])  # other work on the machine slows both voices alike
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"summary": summary, "load_average": args.load, "load_s": load, "latency_ms": latency}
    result |= {"sentences": sentences, "emotion": emotion}
    (args.out / "voices.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (args.out / "voices.md").write_text(markdown(summary, emotion, args))
    try:
        plot(summary, latency, args.out / "voices.png")
    except ImportError:
        print('matplotlib missing: pip install "polyvox[bench]" for the plot')
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
