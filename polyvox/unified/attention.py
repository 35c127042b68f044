"""Causal self-attention over time with rotary positions, grouped-query heads and a streaming KV cache.

Batch mode: x (B, T, D) with a causal, windowed mask (query i sees keys i - context < j <= i).
Streaming: each chunk's keys/values are appended to the cache; the cache keeps the last `context - 1`
steps, so the window matches batch mode. Items of a batch can restart independently (`reset(mask)`):
their RoPE positions restart at 0 and keys from before the restart are masked out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from polyvox.unified.config import CoreConfig
from polyvox.unified.layers import LoRALinear, apply_rope
from polyvox.unified.streaming import StreamingModule, StreamingState


@dataclass
class KVCache(StreamingState):
    keys: Tensor  # (B, n_kv_heads, L, head_dim), RoPE already applied
    values: Tensor  # (B, n_kv_heads, L, head_dim)
    start: Tensor  # (B,) long: absolute step at which each item's stream (re)started
    offset: int = 0  # absolute step of cache entry 0
    length: int = 0  # absolute steps processed so far

    def reset(self, mask: Tensor) -> None:
        self.start[mask] = self.length


class CausalSelfAttention(StreamingModule[KVCache]):
    def __init__(self, cfg: CoreConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, hd = cfg.d_model, cfg.head_dim
        lora = {"rank": cfg.lora_rank, "alpha": cfg.lora_alpha}
        self.q_proj = LoRALinear(d, cfg.n_heads * hd, bias=cfg.qkv_bias, **lora)
        self.k_proj = LoRALinear(d, cfg.n_kv_heads * hd, bias=cfg.qkv_bias, **lora)
        self.v_proj = LoRALinear(d, cfg.n_kv_heads * hd, bias=cfg.qkv_bias, **lora)
        self.o_proj = LoRALinear(cfg.n_heads * hd, d, bias=False, **lora)

    def _init_streaming_state(self, batch_size: int) -> KVCache:
        w = self.k_proj.weight
        empty = torch.zeros(batch_size, self.cfg.n_kv_heads, 0, self.cfg.head_dim, device=w.device, dtype=w.dtype)
        return KVCache(batch_size, empty, empty.clone(), torch.zeros(batch_size, dtype=torch.long, device=w.device))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        cfg, (B, T, _) = self.cfg, x.shape
        q = self.q_proj(x).view(B, T, cfg.n_heads, cfg.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)  # (B, H_kv, T, hd)
        v = self.v_proj(x).view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        if self._streaming_state is None:
            pos = torch.arange(T, device=x.device)[None]  # (1, T)
            q, k = apply_rope(q, pos, cfg.rope_theta), apply_rope(k, pos, cfg.rope_theta)
            i = torch.arange(T, device=x.device)
            mask = (i[None, :] <= i[:, None]) & (i[:, None] - i[None, :] < cfg.context)  # (T, T)
            keys, values = k, v
        else:
            st = self.state
            abs_q = st.length + torch.arange(T, device=x.device)  # (T,)
            pos = abs_q[None] - st.start[:, None]  # (B, T)
            q, k = apply_rope(q, pos, cfg.rope_theta), apply_rope(k, pos, cfg.rope_theta)
            keys, values = torch.cat([st.keys, k], 2), torch.cat([st.values, v], 2)
            mask = None
            if T > 1 or bool((st.start > st.offset).any()):
                abs_k = st.offset + torch.arange(keys.shape[2], device=x.device)  # (L,)
                causal = (abs_k[None] <= abs_q[:, None]) & (abs_q[:, None] - abs_k[None] < cfg.context)  # (T, L)
                mask = (causal[None] & (abs_k[None, None] >= st.start[:, None, None]))[:, None]  # (B, 1, T, L)
            keep = cfg.context - 1
            drop = max(0, keys.shape[2] - keep)
            st.keys, st.values = keys[:, :, drop:], values[:, :, drop:]
            st.offset += drop
            st.length += T
        y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=True)  # (B, H, T, hd)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, cfg.n_heads * cfg.head_dim))
