"""Adaptive pitch normalisation: per-speaker / per-language log-F0 statistics, so prosody transfers.

Input side (listening): the user's log-F0 is normalised by running statistics of THIS stream's voiced
frames, shrunk towards the language's prior while few frames are in (a Bayesian running mean):

    mean_t = (Σ_{s≤t} v_s·f_s + k·μ_lang) / (Σ_{s≤t} v_s + k)        (k = prior_frames)
    var_t  = (Σ_{s≤t} v_s·(f_s - speaker mean)² + k·σ²_lang) / (Σ_{s≤t} v_s + k)

so a deep and a high voice saying the same question give the same normalised contour (z-scores).

Output side (speaking): the decoder predicts a normalised contour; it is mapped back to Hz with the
TARGET language's statistics shifted by the reply voice (speaker embedding -> Δmean, Δlog-std), so the
same intonation is rendered in any voice and any language.

The per-language statistics are running averages (buffers, like BatchNorm's) updated during training
from voiced frames of labelled speech (`update_language_stats`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from polyvox.unified.config import ProsodyConfig
from polyvox.unified.streaming import StreamingModule, StreamingState

_DEFAULT_MEAN = math.log(160.0)  # Hz: between typical male and female speaking pitch
_DEFAULT_VAR = 0.25**2  # a std of 0.25 in log-F0 ≈ 4.3 semitones


@dataclass
class PitchState(StreamingState):
    voiced_sum: Tensor  # (B,) Σ v
    f0_sum: Tensor  # (B,) Σ v·logF0
    f0_sq_sum: Tensor  # (B,) Σ v·logF0²


class PitchNormalizer(StreamingModule[PitchState]):
    def __init__(self, cfg: ProsodyConfig, n_languages: int, d_speaker: int) -> None:
        super().__init__()
        self.cfg = cfg
        # Index n_languages = unknown language (global statistics).
        self.register_buffer("lang_mean", torch.full((n_languages + 1,), _DEFAULT_MEAN))
        self.register_buffer("lang_var", torch.full((n_languages + 1,), _DEFAULT_VAR))
        self.speaker_shift = nn.Linear(d_speaker, 2)  # speaker embedding -> (Δmean, Δlog std)
        nn.init.normal_(self.speaker_shift.weight, std=0.01)
        nn.init.zeros_(self.speaker_shift.bias)

    def _init_streaming_state(self, batch_size: int) -> PitchState:
        z = torch.zeros(batch_size, device=self.lang_mean.device)
        return PitchState(batch_size, z.clone(), z.clone(), z.clone())

    def _prior(self, language: Tensor) -> tuple[Tensor, Tensor]:
        """language: (B,) long, n_languages = unknown -> (mean (B,), var (B,))."""
        return self.lang_mean[language], self.lang_var[language]

    def normalize(self, log_f0: Tensor, voiced: Tensor, language: Tensor) -> Tensor:
        """log_f0, voiced: (B, F) per hop; language: (B,) -> z-scored log-F0 (B, F), 0 where unvoiced."""
        v = voiced
        cum_v, cum_f, cum_f2 = v.cumsum(-1), (v * log_f0).cumsum(-1), (v * log_f0.square()).cumsum(-1)
        if self._streaming_state is not None:
            st = self.state
            cum_v = cum_v + st.voiced_sum[:, None]
            cum_f = cum_f + st.f0_sum[:, None]
            cum_f2 = cum_f2 + st.f0_sq_sum[:, None]
            if v.shape[-1]:
                st.voiced_sum, st.f0_sum, st.f0_sq_sum = cum_v[:, -1], cum_f[:, -1], cum_f2[:, -1]
        mu0, var0 = self._prior(language)
        k = self.cfg.prior_frames
        mean = (cum_f + k * mu0[:, None]) / (cum_v + k)
        within = (cum_f2 - cum_f.square() / (cum_v + 1e-6)).clamp(min=0.0)  # Σ v·(f - mean_speaker)²
        std = ((within + k * var0[:, None]) / (cum_v + k)).clamp(min=1e-4).sqrt()
        return (log_f0 - mean) / std * (v > 0.5).float()

    def denormalize(self, z: Tensor, language: Tensor, speaker: Tensor) -> Tensor:
        """z: (B, T, F) normalised contour; language: (B,); speaker: (B, d_speaker) -> log-F0 (B, T, F)."""
        mu0, var0 = self._prior(language)
        shift = self.speaker_shift(speaker)  # (B, 2)
        mean = mu0 + shift[:, 0]
        std = var0.sqrt() * torch.exp(shift[:, 1])
        return mean[:, None, None] + std[:, None, None] * z

    @torch.no_grad()
    def update_language_stats(self, log_f0: Tensor, voiced: Tensor, language: Tensor) -> None:
        """Training: move each language's running mean/var towards this batch's voiced frames (B, F)."""
        m = self.cfg.momentum
        for lang in language.unique():
            sel = (language == lang)[:, None] & (voiced > 0.5)
            if sel.sum() < 2:
                continue
            f = log_f0[sel]
            self.lang_mean[lang] = (1 - m) * self.lang_mean[lang] + m * f.mean()
            self.lang_var[lang] = (1 - m) * self.lang_var[lang] + m * f.var()
