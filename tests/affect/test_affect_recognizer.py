"""The shipped emotion model on a tiny held-out set: unseen voices and sentences, rendered here."""

from __future__ import annotations

import numpy as np
import pytest

from polyvox.affect import EMOTIONS, EmotionRecognizer, ProsodyBaseline
from polyvox.affect.corpus import plan, render
from polyvox.affect.recognizer import default_model_path

CHANCE = 1 / len(EMOTIONS)


@pytest.fixture(scope="module")
def recognizer() -> EmotionRecognizer:
    return EmotionRecognizer()


@pytest.fixture(scope="module")
def heldout(recognizer):
    """36 utterances: held-out espeak-ng voices f3 and m7 in en and de, all 9 emotions, test sentences."""
    rs = [r for r in plan() if r.split == "test" and r.engine == "espeak" and r.voice in ("f3", "m7")
          and r.language in ("en", "de")]  # fmt: skip
    feats = [recognizer.predict(render(r), "", r.language).features for r in rs]
    return rs, feats


def accuracy(recognizer, rs, feats, words: bool, speaker_baseline: bool) -> float:
    hits = 0
    for i, (r, f) in enumerate(zip(rs, feats, strict=True)):
        base = None
        if speaker_baseline:  # the speaker's other turns, as a running ProsodyBaseline would hold them
            b = ProsodyBaseline()
            for j, g in enumerate(feats):
                if j != i and rs[j].speaker == r.speaker:
                    b.update(g)
            base = b.mean
        est = recognizer.predict_features(f, r.text if words else "", r.language, base)
        hits += est.label == r.emotion
    return hits / len(rs)


def test_model_is_small_and_reports_its_metrics(recognizer):
    assert default_model_path().stat().st_size < 1_000_000
    assert recognizer.metrics["prosody+words"]["test_speaker_baseline"] > 3 * CHANCE


def test_beats_chance_by_a_wide_margin(recognizer, heldout):
    rs, feats = heldout
    assert len(rs) == 36
    assert accuracy(recognizer, rs, feats, words=True, speaker_baseline=True) >= 4 * CHANCE
    assert accuracy(recognizer, rs, feats, words=False, speaker_baseline=True) >= 3 * CHANCE
    assert accuracy(recognizer, rs, feats, words=True, speaker_baseline=False) >= 2.5 * CHANCE


def test_estimate_shape(recognizer, heldout):
    rs, _ = heldout
    est = recognizer.predict(render(rs[0]), rs[0].text, rs[0].language)
    assert est.label in EMOTIONS and est.source == "prosody+words"
    assert sum(est.probs.values()) == pytest.approx(1.0) and est.confidence == max(est.probs.values())
    assert est.as_trace()["label"] == est.label
    silent = recognizer.predict(np.zeros(16_000, np.float32), "", "en")
    assert silent.label == "neutral" and silent.source == "prosody"
