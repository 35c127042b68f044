"""Which languages polyvox speaks, with which espeak-ng voice, and whether Kokoro voices them.

`KOKORO_LANGUAGES` holds the languages whose Kokoro output (espeak-ng IPA in, see kokoro.py) came
back through a Whisper round trip about as well as, or better than, espeak-ng's own voice; the
measurements are in LANGUAGES.md (regenerate with `python -m polyvox.cascade.tts.survey`).
Every other language in `ESPEAK_VOICES` is voiced by espeak-ng itself.
"""

from __future__ import annotations

from polyvox.errors import PolyvoxError

# ISO 639-1 (or a BCP 47 tag with a region) -> espeak-ng voice name (`espeak-ng --voices`).
# zh uses cmn-latn-pinyin: espeak-ng 1.51's plain "cmn" voice turns hanzi into pinyin and then
# spells that pinyin out as English letters ("N-G-N1..."); the pinyin voice reads it as Mandarin.
ESPEAK_VOICES: dict[str, str] = {
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
    "es": "es",
    "es-419": "es-419",
    "es-mx": "es-419",
    "fr": "fr-fr",
    "de": "de",
    "it": "it",
    "pt": "pt-br",
    "pt-br": "pt-br",
    "pt-pt": "pt",
    "nl": "nl",
    "pl": "pl",
    "ru": "ru",
    "uk": "uk",
    "cs": "cs",
    "sv": "sv",
    "da": "da",
    "nb": "nb",
    "no": "nb",
    "fi": "fi",
    "el": "el",
    "ro": "ro",
    "hu": "hu",
    "tr": "tr",
    "id": "id",
    "ms": "ms",
    "sw": "sw",
    "ca": "ca",
    "bg": "bg",
    "hr": "hr",
    "sk": "sk",
    "eu": "eu",
    "cy": "cy",
    "ga": "ga",
    "ar": "ar",
    "he": "he",
    "fa": "fa",
    "ur": "ur",
    "hi": "hi",
    "bn": "bn",
    "mr": "mr",
    "gu": "gu",
    "pa": "pa",
    "or": "or",
    "ne": "ne",
    "as": "as",
    "ta": "ta",
    "te": "te",
    "kn": "kn",
    "ml": "ml",
    "si": "si",
    "ja": "ja",
    "zh": "cmn-latn-pinyin",
    "zh-cn": "cmn-latn-pinyin",
    "ko": "ko",
    "vi": "vi",
    "th": "th",
}

# Measured: see LANGUAGES.md. Everything else in ESPEAK_VOICES falls back to espeak-ng.
# Rule: Kokoro when its CER <= 0.40 and at most 0.10 above espeak-ng's.
KOKORO_LANGUAGES: frozenset[str] = frozenset(
    {"en", "es", "fr", "it", "pt", "nl", "pl", "ru", "tr", "id", "hi", "bn", "mr", "ta", "kn", "ja", "ko"}
)


class UnsupportedLanguageError(PolyvoxError):
    """No engine here speaks the requested language."""


def normalize(lang: str) -> str:
    """'EN_us' -> 'en-us'; keeps a region only where ESPEAK_VOICES knows it, else the primary tag."""
    tag = lang.strip().lower().replace("_", "-")
    return tag if tag in ESPEAK_VOICES else tag.split("-")[0]


def primary(lang: str) -> str:
    """'en-gb' -> 'en': the key of KOKORO_LANGUAGES and of Whisper's language codes."""
    return normalize(lang).split("-")[0]


def espeak_voice(lang: str, supported: tuple[str, ...] | None = None) -> str:
    """The espeak-ng voice for `lang`, or UnsupportedLanguageError listing what is supported."""
    tag = normalize(lang)
    if tag not in ESPEAK_VOICES or (supported is not None and primary(tag) not in supported):
        codes = supported if supported is not None else sorted({primary(k) for k in ESPEAK_VOICES})
        raise UnsupportedLanguageError(
            f"text-to-speech does not support language '{lang}'",
            f"use an ISO 639-1 code, one of: {', '.join(sorted(codes))}",
        )
    return ESPEAK_VOICES[tag]
