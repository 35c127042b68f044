"""Every streaming module: chunked streaming output == batch output, and no output depends on the future."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close
from unified_helpers import run_chunks, speechlike

from polyvox.unified.attention import CausalSelfAttention
from polyvox.unified.conditioning import Conditioning
from polyvox.unified.config import CONFIGS, CoreConfig
from polyvox.unified.core import ReasoningCore
from polyvox.unified.encoder import AudioEncoder
from polyvox.unified.mel import MelFrontend
from polyvox.unified.pitch import PitchNormalizer
from polyvox.unified.prosody import ProsodyExtractor
from polyvox.unified.streaming import CausalFramer, StreamingConv1d
from polyvox.unified.vocoder import FlowVocoder

TINY = CONFIGS["tiny"]
TOL = {"atol": 2e-5, "rtol": 1e-4}


@pytest.mark.parametrize(("kernel", "stride"), [(3, 1), (4, 2), (5, 3)])
def test_conv_streaming_equals_batch_and_is_causal(kernel: int, stride: int) -> None:
    torch.manual_seed(0)
    conv = StreamingConv1d(3, 5, kernel, stride)
    x = torch.randn(2, 3, 36)
    batch = conv(x)
    assert batch.shape == (2, 5, 36 // stride)
    with conv.streaming(2):
        stream = run_chunks(conv, x, [1, 5, 2, 7])
    assert_close(stream, batch, **TOL)
    y = x.clone()
    y[..., 20:] = torch.randn(2, 3, 16)  # change the future
    assert_close(conv(y)[..., : 20 // stride], batch[..., : 20 // stride])


def test_framer_and_mel_streaming() -> None:
    x = speechlike(4, batch=2)
    framer = CausalFramer(400, 160)
    with framer.streaming(2):
        frames = run_chunks(framer, x, [1280, 100, 333], dim=1)
    assert_close(frames, framer(x))
    mel = MelFrontend(TINY.mel)
    batch = mel(x)
    assert batch.shape == (2, 80, 32)  # 4 chunks × 8 frames
    with mel.streaming(2):
        stream = run_chunks(mel, x, [1280, 640, 17])
    assert_close(stream, batch, **TOL)
    y = x.clone()
    y[:, 2560:] = 0.5
    assert_close(mel(y)[..., :16], batch[..., :16])  # frames before sample 2560 unchanged


def test_mel_frontend_sees_a_tone_in_the_right_band() -> None:
    t = torch.arange(16_000) / 16_000
    mel = MelFrontend(TINY.mel)(torch.sin(2 * torch.pi * 1000 * t)[None])
    peak = mel[0, :, 50].argmax().item()
    assert 24 <= peak <= 28  # Slaney: 1 kHz = 15 of 45.2 mel units (8 kHz) -> band ≈ 26 of 80


def test_prosody_and_pitch_streaming() -> None:
    x = speechlike(5, batch=2)
    pe = ProsodyExtractor(TINY.prosody)
    b = pe(x)
    with pe.streaming(2):
        parts = [pe(c) for c in x.split(1280, dim=1)]
    for name in ("log_f0", "voiced", "energy", "rate"):
        assert_close(torch.cat([getattr(p, name) for p in parts], 1), getattr(b, name), **TOL)
    voiced = b.voiced > 0.5
    f0 = b.log_f0[voiced].exp()
    assert voiced.float().mean() > 0.3 and f0.median() < 260 and f0.median() > 90  # synthetic voice at 90-210 Hz

    pn = PitchNormalizer(TINY.prosody, n_languages=3, d_speaker=4)
    lang = torch.tensor([0, 3])
    batch_z = pn.normalize(b.log_f0, b.voiced, lang)
    with pn.streaming(2):
        stream_z = run_chunks(
            lambda i: pn.normalize(b.log_f0[:, i], b.voiced[:, i], lang),
            torch.arange(b.log_f0.shape[1]),
            [3, 8, 1],
            dim=0,
            out_dim=1,
        )
    assert_close(stream_z, batch_z, **TOL)


def test_pitch_normalisation_removes_the_speaker_register() -> None:
    """The same contour an octave apart normalises to (nearly) the same z-scores once stats settle."""
    pn = PitchNormalizer(TINY.prosody, n_languages=1, d_speaker=4)
    contour = torch.log(torch.tensor(120.0)) + 0.1 * torch.sin(torch.linspace(0, 150, 2000))[None]  # 20 s
    v = torch.ones_like(contour)
    lang = torch.zeros(1, dtype=torch.long)
    low, high = pn.normalize(contour, v, lang), pn.normalize(contour + torch.log(torch.tensor(2.0)), v, lang)
    assert (low[:, -500:] - high[:, -500:]).abs().max() < 0.3
    out = pn.denormalize(low[:, None], lang, torch.zeros(1, 4))
    assert out.shape == (1, 1, 2000)


def test_encoder_streaming_equals_batch() -> None:
    torch.manual_seed(0)
    enc = AudioEncoder(TINY.encoder, 80, 9, 64).eval()
    mel = torch.randn(2, 80, 48)
    cond = Conditioning(speaker=torch.randn(2, 32), emotion=torch.tensor([1, 8]), context=torch.randn(2, 3, 64))
    batch = enc(mel, cond)
    assert batch.shape == (2, 6, 64)
    with enc.streaming(2):
        stream = run_chunks(lambda m: enc(m, cond), mel, [8, 3, 13, 8], out_dim=1)
    assert_close(stream, batch, **TOL)


@pytest.mark.parametrize("sizes", [[1], [3, 1, 4]])
def test_core_streaming_equals_batch(sizes: list[int]) -> None:
    torch.manual_seed(0)
    core = ReasoningCore(TINY.core).eval()
    x, p = torch.randn(2, 11, 64), torch.randn(2, 11, 4)
    batch = core(x, p)
    with core.streaming(2):
        stream = run_chunks(lambda i: core(x[:, i], p[:, i]), torch.arange(11), sizes, dim=0, out_dim=1)
    assert_close(stream, batch, **TOL)


def test_attention_window_and_per_item_reset() -> None:
    torch.manual_seed(0)
    attn = CausalSelfAttention(CoreConfig(d_model=32, n_heads=4, n_kv_heads=2, context=4)).eval()
    x = torch.randn(2, 10, 32)
    batch = attn(x)
    with attn.streaming(2):
        stream = torch.cat([attn(x[:, i : i + 1]) for i in range(10)], 1)
        assert attn.state.keys.shape[2] == 3  # the window keeps context - 1 steps
    assert_close(stream, batch, **TOL)
    with attn.streaming(2):  # item 1 restarts after step 4: it must then match a fresh batch run
        first = torch.cat([attn(x[:, i : i + 1]) for i in range(5)], 1)
        attn.reset_streaming(torch.tensor([False, True]))
        rest = torch.cat([attn(x[:, i : i + 1]) for i in range(5, 10)], 1)
    assert_close(first, batch[:, :5], **TOL)
    assert_close(rest[0], batch[0, 5:], **TOL)
    assert_close(rest[1], attn(x[1:, 5:])[0], **TOL)


def test_vocoder_streaming_equals_batch() -> None:
    torch.manual_seed(0)
    voc = FlowVocoder(TINY.vocoder, d_acoustic=32, d_cond=16, frames_per_step=8).eval()
    N = 24
    frames, f0, voiced = torch.randn(2, N, 32), 5.0 + 0.1 * torch.randn(2, N), torch.randn(2, N)
    style, noise = torch.randn(2, 16), torch.randn(2, N, voc.patch)
    batch = voc(frames, f0, voiced, style, noise)
    assert batch.shape == (2, N * 240)
    with voc.streaming(2):
        stream = run_chunks(
            lambda i: voc(frames[:, i], f0[:, i], voiced[:, i], style, noise[:, i]),
            torch.arange(N),
            [8, 5, 11],
            dim=0,
            out_dim=1,
        )
    assert_close(stream, batch, **TOL)
    loss = voc.flow_loss(frames, f0, voiced, style, batch.detach())
    assert loss.ndim == 0 and torch.isfinite(loss)
