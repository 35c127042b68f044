"""Language names for prompts, and the system prompt that keeps replies short, spoken and in language."""

from __future__ import annotations

# ISO 639-1 -> English name (the LLM is told the name). Whisper recognises 99 languages; unknown codes
# fall back to the code itself.
NAMES: dict[str, str] = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "pl": "Polish",
    "cs": "Czech", "ro": "Romanian", "hu": "Hungarian", "el": "Greek", "tr": "Turkish", "ru": "Russian",
    "uk": "Ukrainian", "ar": "Arabic", "he": "Hebrew", "fa": "Persian", "hi": "Hindi", "ur": "Urdu",
    "bn": "Bengali", "ta": "Tamil", "te": "Telugu", "mr": "Marathi", "gu": "Gujarati", "kn": "Kannada",
    "ml": "Malayalam", "pa": "Punjabi", "or": "Odia", "ne": "Nepali", "si": "Sinhala", "ja": "Japanese",
    "zh": "Chinese", "ko": "Korean", "vi": "Vietnamese", "th": "Thai", "id": "Indonesian", "ms": "Malay",
    "sw": "Swahili", "ca": "Catalan", "eu": "Basque", "gl": "Galician", "cy": "Welsh", "ga": "Irish",
}  # fmt: skip


# Languages where the packaged models were measured to fail (benchmarks/languages.py, README "Languages"):
# the turn still runs, and its trace says what to expect and what to change.
WEAK: dict[str, str] = {
    "hi": "Whisper base misreads synthetic Hindi speech and the 0.5B LLM is weak in Hindi",
    "te": "Whisper base did not understand spoken Telugu and the 0.5B LLM answered in the wrong script",
    "kn": "Whisper base did not understand spoken Kannada and the 0.5B LLM answered in the wrong script",
    "ml": "Whisper base did not understand spoken Malayalam and the 0.5B LLM answered in the wrong script",
    "ta": "the 0.5B LLM often answers Tamil in English",
    "bn": "the 0.5B LLM often answers Bengali in English",
    "pa": "the 0.5B LLM answers Punjabi in romanised text",
}


def weak_language_warning(code: str) -> str | None:
    """A one-line warning for a language the packaged models handle poorly (measured), else None."""
    why = WEAK.get(code)
    if why is None:
        return None
    return (
        f"replies in {language_name(code)} are unreliable with the packaged models ({why}); "
        "POLYVOX_ASR_MODEL / POLYVOX_LLM_MODEL take larger models"
    )


def language_name(code: str) -> str:
    return NAMES.get(code, code)


DEFAULT_INSTRUCTIONS = (
    "You are polyvox, a friendly voice assistant. Your words are spoken aloud, so answer in one to three "
    "short sentences of plain speech: no lists, no markdown, no emojis, no code unless asked."
)


# Naming the script helps a small LLM stay in the language (Qwen2.5-0.5B otherwise drifts to English).
SCRIPTS: dict[str, str] = {
    "hi": "Devanagari", "mr": "Devanagari", "ne": "Devanagari", "bn": "Bengali", "ta": "Tamil", "te": "Telugu",
    "gu": "Gujarati", "kn": "Kannada", "ml": "Malayalam", "pa": "Gurmukhi", "or": "Odia", "ru": "Cyrillic",
    "uk": "Cyrillic", "ar": "Arabic", "fa": "Arabic", "ur": "Arabic", "el": "Greek", "he": "Hebrew",
}  # fmt: skip


def system_prompt(language: str, instructions: str | None = None) -> str:
    """The system message: the session's instructions plus the reply-language rule."""
    return f"{instructions or DEFAULT_INSTRUCTIONS} {language_rule(language)}"


def language_rule(language: str) -> str:
    """'Always answer in Hindi, using Devanagari script.'"""
    script = f", using {SCRIPTS[language]} script" if language in SCRIPTS else ""
    return f"Always answer in {language_name(language)}{script}."


# What the assistant says when the answer needs a moment (a tool call): it holds the turn, it does not answer.
FILLERS = {
    "en": "One moment.",
    "es": "Un momento.",
    "fr": "Un instant.",
    "de": "Einen Moment.",
    "it": "Un momento.",
    "pt": "Um momento.",
    "nl": "Een moment.",
    "hi": "एक क्षण।",
    "ja": "少々お待ちください。",
    "zh": "请稍等。",
}


def filler(language: str) -> str:
    """The short "one moment" of `language` (English where none is known)."""
    return FILLERS.get(language, FILLERS["en"])
