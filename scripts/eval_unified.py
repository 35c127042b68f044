"""Measure the unified model against issue 6's targets on a held-out generated set; writes JSON.

    python scripts/eval_unified.py --checkpoint runs/default/unified.pt --n 20 --out runs/eval.json

Held-out set: `polyvox data synth --split heldout --seed 101` (voices, speakers, pitch offsets and seed never
used in training; built here if --data is missing). Per dialogue (first exchange), the engine hears the user
turn and replies; measured:

  cer                 Whisper (faster-whisper base) transcript of the spoken reply vs the reply's own text
                      stream (target ≤ 0.20)
  correct             the reply text contains the known answer, over tasks that have one (target ≥ 0.50)
  emotion_match       the reply's emotion as heard by an independent judge — polyvox.affect's recognizer
                      (prosody only, relative to the mean prosody of all the model's replies, as the cascade
                      compares a speaker with their own baseline) — equals the target reply emotion
                      (target ≥ 0.60); emotion_match_self is the model's own emotion head, for reference
  ttfa_ratio          mean time to first audio, unified / cascade, same machine, same run (target ≤ 0.5)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, load_audio, resample
from polyvox.engine import Turn
from polyvox.train.rlpf import cer
from polyvox.train.synth import SynthConfig, complete_shards, read_shard, synthesize_corpus
from polyvox.unified import load_engine
from polyvox.unified.config import CHUNK_SAMPLES, LISTEN
from polyvox.unified.model import pad_to_chunks
from polyvox.unified.phonemes import EMOTIONS


def heard_emotion(engine, audio24: np.ndarray) -> str:
    """The engine's own emotion head listening to `audio24` (mean over steps)."""
    m = engine.model
    x = pad_to_chunks(torch.from_numpy(resample(audio24, OUTPUT_SAMPLE_RATE, SAMPLE_RATE))[None])
    T = x.shape[1] // CHUNK_SAMPLES
    with torch.inference_mode():
        out = m(
            x,
            torch.full((1, T), engine.vocab.pad),
            torch.zeros(1, T, m.cfg.decoder.frames_per_step, m.cfg.decoder.d_acoustic),
            LISTEN,
        )
    return EMOTIONS[int(out.understanding.emotion[0].softmax(-1).mean(0).argmax())]


