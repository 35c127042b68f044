"""The vocoder's source-filter base: streaming == batch, the output has the frames' spectrum and pitch."""

from __future__ import annotations

import math

import torch
from torch.testing import assert_close

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample
from polyvox.unified.config import ProsodyConfig, acoustic_mel
from polyvox.unified.mel import MelFrontend
from polyvox.unified.prosody import ProsodyExtractor
from polyvox.unified.source_filter import SourceFilter

N_FRAMES = 96  # 0.96 s


def _vowel(n: int, f0: float, seed: int = 0) -> torch.Tensor:
    """(1, n) at 24 kHz: a glottal-like pulse train at f0 through two formant resonances, plus a little noise."""
    t = torch.arange(n) / OUTPUT_SAMPLE_RATE
    x = sum(torch.cos(2 * math.pi * k * f0 * t) * (1.0 / k) * (1 + 3 * math.exp(-((k * f0 - 700) / 200) ** 2)
            + 2 * math.exp(-((k * f0 - 1800) / 300) ** 2)) for k in range(1, int(11000 / f0)))  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    x = x / x.abs().max() * 0.3 + 0.003 * torch.randn(n, generator=g)
    return x[None].float()


def _analysis(wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1, n) 24 kHz -> frames (1, N, 80), log-F0 (1, N), voicing (1, N)."""
    frames = MelFrontend(acoustic_mel(80))(wave).transpose(1, 2)
    w16 = torch.from_numpy(resample(wave[0].numpy(), OUTPUT_SAMPLE_RATE, SAMPLE_RATE))[None]
    pf = ProsodyExtractor(ProsodyConfig(), SAMPLE_RATE, 160)(w16)
    n = frames.shape[1]
    return frames, pf.log_f0[:, :n], pf.voiced[:, :n]


def test_streaming_equals_batch() -> None:
    sf = SourceFilter(acoustic_mel(80))
    g = torch.Generator().manual_seed(0)
    frames = torch.randn(2, N_FRAMES, 80, generator=g) * 0.2 - 0.3
    log_f0 = math.log(150.0) + 0.1 * torch.randn(2, N_FRAMES, generator=g)
    voiced = torch.rand(2, N_FRAMES, generator=g)
    batch = sf(frames, log_f0, voiced)
    with sf.streaming(2):
        parts = [sf(frames[:, i : i + 8], log_f0[:, i : i + 8], voiced[:, i : i + 8]) for i in range(0, N_FRAMES, 8)]
    assert batch.shape == (2, N_FRAMES * 240)
    assert_close(torch.cat(parts, 1), batch, atol=1e-5, rtol=1e-4)


def test_copy_synthesis_keeps_spectrum_and_pitch() -> None:
    """Resynthesise a vowel from its frames at its F0: the same mel spectrum (after the 15 ms lag) and pitch."""
    wave = _vowel(N_FRAMES * 240, f0=140.0)
    frames, _, _ = _analysis(wave)
    log_f0 = torch.full((1, N_FRAMES), math.log(140.0))
    sf = SourceFilter(acoustic_mel(80))
    out = sf(frames, log_f0, torch.ones(1, N_FRAMES))
    assert out.abs().max() < 1.0 and out.std() > 0.01
    lag_frames = sf.lag // 240 + 1  # compare whole frames after the lag
    again, f0_again, v_again = _analysis(torch.nn.functional.pad(out, (0, sf.lag))[:, sf.lag :])
    steady = slice(8, N_FRAMES - lag_frames)
    err_db = 40 * (again[0, steady] - frames[0, steady]).abs()  # MelFrontend units: 0.025 per dB
    loud = frames[0, steady] > frames[0, steady].max() - 0.75  # bands within 30 dB of the peak
    assert float(err_db[loud].median()) < 3.0, float(err_db[loud].median())
    assert float(v_again[0, steady].mean()) > 0.8
    cents = 1200 * (f0_again[0, steady] - log_f0[0, steady]).abs() / math.log(2)
    cents = torch.minimum(cents, (cents - 1200).abs())  # the autocorrelation tracker jumps octaves on this vowel
    assert float(cents.median()) < 30.0


def test_unvoiced_frames_are_noise_shaped_like_the_frames() -> None:
    """With voicing 0 the output is noise whose band powers still follow the frames (fricatives)."""
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(1, N_FRAMES * 240, generator=g) * 0.05
    frames = MelFrontend(acoustic_mel(80))(noise).transpose(1, 2)
    out = SourceFilter(acoustic_mel(80))(frames, torch.zeros(1, N_FRAMES), torch.zeros(1, N_FRAMES))
    assert abs(float(out[:, 4800:].std() / noise.std()) - 1.0) < 0.25
