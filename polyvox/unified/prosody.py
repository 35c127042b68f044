"""Prosody features from the waveform, causal per 10 ms hop: log-F0, voicing, energy, rate.

F0 by normalised autocorrelation over a 40 ms window ending at the hop (two periods of a 50 Hz voice);
energy as log RMS of the last 25 ms; speaking-rate proxy as the mean absolute change of log energy between
the four 10 ms hops inside the window (syllable onsets make it large). No parameters, no lookahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from polyvox.unified.config import HOP, SAMPLE_RATE, ProsodyConfig
from polyvox.unified.streaming import CausalFramer, StreamingModule

OCTAVE_TOLERANCE = 0.85  # a shorter-lag autocorrelation peak this close to the highest one wins


@dataclass(frozen=True)
class ProsodyFrames:
    """Per-hop prosody of a waveform, each (B, n_frames)."""

    log_f0: Tensor  # natural log of F0 in Hz (meaningless where unvoiced)
    voiced: Tensor  # voicing strength in [0, 1] (autocorrelation peak)
    energy: Tensor  # log RMS, roughly in [-9, 0]
    rate: Tensor  # mean |Δ log energy| between 10 ms hops


class ProsodyExtractor(StreamingModule):
    def __init__(self, cfg: ProsodyConfig, sample_rate: int = SAMPLE_RATE, hop: int = HOP) -> None:
        super().__init__()
        self.cfg, self.sample_rate, self.hop = cfg, sample_rate, hop
        self.framer = CausalFramer(cfg.window, hop)
        self.min_lag = int(sample_rate / cfg.f0_max)
        self.max_lag = math.ceil(sample_rate / cfg.f0_min)
        self.n_fft = 1 << (cfg.window + self.max_lag).bit_length()  # no circular wrap up to max_lag
        lags = torch.arange(self.max_lag + 1, dtype=torch.float32)
        self.register_buffer("lag_norm", cfg.window / (cfg.window - lags), persistent=False)  # unbias taper

    def forward(self, wave: Tensor) -> ProsodyFrames:
        """wave: (B, n_samples) at 16 kHz -> ProsodyFrames of (B, n_samples // hop)."""
        frames = self.framer(wave)  # (B, F, window)
        if frames.shape[1] == 0:
            empty = wave.new_zeros(wave.shape[0], 0)
            return ProsodyFrames(empty, empty, empty, empty)
        x = frames - frames.mean(-1, keepdim=True)
        spec = torch.fft.rfft(x, n=self.n_fft, dim=-1)
        ac = torch.fft.irfft(spec.abs().pow(2), n=self.n_fft, dim=-1)[..., : self.max_lag + 1]  # (B, F, lags)
        ac = ac * self.lag_norm / ac[..., :1].clamp(min=1e-8)
        search = ac[..., self.min_lag :]  # (B, F, lags)
        peak = search.max(-1).values  # (B, F)
        # octave errors: the tapered autocorrelation of a voice often peaks at twice the period; take the first
        # peak within OCTAVE_TOLERANCE of the highest instead (the shortest lag that explains the periodicity)
        first = (search >= OCTAVE_TOLERANCE * peak[..., None]).float().argmax(-1, keepdim=True)  # (B, F, 1)
        pos = torch.arange(search.shape[-1], device=search.device)
        near = (pos >= first) & (pos <= first + first // 4 + 2)
        idx = search.masked_fill(~near, float("-inf")).argmax(-1)
        lag = (idx + self.min_lag).float()
        log_f0 = math.log(self.sample_rate) - torch.log(lag)
        tail = frames[..., -400:]  # 25 ms
        energy = 0.5 * torch.log(tail.pow(2).mean(-1) + 1e-8)
        hops = frames.unflatten(-1, (-1, self.hop))  # (B, F, 4, hop)
        hop_energy = 0.5 * torch.log(hops.pow(2).mean(-1) + 1e-8)
        rate = hop_energy.diff(dim=-1).abs().mean(-1)
        voiced = peak.clamp(0.0, 1.0) * (energy > -7.0).float()  # silence is unvoiced
        return ProsodyFrames(log_f0, voiced, energy, rate)