def judge_emotions(rows: list[dict], replies: list[np.ndarray]) -> None:
    """Set row["judged_emotion"]: polyvox.affect's recognizer on each reply (24 kHz audio), prosody only,
    against the mean prosody of all replies (the voice's own baseline)."""
    from polyvox.affect import EmotionRecognizer, ProsodyBaseline, ProsodyFeatures

    judge = EmotionRecognizer()
    feats = [
        ProsodyFeatures.from_audio(resample(a, OUTPUT_SAMPLE_RATE, SAMPLE_RATE), SAMPLE_RATE) if len(a) else None
        for a in replies
    ]
    baseline = ProsodyBaseline()
    for f in feats:
        if f is not None and f.duration_s > 0:
            baseline.update(f)
    for row, f in zip(rows, feats, strict=True):
        row["judged_emotion"] = None if f is None else judge.predict_features(f, "", baseline=baseline.mean).label


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", help="unified checkpoint (default: the shipped one, else random weights)")
    p.add_argument("--data", default="runs/heldout", help="held-out corpus (built if missing)")
    p.add_argument("--n", type=int, default=16, help="dialogues to evaluate")
    p.add_argument("--no-cascade", action="store_true", help="skip the cascade latency baseline")
    p.add_argument("--temperature", type=float, help="text-stream sampling temperature (default: the engine's)")
    p.add_argument("--vocoder-temperature", type=float, help="vocoder residual noise scale (default: the engine's)")
    p.add_argument("--vocoder-residual", type=float, help="scale of the flow residual (0 = source-filter base only)")
    p.add_argument("--out", default="runs/eval.json")
    a = p.parse_args(argv)
    if not complete_shards(a.data):
        synthesize_corpus(
            SynthConfig(out=a.data, hours=0.02, seed=101, split="heldout", kokoro_share=0.3), progress=False
        )
    dialogues = [(s, d) for s in complete_shards(a.data) for d in read_shard(s)][: a.n]
    engine = load_engine(a.checkpoint)
    sampling = engine.options.sampling
    if a.temperature is not None:
        sampling = replace(sampling, temperature=a.temperature)
    if a.vocoder_temperature is not None:
        sampling = replace(sampling, vocoder_temperature=a.vocoder_temperature)
    if a.vocoder_residual is not None:
        sampling = replace(sampling, vocoder_residual=a.vocoder_residual)
    engine.options = replace(engine.options, sampling=replace(sampling, seed=0))
    engine.warmup()
    from polyvox.cascade.asr import WhisperASR

    asr = WhisperASR()
    cascade = None
    if not a.no_cascade:
        try:
            from polyvox.cascade.engine import CascadeEngine

            cascade = CascadeEngine()
        except Exception as e:  # the cascade's models may be missing: report without the ratio
            print(f"cascade unavailable: {e}", file=sys.stderr)
    rows, replies = [], []
    for shard, d in dialogues:
        user, ref = d.turns[0], d.turns[1]
        wav = load_audio(shard / user.audio, SAMPLE_RATE).samples
        t0 = time.perf_counter()
        result, audio = engine.run(Turn(audio=wav))
        wall = time.perf_counter() - t0
        row = {
            "id": d.id,
            "task": user.task,
            "language": user.language,
            "reply_text": result.reply_text,
            "reference": ref.text,
            "answer": ref.answer,
            "target_emotion": ref.emotion,
            "ttfa_ms": result.timings.tts_first_audio_ms,
            "wall_s": round(wall, 3),
        }
        if len(audio):
            heard = asr.transcribe(resample(audio, OUTPUT_SAMPLE_RATE, SAMPLE_RATE), language=user.language).text
            row.update(
                whisper=heard,
                cer=min(1.0, cer(result.reply_text, heard)) if result.reply_text else 1.0,
                reply_emotion=heard_emotion(engine, audio),
            )
        else:
            row.update(whisper="", cer=1.0, reply_emotion=None)
        replies.append(audio)
        row["correct"] = bool(ref.answer) and ref.answer.lower() in result.reply_text.lower()
        if cascade is not None:
            c_result, _ = cascade.run(Turn(audio=wav))
            row["cascade_ttfa_ms"] = c_result.timings.tts_first_audio_ms
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("id", "reply_text", "whisper", "cer", "correct")}, ensure_ascii=False))
    judge_emotions(rows, replies)
    with_answer = [r for r in rows if r["answer"]]

    def mean(xs):
        xs = [x for x in xs if x is not None]
        return round(statistics.fmean(xs), 4) if xs else None

    u_ttfa, c_ttfa = mean(r["ttfa_ms"] for r in rows), mean(r.get("cascade_ttfa_ms") for r in rows)
    summary = {
        "checkpoint": a.checkpoint or "shipped/default",
        "trained": engine.trained,
        "n": len(rows),
        "temperature": sampling.temperature,
        "vocoder_temperature": sampling.vocoder_temperature,
        "vocoder_residual": sampling.vocoder_residual,
        "cer": mean(r["cer"] for r in rows),
        "correct": mean(float(r["correct"]) for r in with_answer),
        "emotion_match": mean(float(r.get("judged_emotion") == r["target_emotion"]) for r in rows),
        "emotion_match_self": mean(float(r["reply_emotion"] == r["target_emotion"]) for r in rows),
        "ttfa_ms_unified": u_ttfa,
        "ttfa_ms_cascade": c_ttfa,
        "ttfa_ratio": round(u_ttfa / c_ttfa, 4) if u_ttfa and c_ttfa else None,
        "correct_by_task": {
            t: mean(float(r["correct"]) for r in with_answer if r["task"] == t)
            for t in sorted({r["task"] for r in with_answer})
        },
        "cer_by_language": {
            lang: mean(r["cer"] for r in rows if r["language"] == lang)
            for lang in sorted({r["language"] for r in rows})
        },
        "targets": {"cer": "<= 0.20", "correct": ">= 0.50", "emotion_match": ">= 0.60", "ttfa_ratio": "<= 0.5"},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1, ensure_ascii=False))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
