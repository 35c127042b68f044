"""Distributed setup: one code path for a single process and for `torchrun --nproc_per_node N`.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; without them the run is a single
process and nothing is initialised. Backend: NCCL on CUDA, gloo on CPU. Every rank builds the same model
from the same seed, DDP averages gradients (so replicas stay identical), and only rank 0 writes files.
FSDP (`TrainConfig.fsdp`) shards parameters, gradients and optimizer state instead, for configs that do
not fit one device (1b and up); it needs CUDA and NCCL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from polyvox.errors import PolyvoxError


@dataclass(frozen=True)
class DistContext:
    rank: int  # global rank (0 writes checkpoints and logs)
    world_size: int  # number of processes
    local_rank: int  # rank on this machine (picks the GPU)
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(backend: str = "auto", device: str = "auto") -> DistContext:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    dev = torch.device(f"cuda:{local}" if cuda else "cpu") if device in ("auto", "cuda") else torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        be = ("nccl" if dev.type == "cuda" else "gloo") if backend == "auto" else backend
        dist.init_process_group(be, rank=rank, world_size=world)
    return DistContext(rank, world, local, dev)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def mean_metrics(metrics: dict[str, float], ctx: DistContext) -> dict[str, float]:
    """Average scalar metrics over ranks (for logging)."""
    if not ctx.distributed or not metrics:
        return metrics
    keys = sorted(metrics)
    t = torch.tensor([metrics[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return {k: float(x) / ctx.world_size for k, x in zip(keys, t.tolist(), strict=True)}


def wrap(module: nn.Module, ctx: DistContext, fsdp: bool) -> nn.Module:
    """DDP (replicas) or FSDP (shards) around `module`; the module itself for one process."""
    if fsdp:
        if ctx.device.type != "cuda":
            raise PolyvoxError("FSDP needs CUDA", "drop --fsdp on CPU (DDP replicates the model)")
        from torch.distributed.fsdp import FullyShardedDataParallel

        return FullyShardedDataParallel(module, device_id=ctx.device, use_orig_params=True)
    if not ctx.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


def replica_checksums(module: nn.Module, ctx: DistContext) -> list[str]:
    """sha256 (first 16 hex digits) of every rank's parameters and buffers: all equal when replicas agree."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    mine = int(h.hexdigest()[:15], 16)
    if not ctx.distributed:
        return [f"{mine:015x}"]
    t = torch.tensor([mine], dtype=torch.int64, device=ctx.device if ctx.device.type == "cuda" else "cpu")
    out = [torch.zeros_like(t) for _ in range(ctx.world_size)]
    dist.all_gather(out, t)
    return [f"{int(x):015x}" for x in out]
