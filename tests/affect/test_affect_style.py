"""Emotion out: the reply style per user emotion, mirroring, and real TTS prosody per target emotion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from polyvox.affect import EMOTIONS, INSTRUCTIONS, REPLY_PROSODY, EmotionEstimate, ProsodyFeatures, reply_style
from polyvox.affect.style import MIRROR


def estimate(label: str, confidence: float = 0.8, features: ProsodyFeatures | None = None) -> EmotionEstimate:
    probs = {e: (confidence if e == label else (1 - confidence) / 8) for e in EMOTIONS}
    return EmotionEstimate(label, confidence, probs, features or ProsodyFeatures.silent(), "prosody+words")


def user(loudness: float, rate: float) -> ProsodyFeatures:
    return dataclasses.replace(ProsodyFeatures.silent(), loudness_dbfs=loudness, rate_syl_s=rate, duration_s=2.0)


def test_every_emotion_has_prosody_and_instruction():
    assert set(REPLY_PROSODY) == set(EMOTIONS) == set(INSTRUCTIONS)
    assert INSTRUCTIONS["neutral"] == "" and all(INSTRUCTIONS[e] for e in EMOTIONS if e != "neutral")


def test_empathetic_targets_and_instructions():
    sad = reply_style(estimate("sadness"))
    assert sad.emotion == "trust" and "gentle" in sad.instruction and sad.user_emotion == "sadness"
    assert sad.prosody.speed < 1.0 and sad.prosody.energy_db < 0
    assert reply_style(estimate("anger")).emotion == "trust"
    assert reply_style(estimate("joy")).emotion == "joy"
    assert reply_style(None).emotion == "neutral" and reply_style(None).instruction == ""


def test_unsure_estimate_is_neutral_and_target_overrides():
    unsure = reply_style(estimate("anger", confidence=0.2))
    assert unsure.user_emotion == "neutral" and unsure.instruction == ""
    forced = reply_style(estimate("sadness"), target="joy")
    assert forced.emotion == "joy" and "sad" in forced.instruction
    with pytest.raises(ValueError):
        reply_style(None, target="bored")  # type: ignore[arg-type]


def test_mirroring_follows_loudness_and_pace_within_bounds():
    loud_fast = reply_style(None, user(MIRROR.loudness_ref_dbfs + 10, MIRROR.rate_ref_syl_s * 1.5))
    quiet_slow = reply_style(None, user(MIRROR.loudness_ref_dbfs - 10, MIRROR.rate_ref_syl_s / 1.5))
    assert loud_fast.prosody.energy_db > quiet_slow.prosody.energy_db
    assert loud_fast.prosody.speed > 1.0 > quiet_slow.prosody.speed
    assert loud_fast.prosody.energy_db <= MIRROR.loudness_max_db
    assert loud_fast.prosody.speed <= 1 + MIRROR.rate_max + 1e-9
    extreme = reply_style(estimate("joy"), user(0.0, 50.0), target="anger")
    assert MIRROR.speed[0] <= extreme.prosody.speed <= MIRROR.speed[1]
    assert MIRROR.energy[0] <= extreme.prosody.energy_db <= MIRROR.energy[1]


@pytest.fixture(scope="module")
def tts():
    from polyvox.cascade.tts import MultilingualTTS

    return MultilingualTTS()


# Kokoro; espeak-ng. Piper (English's default voice) is checked in tests/test_piper.py: its creaky phrase ends
# are tracked as F0 outliers that make the mean F0 asserted here unreliable (3 of 6 renderings kept the order)
@pytest.mark.parametrize(("lang", "voice"), [("en", "jf_nezumi"), ("hi", "f3")])
def test_reply_prosody_differs_per_target_when_rendered(tts, lang, voice):
    text = {"en": "Thank you for telling me about it, I will gladly help you with that.",
            "hi": "मुझे बताने के लिए धन्यवाद। मैं आज आपकी मदद करूँगा।"}[lang]  # fmt: skip
    try:
        m = {e: ProsodyFeatures.from_audio(tts.synthesize(text, lang, voice, REPLY_PROSODY[e]), 24_000)
             for e in ("joy", "sadness", "anger", "neutral")}  # fmt: skip
    except Exception as e:  # a machine without the Kokoro weights
        pytest.skip(f"TTS unavailable: {e}")
    joy, sad, anger, neutral = m["joy"], m["sadness"], m["anger"], m["neutral"]
    assert joy.duration_s < neutral.duration_s < sad.duration_s  # faster joy, slower sadness
    # higher joy, lower sadness (Kokoro applies half the shift: joy +1 st, sadness -0.75 st)
    assert joy.f0_mean_st > neutral.f0_mean_st + 0.5 > sad.f0_mean_st + 0.8
    assert anger.loudness_dbfs > joy.loudness_dbfs > neutral.loudness_dbfs > sad.loudness_dbfs + 3
    assert np.isfinite([joy.rate_syl_s, sad.rate_syl_s]).all()
