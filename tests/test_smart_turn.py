"""Smart Turn v3.2 (polyvox.listen.smart_turn): features, loading errors, and the real model on espeak-ng speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from polyvox.audio import SAMPLE_RATE
from polyvox.errors import ModelError
from polyvox.listen import smart_turn
from polyvox.listen.smart_turn import N_FRAMES, N_MELS, N_SAMPLES, SmartTurn, fit_window, log_mel, mel_filters
from polyvox.models import default_store


def test_features_shape_dtype_and_window():
    x = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)  # 1 s
    f = log_mel(x)
    assert f.shape == (N_MELS, N_FRAMES) == (80, 800) and f.dtype == np.float32 and np.isfinite(f).all()
    assert f.max() - f.min() <= 2.0 + 1e-6  # (log10 + 4) / 4 with 8 decades kept below the peak
    w = fit_window(x)
    assert w.shape == (N_SAMPLES,) and not w[:-SAMPLE_RATE].any() and np.array_equal(w[-SAMPLE_RATE:], x)
    long = np.arange(N_SAMPLES + 5, dtype=np.float32)
    assert np.array_equal(fit_window(long), long[5:])  # the last 8 s are kept
    assert log_mel(np.zeros(0, np.float32)).shape == (80, 800)  # nothing heard yet: still a valid input


def test_mel_filters_are_slaney_triangles():
    m = mel_filters()
    assert m.shape == (201, 80) and (m >= 0).all()
    assert (m.sum(axis=0) > 0).all()  # every band hears some bin
    assert np.argmax(m[:, 0]) < np.argmax(m[:, 40]) < np.argmax(m[:, 79])  # rising centre frequencies


def test_features_match_whisper_feature_extractor_if_installed():
    transformers = pytest.importorskip("transformers", reason="transformers not installed (reference only)")
    x = np.random.default_rng(1).normal(0, 0.05, 3 * SAMPLE_RATE).astype(np.float32)
    fe = transformers.WhisperFeatureExtractor(chunk_length=8)
    ref = fe(fit_window(x), sampling_rate=SAMPLE_RATE, return_tensors="np", do_normalize=True).input_features[0]
    np.testing.assert_allclose(log_mel(x), ref, atol=1e-5)


def test_a_missing_model_names_the_repair_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path))
    monkeypatch.delenv("POLYVOX_TURN_MODEL", raising=False)
    with pytest.raises(ModelError, match="not installed") as e:
        SmartTurn.load()
    assert "polyvox setup --model smart-turn-v3.2" in e.value.hint
    with pytest.raises(ModelError, match="not found"):
        SmartTurn.load(tmp_path / "nope.onnx")


def test_a_corrupt_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("onnxruntime")
    d = tmp_path / "models" / smart_turn.MODEL
    d.mkdir(parents=True)
    (d / "smart-turn-v3.2-cpu.onnx").write_bytes(b"not an onnx model")
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path))
    monkeypatch.delenv("POLYVOX_TURN_MODEL", raising=False)
    with pytest.raises(ModelError, match="corrupt") as e:  # the store's sha256 check
        SmartTurn.load()
    assert "--force" in e.value.hint
    with pytest.raises(ModelError, match="cannot load") as e:  # a user's file is not hash-checked: onnxruntime says
        SmartTurn.load(d / "smart-turn-v3.2-cpu.onnx")
    assert "polyvox setup --model smart-turn-v3.2" in e.value.hint


@pytest.fixture(scope="module")
def model() -> SmartTurn:
    try:
        default_store().path(smart_turn.MODEL)
    except ModelError as e:
        pytest.skip(f"Smart Turn is not installed ({e.hint})")
    return SmartTurn.load()


def test_a_complete_sentence_scores_higher_than_one_cut_mid_way(model: SmartTurn, say16k):
    # espeak-ng speech: Smart Turn is sure of these two (measured ~0.98 and ~0.02; on TTS speech it is
    # unsure of many others, see docs/bench_end_of_turn), and they must keep their order
    silence = np.zeros(SAMPLE_RATE // 5, np.float32)  # the 200 ms pause after which the policy asks
    whole, half = (
        say16k("Could you remind me to call my mother tomorrow morning?"),
        say16k("Could you remind me to call my"),
    )
    done = model.complete_probability(np.concatenate([whole, silence]))
    cut = model.complete_probability(np.concatenate([half, silence]))
    assert 0.0 <= cut <= 1.0 and 0.0 <= done <= 1.0
    assert done > 0.5 > cut, (done, cut)


def test_calls_from_several_threads_agree(model: SmartTurn, say16k):
    from concurrent.futures import ThreadPoolExecutor

    audio = say16k("Please set an alarm for half past six tomorrow.")
    alone = model.complete_probability(audio)
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(model.complete_probability, [audio] * 4))
    assert together == [alone] * 4
