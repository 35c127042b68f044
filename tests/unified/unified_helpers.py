"""Shared helpers of the unified-model tests: seeded tiny models and a streaming runner."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from polyvox.unified.config import CHUNK_SAMPLES, CONFIGS
from polyvox.unified.model import S2SModel

torch.set_num_threads(1)  # tiny tensors: one thread is fastest and immune to a busy machine


def tiny_model(seed: int = 0) -> S2SModel:
    torch.manual_seed(seed)
    return S2SModel(CONFIGS["tiny"]).eval()


def speechlike(n_steps: int, batch: int = 1, seed: int = 0) -> Tensor:
    """(batch, n_steps · 1280): a gliding harmonic tone with syllable-like bursts and a little noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n_steps * CHUNK_SAMPLES) / 16_000
    f0 = 120 + 60 * torch.rand(batch, 1, generator=g) + 30 * torch.sin(2 * torch.pi * 0.7 * t)
    phase = 2 * torch.pi * torch.cumsum(f0 / 16_000, -1)
    env = (torch.sin(2 * torch.pi * 4 * t) > -0.3).float()
    x = sum(torch.sin(k * phase) / k for k in range(1, 6)) * env * 0.2
    return x + 0.003 * torch.randn(batch, t.shape[0], generator=g)


def run_chunks(
    fn: Callable[[Tensor], Tensor], x: Tensor, sizes: list[int], dim: int = -1, out_dim: int | None = None
) -> Tensor:
    """Feed x to fn in consecutive pieces of `sizes` (cycled) along `dim`; concatenate the outputs along
    `out_dim` (default: `dim`)."""
    outs, i, k = [], 0, 0
    n = x.shape[dim]
    while i < n:
        s = sizes[k % len(sizes)]
        outs.append(fn(x.narrow(dim, i, min(s, n - i))))
        i, k = i + s, k + 1
    return torch.cat(outs, dim if out_dim is None else out_dim)
