"""Mel frontend: 16 kHz waveform -> causal log-mel frames (whisper-compatible bands, no torchaudio).

80 bands, 25 ms Hann window, 10 ms hop (see config.py for why). Unlike whisper, each frame ENDS at its hop
boundary (no centring, no lookahead) and the log is scaled with fixed constants instead of the per-file
maximum, so a frame depends only on past audio and streams in 80 ms chunks (8 frames).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from polyvox.unified.config import MelConfig
from polyvox.unified.streaming import CausalFramer, StreamingModule


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_max: float) -> Tensor:
    """Slaney-style mel filters (librosa's default, as whisper uses): (n_mels, n_fft // 2 + 1)."""

    def hz_to_mel(f: Tensor) -> Tensor:  # linear below 1 kHz, logarithmic above (Slaney)
        lin = f / (200.0 / 3)
        log = 15.0 + torch.log(f.clamp(min=1e-9) / 1000.0) / (math.log(6.4) / 27.0)
        return torch.where(f >= 1000.0, log, lin)

    def mel_to_hz(m: Tensor) -> Tensor:
        lin = m * (200.0 / 3)
        log = 1000.0 * torch.exp((math.log(6.4) / 27.0) * (m - 15.0))
        return torch.where(m >= 15.0, log, lin)

    fft_freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    top = 15.0 + math.log(f_max / 1000.0) / (math.log(6.4) / 27.0) if f_max >= 1000 else f_max / (200.0 / 3)
    mels = torch.linspace(0.0, top, n_mels + 2, dtype=torch.float64)
    hz = mel_to_hz(mels)
    lower = (fft_freqs[None, :] - hz[:-2, None]) / (hz[1:-1] - hz[:-2])[:, None]
    upper = (hz[2:, None] - fft_freqs[None, :]) / (hz[2:] - hz[1:-1])[:, None]
    fb = torch.clamp(torch.minimum(lower, upper), min=0.0)
    fb *= (2.0 / (hz[2:] - hz[:-2]))[:, None]  # Slaney area normalisation
    return fb.float()


class MelFrontend(StreamingModule):
    """waveform (B, n_samples) at 16 kHz -> log-mel (B, n_mels, n_samples // hop). No parameters."""

    def __init__(self, cfg: MelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.framer = CausalFramer(cfg.n_fft, cfg.hop)
        self.register_buffer("window", torch.hann_window(cfg.n_fft, periodic=True), persistent=False)
        self.register_buffer(
            "filters", mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_max), persistent=False
        )

    def forward(self, wave: Tensor) -> Tensor:
        frames = self.framer(wave)  # (B, F, n_fft)
        if frames.shape[1] == 0:
            return wave.new_zeros(wave.shape[0], self.cfg.n_mels, 0)
        power = torch.fft.rfft(frames * self.window, dim=-1).abs().pow(2)  # (B, F, n_fft // 2 + 1)
        mel = power @ self.filters.T  # (B, F, n_mels)
        # whisper's scale (log10, /4 after +4) with a fixed floor of -8 (1e-8 power) instead of max - 8.
        log_mel = (torch.log10(mel.clamp(min=1e-8)) + 4.0) / 4.0
        return log_mel.transpose(1, 2)  # (B, n_mels, F)
