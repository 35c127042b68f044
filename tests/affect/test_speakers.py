"""Speaker tracking with the real Resemblyzer weights on espeak-ng voices (no mocks)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyvox.errors import ModelError
from polyvox.speakers import SpeakerEncoder, SpeakerTracker, TrackerConfig
from polyvox.speakers.encoder import mel_filterbank, mel_spectrogram, partial_slices

# librosa 0.10.2 reference values (librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) and
# librosa.feature.melspectrogram(..., pad_mode="reflect") of a 220 Hz sine), computed once offline.
LIBROSA_MEL0 = [0.0073902, 0.0124045, 0.0050143]  # filter 0, FFT bins 1..3
LIBROSA_SINE_FRAME10 = [0.000353, 0.308545, 1.440759, 0.288816]  # mel bins 0..3 of frame 10
LIBROSA_SINE_SUM = 52.887169


def test_mel_frontend_matches_librosa():
    fb = mel_filterbank()
    assert fb.shape == (40, 201)
    np.testing.assert_allclose(fb[0, 1:4], LIBROSA_MEL0, rtol=1e-4)
    assert np.flatnonzero(fb[0]).tolist() == [1, 2, 3]
    sine = (0.1 * np.sin(2 * np.pi * 220 * np.arange(4000) / 16000)).astype(np.float32)
    mel = mel_spectrogram(sine)
    assert mel.shape == (26, 40)
    np.testing.assert_allclose(mel[10, :4], LIBROSA_SINE_FRAME10, rtol=1e-3, atol=1e-6)
    assert mel.sum() == pytest.approx(LIBROSA_SINE_SUM, rel=1e-4)


def test_partials_cover_the_utterance():
    assert len(partial_slices(8000)) == 1  # shorter than one partial: still one
    s = partial_slices(16000 * 5)
    assert s[0].start == 0 and s[-1].stop * 160 >= 16000 * 4


@pytest.fixture(scope="module")
def voices(say16k):
    """Two turns of espeak-ng en-us+m1 and one of en-us+f3 (different sentences)."""
    try:
        enc = SpeakerEncoder()
        enc.embed(np.zeros(16000, np.float32))
    except ModelError as e:
        pytest.skip(f"speaker encoder weights not installed: {e}")
    a1 = say16k("I took the bus to work this morning, and it was late again.", "en-us+m1")
    a2 = say16k("Can you tell me what the weather will be like tomorrow in Paris?", "en-us+m1")
    b1 = say16k("My sister lives in a small town by the river, near the old bridge.", "en-us+f3")
    return enc, a1, a2, b1


def test_embedding_is_unit_and_voice_specific(voices):
    enc, a1, a2, b1 = voices
    ea1, ea2, eb1 = enc.embed(a1), enc.embed(a2), enc.embed(b1)
    assert ea1.shape == (256,) and ea1.dtype == np.float32
    assert np.linalg.norm(ea1) == pytest.approx(1.0, abs=1e-5)
    assert ea1 @ ea2 > ea1 @ eb1 + 0.1


def test_tracker_separates_and_reidentifies(voices):
    enc, a1, a2, b1 = voices
    tracker = SpeakerTracker(encoder=enc)
    first, second, again = tracker.identify(a1), tracker.identify(b1), tracker.identify(a2)
    assert (first.speaker_id, first.new) == ("speaker_1", True)
    assert (second.speaker_id, second.new) == ("speaker_2", True)
    assert (again.speaker_id, again.new) == ("speaker_1", False)
    assert again.similarity >= tracker.config.threshold > second.similarity or second.new
    assert tracker.profile("speaker_1").turns == 2


def test_round_trip_recognises_a_returning_speaker(voices):
    enc, a1, a2, b1 = voices
    tracker = SpeakerTracker(encoder=enc)
    tracker.identify(a1)
    tracker.identify(b1)
    tracker.profiles[1].name = "Ana"
    saved = json.loads(json.dumps(tracker.to_json()))  # what memory stores
    restored = SpeakerTracker.from_json(saved, encoder=enc)
    assert [p.speaker_id for p in restored.profiles] == ["speaker_1", "speaker_2"]
    assert restored.profiles[1].name == "Ana"
    np.testing.assert_allclose(restored.profiles[0].centroid, tracker.profiles[0].centroid, atol=1e-4)
    match = restored.identify(a2, enroll=False)
    assert match.speaker_id == "speaker_1" and not match.new
    assert len(restored.profiles) == 2


def test_short_turn_and_empty_tracker_do_not_enrol(voices):
    enc, a1, _, _ = voices
    tracker = SpeakerTracker(encoder=enc, config=TrackerConfig(min_seconds=1.0))
    assert tracker.identify(a1, enroll=False).speaker_id == ""
    tracker.identify(a1)
    short = tracker.identify(a1[:8000])  # 0.5 s: matched, never enrolled
    assert short.speaker_id == "speaker_1" and not short.new and tracker.profiles[0].turns == 1
