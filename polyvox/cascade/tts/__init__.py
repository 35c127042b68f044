"""Text to speech for the cascade engine: a Piper voice for English, Kokoro-82M where it is intelligible,
espeak-ng elsewhere.

from polyvox.cascade.tts import MultilingualTTS, Prosody
tts = MultilingualTTS()
audio = tts.synthesize("Hello there.", "en")          # (n,) float32 at 24 kHz
for chunk in tts.stream("Hi. How are you?", "en", prosody=Prosody(speed=1.1)):
    ...                                                # one clause at a time
"""

from polyvox.cascade.tts.base import DEFAULT_PROSODY, TTS, Clause, Prosody, split_clauses
from polyvox.cascade.tts.espeak import EspeakConfig, EspeakTTS
from polyvox.cascade.tts.kokoro import VOICES, KokoroConfig, KokoroTTS
from polyvox.cascade.tts.languages import KOKORO_LANGUAGES, UnsupportedLanguageError
from polyvox.cascade.tts.multilingual import MultilingualTTS
from polyvox.cascade.tts.piper import PiperConfig, PiperTTS

__all__ = [
    "DEFAULT_PROSODY",
    "KOKORO_LANGUAGES",
    "TTS",
    "VOICES",
    "Clause",
    "EspeakConfig",
    "EspeakTTS",
    "KokoroConfig",
    "KokoroTTS",
    "MultilingualTTS",
    "PiperConfig",
    "PiperTTS",
    "Prosody",
    "UnsupportedLanguageError",
    "split_clauses",
]
