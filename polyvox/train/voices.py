"""Voices for the synthetic corpus: speakers (engine + voice + pitch/rate/energy offsets) and emotional prosody.

User turns are spoken by many speakers: espeak-ng voice variants (m1..m7, f1..f5, ...) with their own pitch,
rate and loudness offsets, and Kokoro styles where Kokoro speaks the language. The pools are split so a
held-out set (`split="heldout"`) uses voices and offsets never heard in training. The assistant has one
voice per language; its emotion is rendered by prosody (EMOTION_PROSODY). All audio comes out at 24 kHz.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import numpy as np

from polyvox.cascade.tts.base import Prosody

ESPEAK_VARIANTS = {
    "train": ("m1", "m2", "m3", "m4", "f1", "f3", "klatt"),
    "heldout": ("m5", "m6", "m7", "f4", "f5"),
}
KOKORO_STYLES = {"train": ("jf_alpha", "jm_kumo", "jf_gongitsune"), "heldout": ("jf_nezumi", "jf_tebukuro")}
PITCH_OFFSETS = {"train": (-4.0, -2.0, 0.0, 2.0, 4.0), "heldout": (-3.0, -1.0, 1.0, 3.0)}  # semitones
ASSISTANT_VOICE = "f2"  # espeak-ng variant of the assistant in every language (in no user pool)

# emotion -> (speed ×, pitch semitones, energy dB): the prosodic cues listeners use for each emotion
EMOTION_PROSODY = {
    "neutral": (1.0, 0.0, 0.0),
    "joy": (1.1, 2.0, 2.0),
    "sadness": (0.85, -2.0, -5.0),
    "anger": (1.12, 1.0, 4.0),
    "fear": (1.15, 3.0, -2.0),
    "surprise": (1.05, 4.0, 2.0),
    "disgust": (0.9, -1.0, 1.0),
    "trust": (0.95, -0.5, 0.0),
    "anticipation": (1.05, 1.0, 1.0),
}


@dataclass(frozen=True)
class Speaker:
    engine: str  # "espeak" | "kokoro"
    voice: str  # espeak-ng variant or Kokoro style
    pitch: float  # semitones added to the emotion's pitch
    speed: float  # rate multiplier
    energy_db: float  # loudness offset

    @property
    def id(self) -> str:
        return f"{self.engine}:{self.voice}:{self.pitch:+.0f}:{self.speed:.2f}"


def sample_speaker(rng: random.Random, language: str, split: str, kokoro_share: float) -> Speaker:
    """A random user voice from the `split` pool ("train" | "heldout")."""
    use_kokoro = rng.random() < kokoro_share and kokoro_available() and language in kokoro_languages()
    voice = rng.choice(KOKORO_STYLES[split] if use_kokoro else ESPEAK_VARIANTS[split])
    speed = round(rng.uniform(0.85, 1.15), 2)
    return Speaker(
        "kokoro" if use_kokoro else "espeak",
        voice,
        rng.choice(PITCH_OFFSETS[split]),
        speed,
        round(rng.uniform(-6.0, 2.0), 1),
    )


def assistant_speaker() -> Speaker:
    return Speaker("espeak", ASSISTANT_VOICE, 0.0, 1.0, 0.0)


def prosody_for(speaker: Speaker, emotion: str, rng: random.Random) -> Prosody:
    """The speaker's offsets plus the emotion's cues, with a little jitter (no two turns alike)."""
    speed, pitch, energy = EMOTION_PROSODY[emotion]
    return Prosody(
        speed=speed * speaker.speed * rng.uniform(0.95, 1.05),
        pitch_semitones=pitch + speaker.pitch + rng.uniform(-0.5, 0.5),
        energy_db=energy + speaker.energy_db,
        pause_ms=rng.choice((150.0, 200.0, 250.0)),
    )


@cache
def _espeak():
    from polyvox.cascade.tts.espeak import EspeakTTS

    return EspeakTTS()


@cache
def _kokoro():
    from polyvox.cascade.tts.kokoro import KokoroTTS

    return KokoroTTS()


@cache
def kokoro_available() -> bool:
    try:
        _kokoro().model  # noqa: B018 (loads the ONNX session or raises)
        return True
    except Exception:
        return False


def kokoro_languages() -> tuple[str, ...]:
    return _kokoro().languages()


def render(text: str, language: str, speaker: Speaker, prosody: Prosody) -> np.ndarray:
    """(n,) float32 at 24 kHz, peak-limited to 0.95."""
    tts = _kokoro() if speaker.engine == "kokoro" else _espeak()
    audio = tts.synthesize(text, language, speaker.voice, prosody)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return (audio * (0.95 / peak) if peak > 0.95 else audio).astype(np.float32)
