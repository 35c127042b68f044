"""Route each language to the engine that voices it best: Piper for English, Kokoro where it is intelligible,
else espeak-ng."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from polyvox.cascade.tts.base import DEFAULT_PROSODY, TTS, Clause, Prosody
from polyvox.cascade.tts.espeak import EspeakTTS
from polyvox.cascade.tts.kokoro import VOICES, KokoroTTS
from polyvox.cascade.tts.languages import espeak_voice, primary
from polyvox.cascade.tts.piper import PiperTTS
from polyvox.errors import ModelError

log = logging.getLogger(__name__)


class MultilingualTTS(TTS):
    """Piper for its languages (English: the joe voice), Kokoro for KOKORO_LANGUAGES, espeak-ng for the rest.

    voice: None (the language's default), a Piper voice ("joe"), a Kokoro style (VOICES; only for Kokoro
    languages), or an espeak-ng variant/voice ("f3", "hi+f3"), which also forces espeak-ng for a Kokoro
    language. With voice None a Piper voice whose files are missing or corrupt is reported once (the
    one-line error with its repair command) and Kokoro speaks instead. All engines return (n,) float32 at
    24 kHz, so callers never see which one spoke.
    """

    def __init__(
        self,
        kokoro: KokoroTTS | None = None,
        espeak: EspeakTTS | None = None,
        piper: PiperTTS | None = None,
        piper_default: bool = True,  # Piper voices its languages when no voice is named (False: Kokoro does)
    ) -> None:
        self.kokoro = kokoro or KokoroTTS()
        self.espeak = espeak or EspeakTTS()
        self.piper = piper or PiperTTS()
        self.piper_default = piper_default
        self._piper_problem: ModelError | None = None  # why the default Piper voice could not load

    def languages(self) -> tuple[str, ...]:
        return self.espeak.languages()

    def voices(self) -> tuple[str, ...]:
        """Named voices: Piper's, then Kokoro's (espeak-ng variants are accepted too: see EspeakTTS)."""
        return (*self.piper.voices(), *VOICES)

    def _piper_loads(self) -> bool:
        """Whether the Piper voice loads (tried once; a failure is logged as its one-line error)."""
        if self._piper_problem is None:
            try:
                _ = self.piper.voice
                return True
            except ModelError as e:
                self._piper_problem = e
                log.warning("error: %s; English is voiced by Kokoro instead", e)
        return False

    def engine_for(self, lang: str, voice: str | None = None) -> TTS:
        """The engine that speaks `lang` (with `voice`); raises for an unknown language or voice."""
        espeak_voice(lang)
        code = primary(lang)
        if voice is not None and voice in self.piper.voices():
            self.piper.check(lang, voice)  # a Piper voice for a language it cannot speak raises
            return self.piper
        if voice is None and self.piper_default and code in self.piper.languages() and self._piper_loads():
            return self.piper
        kokoro_lang = code in self.kokoro.languages()
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
