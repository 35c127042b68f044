"""Route each language to the engine that voices it best: Kokoro where it is intelligible, else espeak-ng."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from polyvox.cascade.tts.base import DEFAULT_PROSODY, TTS, Clause, Prosody
from polyvox.cascade.tts.espeak import EspeakTTS
from polyvox.cascade.tts.kokoro import VOICES, KokoroTTS
from polyvox.cascade.tts.languages import espeak_voice, primary


class MultilingualTTS(TTS):
    """Kokoro for its languages (KOKORO_LANGUAGES), espeak-ng for the rest.

    voice: None (the language's default), a Kokoro style (VOICES; only for Kokoro languages), or an
    espeak-ng variant/voice ("f3", "hi+f3"), which also forces espeak-ng for a Kokoro language.
    Both engines return (n,) float32 at 24 kHz, so callers never see which one spoke.
    """

    def __init__(self, kokoro: KokoroTTS | None = None, espeak: EspeakTTS | None = None) -> None:
        self.kokoro = kokoro or KokoroTTS()
        self.espeak = espeak or EspeakTTS()

    def languages(self) -> tuple[str, ...]:
        return self.espeak.languages()

    def engine_for(self, lang: str, voice: str | None = None) -> TTS:
        """The engine that speaks `lang` (with `voice`); raises for an unknown language or voice."""
        espeak_voice(lang)
        kokoro_lang = primary(lang) in self.kokoro.languages()
        if kokoro_lang and (voice is None or voice in VOICES):
            return self.kokoro
        if voice in VOICES:
            self.kokoro.check(lang, voice)  # a Kokoro voice for a language Kokoro cannot speak
        return self.espeak

    def check(self, lang: str, voice: str | None) -> None:
        self.engine_for(lang, voice).check(lang, voice)

    def render(self, clause: Clause, lang: str, voice: str | None, prosody: Prosody) -> np.ndarray:
        return self.engine_for(lang, voice).render(clause, lang, voice, prosody)

    def stream(
        self, text: str, lang: str, voice: str | None = None, prosody: Prosody = DEFAULT_PROSODY
    ) -> Iterator[np.ndarray]:
        """Chunks from the routed engine: (n_i,) float32 at 24 kHz, one per clause."""
        return self.engine_for(lang, voice).stream(text, lang, voice, prosody)
