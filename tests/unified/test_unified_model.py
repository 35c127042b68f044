"""The whole model: shapes, streaming == batch, causality, gradients, input errors, sampling."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close
from unified_helpers import speechlike, tiny_model

from polyvox.errors import PolyvoxError
from polyvox.unified.conditioning import Conditioning
from polyvox.unified.config import CHUNK_SAMPLES, LISTEN, SPEAK
from polyvox.unified.errors import ModelInputError
from polyvox.unified.sampling import SamplingOptions, TopK, TopP, sample_token

GREEDY = SamplingOptions(temperature=0.0, vocoder_temperature=0.0, vocoder_residual=1.0)  # forward() runs the residual
TOL = {"atol": 2e-5, "rtol": 1e-4}


def _stream(model, audio, cond, mode=SPEAK, sampling=GREEDY):
    """Run `audio` through model.step; -> (tokens (B, T), logits (B, T, V), acoustic (B, T, F, A), audio)."""
    tokens, logits, acoustic, wave = [], [], [], []
    with torch.no_grad(), model.streaming(audio.shape[0]):
        for chunk in audio.split(CHUNK_SAMPLES, dim=1):
            out = model.step(chunk, mode, cond, sampling)
            tokens.append(out.text_token)
            logits.append(out.text_logits)
            acoustic.append(model.state.prev_acoustic)
            wave.append(out.audio)
    return torch.stack(tokens, 1), torch.stack(logits, 1), torch.cat(acoustic, 1), torch.cat(wave, 1)


def test_whole_model_streaming_equals_batch() -> None:
    model = tiny_model()
    audio = speechlike(6, batch=2)
    cond = Conditioning(
        speaker=torch.randn(2, 32),
        emotion=torch.tensor([1, 2]),
        language=torch.tensor([21, 0]),
        context=torch.randn(2, 2, 64),
    )
    tokens, logits, acoustic, wave = _stream(model, audio, cond)
    with torch.no_grad():
        out = model(audio, tokens, acoustic, SPEAK, cond)
    V = model.cfg.core.vocab_size
    assert out.text_logits.shape == (2, 6, V) and out.audio.shape == (2, 6 * 1920)
    assert out.acoustic.frames.shape == (2, 6, 8, 32) and out.log_f0.shape == (2, 6, 8)
    assert out.understanding.emotion.shape == (2, 6, 9) and out.understanding.end_of_turn.shape == (2, 6)
    assert_close(out.text_logits, logits, **TOL)
    assert_close(out.acoustic.frames, acoustic, **TOL)
    assert_close(out.audio, wave, **TOL)


def test_streaming_with_noise_matches_batch_given_the_same_noise() -> None:
    model = tiny_model()
    audio = speechlike(3)
    opts = SamplingOptions(temperature=1.0, vocoder_temperature=1.0, vocoder_residual=1.0, seed=7)
    tokens, _, acoustic, wave = _stream(model, audio, Conditioning(), sampling=opts)
    g = torch.Generator().manual_seed(7)  # replay the stream's draws: one token, then the noise, per step
    noise = []
    for _ in range(3):
        torch.multinomial(torch.ones(1, model.cfg.core.vocab_size), 1, generator=g)
        noise.append(torch.randn(1, 8, 240, generator=g))
    with torch.no_grad():
        out = model(audio, tokens, acoustic, SPEAK, Conditioning(), noise=torch.cat(noise, 1))
    assert_close(out.audio, wave, **TOL)


def test_future_input_never_changes_earlier_outputs() -> None:
    model = tiny_model()
    a = speechlike(5)
    b = a.clone()
    b[:, 3 * CHUNK_SAMPLES :] = torch.randn(1, 2 * CHUNK_SAMPLES) * 0.5
    text = torch.randint(0, 256, (1, 5))
    text_b = text.clone()
    text_b[:, 3:] = 7
    acoustic = torch.randn(1, 5, 8, 32)
    acoustic_b = acoustic.clone()
    acoustic_b[:, 3:] = 0
    with torch.no_grad():
        out_a = model(a, text, acoustic, LISTEN)
        out_b = model(b, text_b, acoustic_b, LISTEN)
    assert_close(out_a.text_logits[:, :3], out_b.text_logits[:, :3])
    assert_close(out_a.audio[:, : 3 * 1920], out_b.audio[:, : 3 * 1920])
    assert_close(out_a.understanding.speaker[:, :3], out_b.understanding.speaker[:, :3])
    assert not torch.allclose(out_a.text_logits[:, 3:], out_b.text_logits[:, 3:])


def test_gradients_reach_every_trainable_parameter() -> None:
    model = tiny_model().train()
    audio = speechlike(3, batch=2)
    cond = Conditioning(speaker=torch.randn(2, 32), emotion=torch.tensor([0, 3]), context=torch.randn(2, 1, 64))
    out = model(
        audio,
        torch.randint(0, 300, (2, 3)),
        torch.randn(2, 3, 8, 32),
        torch.tensor([[0, 1, 1]] * 2),
        cond,
        noise=torch.randn(2, 24, 240),
    )
    u = out.understanding
    loss = (
        out.text_logits.logsumexp(-1).mean()
        + out.audio.square().mean()
        + out.log_f0.mean()
        + u.emotion.logsumexp(-1).mean()
        + u.language.logsumexp(-1).mean()
        + u.speaker[..., 0].mean()
        + u.end_of_turn.mean()
    )
    wave = out.audio.detach()
    style = model.style(cond, 2)
    loss = loss + model.vocoder.flow_loss(
        out.acoustic.frames.flatten(1, 2), out.log_f0.flatten(1), out.acoustic.voiced.flatten(1), style, wave
    )
    plain = model(audio, torch.randint(0, 300, (2, 3)), torch.randn(2, 3, 8, 32))  # unknown speaker etc.
    loss = loss + plain.audio.square().mean() + plain.text_logits.logsumexp(-1).mean()
    loss.backward()
    missing = [
        n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert not missing, f"no gradient: {missing}"


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (torch.zeros(1, CHUNK_SAMPLES, dtype=torch.int16), "dtype"),
        (torch.zeros(1, 0), "empty"),
        (torch.full((1, CHUNK_SAMPLES), float("nan")), "NaN"),
        (torch.zeros(1, 1000), "1280"),
        (torch.zeros(CHUNK_SAMPLES), "batch"),
    ],
)
def test_bad_input_raises_a_clear_polyvox_error(audio: torch.Tensor, match: str) -> None:
    model = tiny_model()
    with model.streaming(1), pytest.raises(ModelInputError, match=match) as e:
        model.step(audio)
    assert isinstance(e.value, PolyvoxError)
    with pytest.raises(ModelInputError, match="multiple of 1280"):
        model(torch.zeros(1, 1500), torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1, 8, 32))


def test_reset_streaming_restarts_one_item() -> None:
    model = tiny_model()
    audio = speechlike(4, batch=2)
    with torch.no_grad(), model.streaming(2):
        for chunk in audio[:, : 2 * CHUNK_SAMPLES].split(CHUNK_SAMPLES, 1):
            model.step(chunk, sampling=GREEDY)
        model.reset_streaming(torch.tensor([False, True]))
        after = [
            model.step(c, sampling=GREEDY).text_logits for c in audio[:, 2 * CHUNK_SAMPLES :].split(CHUNK_SAMPLES, 1)
        ]
    _, fresh, _, _ = _stream(model, audio[1:, 2 * CHUNK_SAMPLES :], Conditioning())
    assert_close(torch.stack(after, 1)[1:], fresh, **TOL)


def test_sampling_filters() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    assert torch.isinf(TopK(2).apply(logits)).tolist() == [[True, True, False, False]]
    # p = [0.03, 0.09, 0.24, 0.64]: the smallest set reaching 0.6 is {3}, reaching 0.7 is {2, 3}
    assert (~torch.isinf(TopP(0.6).apply(logits))).tolist() == [[False, False, False, True]]
    assert (~torch.isinf(TopP(0.7).apply(logits))).tolist() == [[False, False, True, True]]
    g = torch.Generator().manual_seed(0)
    draws = {int(sample_token(logits, SamplingOptions(top_k=1), g)) for _ in range(20)}
    assert draws == {3}
    assert int(sample_token(logits, SamplingOptions(temperature=0))) == 3
