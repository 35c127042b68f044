"""The training loop: stage 1 → stage 2 → RLPF on one schedule, single-process or under torchrun.

    from polyvox.train import train, get_preset
    train(get_preset("tiny"), data=["corpus/"], out="runs/tiny")

Files in `out` (written by rank 0 only, each atomically: temp file + rename):

    state.pt        step, model, optimizer, reference model (RLPF), configs: what a resumed run needs
    unified.pt      the model alone (polyvox.unified checkpoint), loadable by `load_engine`
    metrics.jsonl   one line per `log_every` steps: step, stage, lr, loss and its parts (mean over ranks)
    replicas.json   at the end: a checksum of every rank's weights (identical under DDP)
    loss.png        the loss curve (train extra: matplotlib)

Resuming: the data position and every random draw depend only on (seed, step, rank) — each step reseeds
torch's generator — so stopping after a checkpoint and resuming gives the same weights as never stopping.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from polyvox.errors import PolyvoxError
from polyvox.train import dist
from polyvox.train.config import TrainConfig
from polyvox.train.data import Batch, build_item, collate, example_at, load_corpus
from polyvox.train.losses import TrainModule
from polyvox.unified.checkpoint import save_checkpoint
from polyvox.unified.config import get_config
from polyvox.unified.model import S2SModel
from polyvox.unified.phonemes import EMOTIONS


@dataclass(frozen=True)
class TrainResult:
    step: int  # optimizer steps done (total over all runs of this folder)
    out: Path  # the run folder
    checkpoint: Path  # unified.pt
    metrics: dict[str, float]  # the last logged metrics


class StopTraining(Exception):
    """Raised by `stop_after` (tests: a crash right after a given step, before the next checkpoint)."""


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Linear warmup, then cosine decay to 10 % at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    p = (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _batch_to(batch: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return batch
    return Batch(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in vars(batch).items()})


def _log(out: Path, line: dict[str, Any]) -> None:
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _truncate_log(out: Path, step: int) -> None:
    """Drop lines logged after the checkpoint we resume from (they are redone)."""
    p = out / "metrics.jsonl"
    if p.exists():
        keep = [x for x in p.read_text().splitlines() if x and json.loads(x)["step"] <= step]
        p.write_text("".join(k + "\n" for k in keep))


def train(
    cfg: TrainConfig,
    data: list[str | Path],
    out: str | Path,
    resume: bool = True,
    stop_after: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or continue training) into `out`. Works alone and under torchrun (one call per rank)."""
    ctx = dist.setup(cfg.backend, cfg.device)
    try:
        return _train(cfg, data, Path(out), ctx, resume, stop_after, progress)
    finally:
        dist.teardown()


def _train(cfg, data, out: Path, ctx: dist.DistContext, resume, stop_after, progress) -> TrainResult:
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    model = S2SModel(get_config(cfg.model))
    module = TrainModule(model, cfg.losses).to(ctx.device)
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    start, reference = 0, None
    state_path = out / "state.pt"
    if resume and state_path.exists():
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        if st["model_config"] != model.cfg.to_dict():
            raise PolyvoxError(f"{out} holds a run of another model config", "use a new --out folder")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optim"])
        start = st["step"]
        if st.get("reference") is not None:
            reference = S2SModel(model.cfg)
            reference.load_state_dict(st["reference"])
        if ctx.is_main:
            _truncate_log(out, start)
    elif ctx.is_main:
        (out / "metrics.jsonl").unlink(missing_ok=True)
    wrapped = dist.wrap(module, ctx, cfg.fsdp)
    stage1, stage2 = load_corpus(list(data))
    b, G = cfg.batch_size, cfg.batch_size * ctx.world_size
    last: dict[str, float] = {}
    t_last = time.perf_counter()
    from tqdm import tqdm

    bar = tqdm(total=cfg.total_steps, initial=start, desc="train", disable=not (progress and ctx.is_main))
    for step in range(start, cfg.total_steps):
        stage = cfg.stage_at(step)
        if stage == "rlpf" and module.rlpf_step is None:
            from polyvox.train.rlpf import RlpfStep

            if reference is None:  # the stage-2 model, frozen: the KL anchor and the listener
                reference = S2SModel(model.cfg)
                reference.load_state_dict(model.state_dict())
            module.rlpf_step = RlpfStep(reference, cfg.rlpf)
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        n = max(1, b // cfg.rlpf.group_size) if stage == "rlpf" else b
        examples = stage1 if stage == "pretrain" else stage2
        items = [
            build_item(
                example_at(examples, step * G + ctx.rank * b + j, cfg.seed, stage == "pretrain"),
                module.vocab,
                cfg.max_seconds,
            )
            for j in range(n)
        ]
        batch = _batch_to(collate(items, module.vocab, len(EMOTIONS)), ctx.device)
        torch.manual_seed(cfg.seed * 1_000_003 + step * 1009 + ctx.rank)  # every random draw of this step
        module.train()
        loss, metrics = wrapped(batch, stage)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
        opt.step()
        metrics = dist.mean_metrics({"loss": float(loss.detach()), "grad_norm": float(gnorm), **metrics}, ctx)
        bar.update(1)
        done = step + 1
        if ctx.is_main and (done % cfg.log_every == 0 or done == cfg.total_steps):
            now = time.perf_counter()
            last = {
                "step": done,
                "stage": stage,
                "lr": lr_at(cfg, step),
                **metrics,
                "seconds_per_step": (now - t_last) / cfg.log_every,
            }
            t_last = now
            _log(out, last)
            bar.set_postfix(loss=f"{metrics['loss']:.3f}", stage=stage)
        if done % cfg.checkpoint_every == 0 or done == cfg.total_steps:
            save_state(out, model, opt, done, cfg, reference, ctx)
        if stop_after is not None and done == stop_after:
            raise StopTraining(f"stopped after step {done}")
    bar.close()
    sums = dist.replica_checksums(model, ctx)  # DDP keeps replicas identical: checked, not assumed
    if ctx.is_main:
        check = {"world_size": ctx.world_size, "checksums": sums, "identical": len(set(sums)) == 1}
        (out / "replicas.json").write_text(json.dumps(check))
        try:
            from polyvox.train.plot import plot_losses

            plot_losses(out / "metrics.jsonl", out / "loss.png")
        except PolyvoxError as e:
            print(f"note: no loss plot ({e})")
    return TrainResult(cfg.total_steps, out, out / "unified.pt", last)


def save_state(out: Path, model: S2SModel, opt, step: int, cfg: TrainConfig, reference, ctx) -> None:
    """Rank 0 writes state.pt and unified.pt atomically; all ranks wait for it."""
    if ctx.is_main:
        _atomic_save(
            {
                "step": step,
                "model": model.state_dict(),
                "optim": opt.state_dict(),
                "train_config": cfg.to_dict(),
                "model_config": model.cfg.to_dict(),
                "reference": None if reference is None else reference.state_dict(),
            },
            out / "state.pt",
        )
        save_checkpoint(
            model,
            out / "unified.pt",
            meta={
                "trained": True,
                "steps": step,
                "stage": cfg.stage_at(max(0, step - 1)),
                "train_config": cfg.to_dict(),
            },
        )
    dist.barrier(ctx)
