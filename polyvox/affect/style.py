"""Emotion out: how the reply should sound (TTS Prosody) and be worded (a system-prompt line).

    style = reply_style(estimate)          # estimate: EmotionEstimate of the user's turn (or None)
    tts.stream(text, lang, prosody=style.prosody)
    system_prompt(lang, base + " " + style.instruction)

Two steps: (1) the reply's target emotion is chosen empathetically from the user's (EMPATHY: a sad,
angry or afraid user gets a calm, warm "trust" voice; joy is shared), unless the caller names one;
(2) its prosody (REPLY_PROSODY) is nudged towards the user's loudness and pace (vocal mirroring),
within MIRROR bounds, and clamped to what sounds natural.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from polyvox.affect.features import ProsodyFeatures
from polyvox.affect.labels import EMOTIONS, NEUTRAL, Emotion
from polyvox.affect.recognizer import EmotionEstimate
from polyvox.cascade.tts.base import Prosody

# The reply's voice per target emotion (vs. neutral: speed x1.0, pitch 0 st, gain 0 dB, 200 ms pauses).
REPLY_PROSODY: dict[str, Prosody] = {
    "neutral": Prosody(speed=1.00, pitch_semitones=0.0, energy_db=0.0, pause_ms=200),
    "joy": Prosody(speed=1.10, pitch_semitones=2.0, energy_db=2.0, pause_ms=160),
    "sadness": Prosody(speed=0.85, pitch_semitones=-1.5, energy_db=-5.0, pause_ms=320),
    "anger": Prosody(speed=1.08, pitch_semitones=0.5, energy_db=4.0, pause_ms=150),
    "fear": Prosody(speed=1.12, pitch_semitones=2.5, energy_db=-2.0, pause_ms=180),
    "surprise": Prosody(speed=1.04, pitch_semitones=3.0, energy_db=2.0, pause_ms=200),
    "disgust": Prosody(speed=0.92, pitch_semitones=-1.5, energy_db=-1.5, pause_ms=260),
    "trust": Prosody(speed=0.93, pitch_semitones=-0.5, energy_db=-2.5, pause_ms=260),
    "anticipation": Prosody(speed=1.06, pitch_semitones=1.0, energy_db=1.0, pause_ms=180),
}

# The user's emotion -> the emotion the reply takes on (empathetic, never mirroring anger or fear).
EMPATHY: dict[str, Emotion] = {
    "neutral": "neutral", "joy": "joy", "sadness": "trust", "anger": "trust", "fear": "trust",
    "surprise": "surprise", "disgust": "neutral", "trust": "trust", "anticipation": "anticipation",
}  # fmt: skip

# The user's emotion -> a line for the LLM's system prompt (English: the prompt's own language).
INSTRUCTIONS: dict[str, str] = {
    "neutral": "",
    "joy": "The user sounds happy: share their joy warmly and keep the energy up.",
    "sadness": "The user sounds sad: be warm and gentle, acknowledge how they feel, and do not rush to fix it.",
    "anger": "The user sounds angry or frustrated: stay calm and respectful, acknowledge the problem, "
    "and be brief and concrete.",
    "fear": "The user sounds worried or afraid: be calm and reassuring, and give clear, simple next steps.",
    "surprise": "The user sounds surprised: acknowledge it and explain clearly what happened.",
    "disgust": "The user sounds put off or disgusted: acknowledge it without judging and stay matter-of-fact.",
    "trust": "The user sounds open and trusting: be warm, honest and dependable.",
    "anticipation": "The user sounds eager and excited about what is coming: match their enthusiasm.",
}


@dataclass(frozen=True)
class MirrorConfig:
    """How far the reply follows the user's loudness and pace, and the limits of any reply prosody."""

    min_confidence: float = 0.35  # a less certain emotion estimate is treated as neutral (chance = 0.11)
    loudness_ref_dbfs: float = -24.0  # a user at this speech level leaves the reply's gain alone
    loudness_follow: float = 0.5  # dB of reply gain per dB the user is above/below the reference
    loudness_max_db: float = 4.0  # mirroring changes the gain by at most this much
    rate_ref_syl_s: float = 4.5  # a user speaking this many syllables/s leaves the reply's speed alone
    rate_follow: float = 0.5  # exponent: reply speed x (user rate / reference) ** rate_follow
    rate_max: float = 0.12  # mirroring changes the speed by at most ±12 %
    speed: tuple[float, float] = (0.75, 1.30)  # final bounds of every reply prosody
    pitch: tuple[float, float] = (-3.0, 4.0)
    energy: tuple[float, float] = (-9.0, 6.0)
    pause: tuple[float, float] = (80.0, 600.0)


MIRROR = MirrorConfig()


@dataclass(frozen=True)
class ReplyStyle:
    """How to deliver one reply."""

    emotion: Emotion  # the reply's target emotion (REPLY_PROSODY key)
    prosody: Prosody  # pass to tts.stream/synthesize; pause_ms also spaces the engine's clause chunks
    instruction: str  # append to the LLM system prompt ("" when the user sounds neutral or unsure)
    user_emotion: Emotion  # what the user's emotion was taken to be (after the confidence gate)


def reply_style(
    user: EmotionEstimate | None,
    user_features: ProsodyFeatures | None = None,
    target: Emotion | None = None,
    config: MirrorConfig = MIRROR,
) -> ReplyStyle:
    """The reply's prosody and instruction for a user turn.

    user: the recogniser's estimate (None: a typed turn, no emotion known). user_features: what to
    mirror (default: user.features; None with user None: no mirroring). target: force the reply's
    emotion (a persona, a test); default EMPATHY[user emotion]. Costs microseconds.
    """
    felt: Emotion = user.label if user is not None and user.confidence >= config.min_confidence else NEUTRAL
    emotion: Emotion = target if target is not None else EMPATHY[felt]
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r}; one of {', '.join(EMOTIONS)}")
    p = REPLY_PROSODY[emotion]
    feats = user_features if user_features is not None else (user.features if user is not None else None)
    if feats is not None and feats.duration_s > 0:
        p = mirror(p, feats, config)
    p = Prosody(
        speed=float(np.clip(p.speed, *config.speed)),
        pitch_semitones=float(np.clip(p.pitch_semitones, *config.pitch)),
        energy_db=float(np.clip(p.energy_db, *config.energy)),
        pause_ms=float(np.clip(p.pause_ms, *config.pause)),
    )
    return ReplyStyle(emotion, p, INSTRUCTIONS[felt], felt)


def mirror(p: Prosody, user: ProsodyFeatures, config: MirrorConfig = MIRROR) -> Prosody:
    """Nudge `p` towards the user's loudness (gain) and pace (speed and pauses), within the config's bounds."""
    gain = config.loudness_follow * (user.loudness_dbfs - config.loudness_ref_dbfs)
    gain = float(np.clip(gain, -config.loudness_max_db, config.loudness_max_db))
    factor = 1.0
    if user.rate_syl_s > 0:
        factor = (user.rate_syl_s / config.rate_ref_syl_s) ** config.rate_follow
        factor = float(np.clip(factor, 1 - config.rate_max, 1 + config.rate_max))
    return replace(p, speed=p.speed * factor, energy_db=p.energy_db + gain, pause_ms=p.pause_ms / factor)
