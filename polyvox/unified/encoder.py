"""Convolutional Audio Encoder (CAE): log-mel -> speech latents in the reasoning core's space.

1. A causal strided conv stack (100 Hz -> 12.5 Hz, three stride-2 blocks) extracts phonetic, tonal and
   emotional features from the mel frames; it is causal, so it streams with per-conv state.
2. Cross-attention layers attend from each 80 ms frame to a conditioning memory: the speaker embedding,
   an emotion embedding and the conversation context (latents of earlier turns). The memory is fixed for a
   stream, so these layers are per-frame (stateless).
3. A projection into the core's d_model (the LM's embedding space when the core is a pretrained LM).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from polyvox.unified.conditioning import Conditioning, resolve_index
from polyvox.unified.config import EncoderConfig
from polyvox.unified.streaming import StreamingConv1d, StreamingModule


class DownBlock(StreamingModule):
    """(B, C, T) -> (B, C, T // 2): stride-2 causal conv, then a residual causal conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.down = StreamingConv1d(channels, channels, kernel=4, stride=2)
        self.conv = StreamingConv1d(channels, channels, kernel=3)

    def forward(self, x: Tensor) -> Tensor:
        x = F.gelu(self.down(x))
        return x + F.gelu(self.conv(x))


class CrossAttention(nn.Module):
    """x (B, T, C) attends to memory (B, M, C), `mask` (B, M) True = attend."""

    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q, self.kv, self.out = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor, memory: Tensor, mask: Tensor) -> Tensor:
        B, T, C = x.shape
        q = self.q(x).view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, H, T, hd)
        k, v = self.kv(memory).view(B, memory.shape[1], 2, self.n_heads, C // self.n_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])  # (B, H, T, hd)
        return self.out(y.transpose(1, 2).reshape(B, T, C))


class CrossAttentionBlock(nn.Module):
    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.attn_norm, self.attn = nn.LayerNorm(dim), CrossAttention(dim, n_heads)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor, memory: Tensor, mask: Tensor) -> Tensor:
        x = x + self.attn(self.attn_norm(x), memory, mask)
        return x + self.mlp(self.mlp_norm(x))


class ConditioningMemory(nn.Module):
    """Conditioning -> memory tokens (B, 2 + M, C): [speaker, emotion, context_1 .. context_M]."""

    def __init__(self, channels: int, d_speaker: int, n_emotions: int, d_model: int) -> None:
        super().__init__()
        self.n_emotions = n_emotions
        self.speaker = nn.Linear(d_speaker, channels)
        self.no_speaker = nn.Parameter(torch.randn(channels) * 0.02)
        self.emotion = nn.Embedding(n_emotions + 1, channels)  # last row: unknown
        self.context = nn.Linear(d_model, channels)

    def forward(self, cond: Conditioning, batch_size: int) -> tuple[Tensor, Tensor]:
        """-> memory (B, 2 + M, C), mask (B, 2 + M) bool."""
        dev = self.no_speaker.device
        if cond.speaker is None:
            spk = self.no_speaker.expand(batch_size, -1)
        else:
            spk = self.speaker(cond.speaker.to(self.no_speaker))
        emo = self.emotion(resolve_index(cond.emotion, self.n_emotions, batch_size, dev))
        tokens, mask = [spk[:, None], emo[:, None]], [torch.ones(batch_size, 2, dtype=torch.bool, device=dev)]
        if cond.context is not None and cond.context.shape[1]:
            tokens.append(self.context(cond.context.to(self.no_speaker)))
            m = cond.context_mask
            mask.append(torch.ones(cond.context.shape[:2], dtype=torch.bool, device=dev) if m is None else m)
        return torch.cat(tokens, 1), torch.cat(mask, 1)


class AudioEncoder(StreamingModule):
    """log-mel (B, n_mels, 8·T) + Conditioning -> speech latents (B, T, d_model), causal."""

    def __init__(self, cfg: EncoderConfig, n_mels: int, n_emotions: int, d_model: int) -> None:
        super().__init__()
        C = cfg.channels
        self.conv_in = StreamingConv1d(n_mels, C, kernel=3)
        self.down = nn.ModuleList(DownBlock(C) for _ in range(cfg.n_down))
        self.memory = ConditioningMemory(C, cfg.d_speaker, n_emotions, d_model)
        self.cross = nn.ModuleList(CrossAttentionBlock(C, cfg.n_heads) for _ in range(cfg.n_cross_layers))
        self.norm = nn.LayerNorm(C)
        self.proj = nn.Linear(C, d_model)

    def features(self, mel: Tensor) -> Tensor:
        """The conv stack alone: (B, n_mels, 8·T) -> (B, T, C)."""
        x = F.gelu(self.conv_in(mel))
        for block in self.down:
            x = block(x)
        return x.transpose(1, 2)

    def forward(self, mel: Tensor, cond: Conditioning) -> Tensor:
        x = self.features(mel)  # (B, T, C)
        memory, mask = self.memory(cond, x.shape[0])
        for block in self.cross:
            x = block(x, memory, mask)
        return self.proj(self.norm(x))  # (B, T, d_model)
