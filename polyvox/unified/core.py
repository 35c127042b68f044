"""Reasoning core: a decoder-only transformer over time (12.5 steps/s), Llama/Qwen2-shaped.

Causal self-attention with rotary positions and a KV cache (attention.py), SwiGLU MLPs, RMSNorm, and
prosody-aware gating of the residual stream (gating.py). Its layer names match Hugging Face Llama/Qwen2
(`q_proj`, `gate_proj`, `input_layernorm` -> `attn_norm`, ...), so hf_init.py can load a pretrained LM
and the speech latents arrive in that LM's embedding space.

Fine-tuning modes (CoreConfig.finetune): "full" trains everything; "frozen" freezes the transformer
layers and final norm (gates, embeddings and everything outside the core still train); "lora" is "frozen"
plus trainable LoRA adapters on the attention projections (CoreConfig.lora_rank > 0).
"""

from __future__ import annotations

from torch import Tensor, nn

from polyvox.unified.attention import CausalSelfAttention
from polyvox.unified.config import CoreConfig
from polyvox.unified.gating import ProsodyEmbedding, ProsodyGate
from polyvox.unified.layers import RMSNorm, SwiGLU
from polyvox.unified.streaming import StreamingModule


class CoreBlock(StreamingModule):
    def __init__(self, cfg: CoreConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = CausalSelfAttention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg.d_model, cfg.d_ff)
        self.gate = ProsodyGate(cfg.d_prosody, cfg.d_model)

    def forward(self, x: Tensor, prosody: Tensor) -> Tensor:
        """x: (B, T, D), prosody: (B, T, d_prosody) -> (B, T, D)."""
        g_attn, g_mlp = self.gate(prosody)
        x = x + g_attn * self.attn(self.attn_norm(x))
        return x + g_mlp * self.mlp(self.mlp_norm(x))


class ReasoningCore(StreamingModule):
    """input embeddings (B, T, D) + prosody features (B, T, N_PROSODY) -> hidden (B, T, D), final-normed."""

    def __init__(self, cfg: CoreConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.text_embed = nn.Embedding(cfg.vocab_size, cfg.d_model)  # rows [0, base) = the LM's embed_tokens
        self.prosody = ProsodyEmbedding(cfg.d_prosody)
        self.layers = nn.ModuleList(CoreBlock(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)

    def forward(self, x: Tensor, prosody: Tensor) -> Tensor:
        p = self.prosody(prosody)
        for layer in self.layers:
            x = layer(x, p)
        return self.norm(x)

    def apply_finetune_mode(self) -> None:
        """Set requires_grad for CoreConfig.finetune (call again after loading pretrained weights)."""
        mode = self.cfg.finetune
        if mode not in ("full", "frozen", "lora"):
            raise ValueError(f"unknown finetune mode {mode!r}")
        frozen = [
            *(m for layer in self.layers for m in (layer.attn, layer.mlp, layer.attn_norm, layer.mlp_norm)),
            self.norm,
        ]
        for m in frozen:
            for name, p in m.named_parameters():
                p.requires_grad = mode == "full" or (mode == "lora" and "lora_" in name)
