"""Shared fixtures: spoken test audio generated with espeak-ng, and the loaded cascade engine (once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from polyvox.audio import SAMPLE_RATE, load_audio


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def _say(speech_dir: Path, text: str, voice: str, name: str) -> Path:
    from polyvox.samples import espeak_wav

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return espeak_wav(text, speech_dir / f"{name}.wav", voice=voice, speed=140)


@pytest.fixture(scope="session")
def say(speech_dir: Path):
    """say(text, voice="en-us") -> path of a wav of espeak-ng speaking text."""
    counter = iter(range(10_000))

    def _f(text: str, voice: str = "en-us") -> Path:
        return _say(speech_dir, text, voice, f"s{next(counter)}")

    return _f


@pytest.fixture(scope="session")
def say16k(say):
    """say16k(text, voice) -> (n,) float32 at 16 kHz."""

    def _f(text: str, voice: str = "en-us") -> np.ndarray:
        return load_audio(say(text, voice), SAMPLE_RATE).samples

    return _f


@pytest.fixture(scope="session")
def cascade():
    """The real cascade engine, loaded once for the whole run."""
    from polyvox.cascade.engine import CascadeEngine

    return CascadeEngine()
