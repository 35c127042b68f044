"""Transformer building blocks shaped like Llama/Qwen2 (so pretrained weights map 1:1): RMSNorm, rotary
positions (Hugging Face's half-split convention), SwiGLU MLP, and a Linear with optional LoRA adapters."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def apply_rope(x: Tensor, positions: Tensor, theta: float) -> Tensor:
    """x: (B, H, T, hd); positions: (B or 1, T) -> x rotated by position (HF `rotate_half` convention)."""
    hd = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, device=x.device, dtype=torch.float32) / hd))
    freqs = positions.to(torch.float32)[..., None] * inv_freq  # (B, T, hd / 2)
    emb = torch.cat([freqs, freqs], dim=-1)[:, None]  # (B, 1, T, hd)
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return (x * emb.cos().to(x.dtype) + rotated * emb.sin().to(x.dtype)).to(x.dtype)


class LoRALinear(nn.Linear):
    """nn.Linear (same `weight`/`bias` names, so pretrained weights load) + a low-rank update B·A·x.

    rank 0 is a plain Linear. B starts at zero, so training starts from the pretrained function.
    """

    def __init__(self, d_in: int, d_out: int, bias: bool = False, rank: int = 0, alpha: float = 16.0) -> None:
        super().__init__(d_in, d_out, bias=bias)
        self.rank = rank
        if rank:
            self.lora_a = nn.Parameter(torch.randn(rank, d_in) / math.sqrt(d_in))
            self.lora_b = nn.Parameter(torch.zeros(d_out, rank))
            self.lora_scale = alpha / rank

    def forward(self, x: Tensor) -> Tensor:
        y = F.linear(x, self.weight, self.bias)
        if self.rank:
            y = y + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.lora_scale
        return y


class SwiGLU(nn.Module):
    """(B, T, D) -> (B, T, D): down(silu(gate(x)) * up(x)), Llama's MLP."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
