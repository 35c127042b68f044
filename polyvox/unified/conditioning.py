"""What a stream is conditioned on: speaker, emotion, language, conversation context.

Every field is optional; a missing one uses a learned "unknown" embedding (index n_emotions / n_languages,
a learned no-speaker vector), so one model serves "detect the language" and "reply in German".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Conditioning:
    speaker: Tensor | None = None  # (B, d_speaker) speaker embedding (the reply voice when speaking)
    emotion: Tensor | None = None  # (B,) long, index into phonemes.EMOTIONS
    language: Tensor | None = None  # (B,) long, index into phonemes.LANGUAGES
    context: Tensor | None = None  # (B, M, d_model) latents of earlier turns (S2SModel.context_latents)
    context_mask: Tensor | None = None  # (B, M) bool, True where `context` holds a real latent


def resolve_index(index: Tensor | None, unknown: int, batch_size: int, device: torch.device) -> Tensor:
    """(B,) long indices, `unknown` where not given."""
    if index is None:
        return torch.full((batch_size,), unknown, dtype=torch.long, device=device)
    return index.to(device=device, dtype=torch.long)


class ConditionEmbedding(nn.Module):
    """Conditioning -> one vector per stream (B, d_cond): the decoder's and vocoder's style input."""

    def __init__(self, n_emotions: int, n_languages: int, d_speaker: int, d_cond: int) -> None:
        super().__init__()
        self.n_emotions, self.n_languages = n_emotions, n_languages
        self.emotion = nn.Embedding(n_emotions + 1, d_cond)
        self.language = nn.Embedding(n_languages + 1, d_cond)
        self.speaker = nn.Linear(d_speaker, d_cond)
        self.no_speaker = nn.Parameter(torch.randn(d_speaker) * 0.02)

    def speaker_vector(self, cond: Conditioning, batch_size: int) -> Tensor:
        """(B, d_speaker): the given speaker embedding or the learned default voice."""
        if cond.speaker is not None:
            return cond.speaker.to(self.no_speaker)
        return self.no_speaker.expand(batch_size, -1)

    def languages(self, cond: Conditioning, batch_size: int) -> Tensor:
        return resolve_index(cond.language, self.n_languages, batch_size, self.no_speaker.device)

    def forward(self, cond: Conditioning, batch_size: int) -> Tensor:
        dev = self.no_speaker.device
        emo = resolve_index(cond.emotion, self.n_emotions, batch_size, dev)
        return (
            self.emotion(emo)
            + self.language(self.languages(cond, batch_size))
            + self.speaker(self.speaker_vector(cond, batch_size))
        )
