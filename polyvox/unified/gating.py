"""Prosody-aware gating: prosody features (F0, voicing, energy, rate) modulate the core's residual stream.

Each core block scales what its attention and MLP add to the residual stream, per channel, by gates
computed from the current step's prosody: g = 2·sigmoid(W·p). With small W at initialisation the gates
are ≈ 1, so a pretrained LM starts unchanged and learns where rising pitch (a question), a loud burst
(anger) or slow speech (hesitation) should change how it reasons.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

N_PROSODY = 4  # per step: normalised log-F0, voicing, energy, speaking-rate proxy (see S2SModel.prosody)


class ProsodyEmbedding(nn.Module):
    """(B, T, N_PROSODY) -> (B, T, d_prosody)."""

    def __init__(self, d_prosody: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(N_PROSODY, d_prosody), nn.SiLU(), nn.Linear(d_prosody, d_prosody))

    def forward(self, p: Tensor) -> Tensor:
        return self.net(p)


class ProsodyGate(nn.Module):
    """prosody embedding (B, T, d_prosody) -> (attention gate, MLP gate), each (B, T, d_model) around 1."""

    def __init__(self, d_prosody: int, d_model: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d_prosody, 2 * d_model)

    def forward(self, p: Tensor) -> tuple[Tensor, Tensor]:
        g = 2.0 * torch.sigmoid(self.proj(p))
        return g[..., : g.shape[-1] // 2], g[..., g.shape[-1] // 2 :]
