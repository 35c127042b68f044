"""Understanding heads on the core's hidden state, one prediction per 80 ms step (causal)."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from polyvox.unified.config import HeadsConfig


@dataclass(frozen=True)
class Understanding:
    emotion: Tensor  # (B, T, n_emotions) logits over phonemes.EMOTIONS
    language: Tensor  # (B, T, n_languages) logits over phonemes.LANGUAGES
    speaker: Tensor  # (B, T, d_speaker) unit-norm speaker embedding
    end_of_turn: Tensor  # (B, T) logit that the user has finished their turn


class UnderstandingHeads(nn.Module):
    def __init__(self, cfg: HeadsConfig, d_model: int, d_speaker: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d_model, cfg.d_hidden), nn.GELU())
        self.emotion = nn.Linear(cfg.d_hidden, cfg.n_emotions)
        self.language = nn.Linear(cfg.d_hidden, cfg.n_languages)
        self.speaker = nn.Linear(cfg.d_hidden, d_speaker)
        self.end_of_turn = nn.Linear(cfg.d_hidden, 1)

    def forward(self, h: Tensor) -> Understanding:
        """h: (B, T, D) -> Understanding."""
        x = self.trunk(h)
        return Understanding(
            emotion=self.emotion(x),
            language=self.language(x),
            speaker=F.normalize(self.speaker(x), dim=-1),
            end_of_turn=self.end_of_turn(x)[..., 0],
        )
