"""Shared by the bench tests: speech I/O without models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from polyvox.bench.speech import Speech, Transcript


class RecordingSpeech(Speech):
    """Prompt audio without a TTS, transcripts without Whisper; remembers the language each reply was heard in."""

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir)
        self.languages: list[str | None] = []

    def render(self, text, language="en", delivery=None):
        return (0.3 * np.sin(np.arange(8000) * 0.1)).astype(np.float32)

    def transcribe(self, audio, sample_rate, language=None):
        self.languages.append(language)
        return Transcript("option a", language or "ja", 1.0)
