"""CLI: `polyvox data synth ...` and `polyvox train ...` (thin wrappers over synth.synthesize_corpus and
trainer.train). `register(subparsers)` is called by polyvox.cli; `python -m polyvox.train` runs `train`
alone, which is what torchrun launches:

    torchrun --nproc_per_node 2 -m polyvox.train --preset tiny --data corpus/ --out runs/tiny
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="build or inspect training corpora")
    dsub = data.add_subparsers(dest="data_command", required=True)
    synth = dsub.add_parser("synth", help="synthesize a spoken dialogue corpus offline (espeak-ng, Kokoro, LLM)")
    add_synth_args(synth)
    synth.set_defaults(func=run_synth)
    stats = dsub.add_parser("stats", help="hours per language / emotion / speaker of a corpus or real dataset")
    stats.add_argument("path")
    stats.add_argument("--format", default="auto", help="synth | folder | librispeech | commonvoice | hf | auto")
    stats.set_defaults(func=run_stats)
    tr = subparsers.add_parser("train", help="train the unified model (stage 1, stage 2, RLPF); torchrun-ready")
    add_train_args(tr)
    tr.set_defaults(func=run_train)


def add_synth_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="corpus folder (rerun with the same settings to resume)")
    p.add_argument("--hours", type=float, default=0.1)
    p.add_argument("--languages", default="en,es,fr,de", help="comma-separated, from: en,es,fr,de")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train", choices=("train", "heldout"), help="voice pool")
    p.add_argument(
        "--teacher",
        default="template",
        choices=("template", "llm"),
        help="who writes the replies: templates, or the cascade's LLM (distillation)",
    )
    p.add_argument("--kokoro-share", type=float, default=0.2, help="share of user turns voiced by Kokoro")
    p.add_argument("--dialogues-per-shard", type=int, default=8)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="tiny", help="tiny | default")
    p.add_argument("--data", action="append", required=True, help="corpus folder (repeatable)")
    p.add_argument("--out", required=True, help="run folder: state.pt, unified.pt, metrics.jsonl, loss.png")
    p.add_argument("--steps", type=int, help="scale the stage schedule to this many steps in total")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, dest="num_threads", help="torch CPU threads per process")
    p.add_argument("--fsdp", action="store_true", default=None, help="shard the model (CUDA + NCCL)")
    p.add_argument("--no-resume", action="store_true", help="start over even if OUT holds a run")
    p.add_argument("--quiet", action="store_true")


def run_synth(args: argparse.Namespace) -> int:
    from polyvox.train.synth import SynthConfig, synthesize_corpus

    cfg = SynthConfig(
        out=args.out,
        hours=args.hours,
        languages=tuple(x.strip() for x in args.languages.split(",") if x.strip()),
        seed=args.seed,
        split=args.split,
        teacher=args.teacher,
        kokoro_share=args.kokoro_share,
        dialogues_per_shard=args.dialogues_per_shard,
    )
    manifest = synthesize_corpus(cfg, progress=not args.quiet)
    s = manifest["stats"]
    print(f"{args.out}: {s['hours']:.3f} h, {s['dialogues']} dialogues, {s['turns']} turns, {s['shards']} shards")
    print("hours per language:", json.dumps(s["hours_per_language"]))
    print("hours per emotion:", json.dumps(s["hours_per_emotion"]))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from polyvox.train.corpora import corpus_summary

    print(json.dumps(corpus_summary(args.path, args.format), indent=1, ensure_ascii=False))
    return 0


def run_train(args: argparse.Namespace) -> int:
    import os

    # Before torch loads OpenMP: idle threads sleep instead of spinning. With 2 threads on 2 cores and any other
    # busy process, spinning made steps ~8x slower (1.3 s -> 8 s at batch 8, measured); quiet, it costs nothing.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from polyvox.train.config import get_preset
    from polyvox.train.trainer import train

    cfg = get_preset(
        args.preset,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        num_threads=args.num_threads,
        fsdp=args.fsdp,
    )
    if args.steps:
        k = args.steps / cfg.total_steps
        pre, ins = round(cfg.pretrain_steps * k), round(cfg.instruct_steps * k)
        cfg = replace(cfg, pretrain_steps=pre, instruct_steps=ins, rlpf_steps=max(0, args.steps - pre - ins))
    result = train(cfg, args.data, args.out, resume=not args.no_resume, progress=not args.quiet)
    if result.metrics:
        print(f"step {result.step}: loss {result.metrics.get('loss', float('nan')):.4f}")
    print(f"checkpoint: {result.checkpoint}")
    return 0
