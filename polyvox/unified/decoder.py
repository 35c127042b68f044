"""Speech decoder, dual stream: from each core step, a text token and 80 ms of acoustic frames.

Text stream (inner monologue / transcript): logits over [base tokens | specials | IPA phonemes], so the
model can think in words of any script or in phonemes of the one universal inventory.
Acoustic stream: FRAMES_PER_STEP frames of a compact acoustic latent (mel-like, d_acoustic values per
10 ms) plus a normalised log-F0 contour and voicing, conditioned on the text token sampled at the same
step (text leads audio, as in Moshi's inner monologue). Both streams see the emotion / language / voice
embedding; the contour is turned into Hz by pitch.PitchNormalizer.denormalize for the target voice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from polyvox.unified.config import CoreConfig, DecoderConfig


@dataclass(frozen=True)
class AcousticFrames:
    frames: Tensor  # (B, T, F, d_acoustic) acoustic latent, F = frames_per_step
    f0_z: Tensor  # (B, T, F) normalised log-F0 (speaker- and language-independent)
    voiced: Tensor  # (B, T, F) voicing logits


class SpeechDecoder(nn.Module):
    def __init__(self, cfg: DecoderConfig, core: CoreConfig) -> None:
        super().__init__()
        self.cfg = cfg
        D, H = core.d_model, cfg.d_hidden
        self.style_to_text = nn.Linear(cfg.d_cond, D)
        self.text_head = nn.Linear(D, core.vocab_size, bias=False)  # rows [0, base) = the LM's lm_head
        self.h_in = nn.Linear(D, H)
        self.token_in = nn.Linear(D, H)  # the embedding of this step's text token
        self.style_in = nn.Linear(cfg.d_cond, H)
        self.mlp = nn.Sequential(nn.LayerNorm(H), nn.Linear(H, H), nn.GELU(), nn.Linear(H, H), nn.GELU())
        self.out = nn.Linear(H, cfg.frames_per_step * (cfg.d_acoustic + 2))

    def text_logits(self, h: Tensor, style: Tensor) -> Tensor:
        """h: (B, T, D) core hidden, style: (B, d_cond) -> (B, T, vocab)."""
        return self.text_head(h + self.style_to_text(style)[:, None])

    def acoustic(self, h: Tensor, token_emb: Tensor, style: Tensor) -> AcousticFrames:
        """h, token_emb: (B, T, D), style: (B, d_cond) -> AcousticFrames."""
        x = F.gelu(self.h_in(h) + self.token_in(token_emb) + self.style_in(style)[:, None])
        y = self.out(self.mlp(x)).unflatten(-1, (self.cfg.frames_per_step, -1))  # (B, T, F, A + 2)
        return AcousticFrames(y[..., :-2], y[..., -2], y[..., -1])
