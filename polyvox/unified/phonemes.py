"""Inventories shared by every language: IPA phonemes, languages, emotions, special text tokens.

Universal phoneme modelling: the text stream can emit IPA from ONE inventory of code points that covers
what espeak-ng produces (`espeak-ng -q --ipa -v LANG`) for its 100+ languages, so a sound learnt in one
language is the same token in every other. A phoneme is a base letter optionally followed by modifier
tokens (length ː, aspiration ʰ, palatalisation ʲ, nasalisation ◌̃, tone digits ...); keeping modifiers as
separate tokens keeps the inventory small (~190) and lets rare combinations share statistics.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from polyvox.errors import MissingExtraError, PolyvoxError

# Plutchik's 8 basic emotions + neutral: the emotion head's classes and the reply-emotion conditioning.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "joy",
    "sadness",
    "anger",
    "fear",
    "surprise",
    "disgust",
    "trust",
    "anticipation",
)

# espeak-ng's languages (`espeak-ng --voices`, base codes before the first '-'), the language head's classes.
_ESPEAK_LANGUAGES = """af am an ar as az ba be bg bn bpy bs ca chr cmn cs cv cy da de el en eo es et eu fa fi fr ga
gd gn grc gu hak haw he hi hr ht hu hy hyw ia id io is it ja jbo ka kk kl kn ko kok ku ky la lb lfn lt ltg lv mi mk
ml mr ms mt my nb nci ne nl nog om or pa pap piqd pl pt py qdb qu quc qya ro ru sd shn si sjn sk sl smj sq sr
sv sw ta te th tk tn tr tt ug uk ur uz vi yue"""
LANGUAGES: tuple[str, ...] = tuple(_ESPEAK_LANGUAGES.split())

# ISO 639-1 codes whose espeak-ng name differs (Turn.language is ISO 639-1).
LANGUAGE_ALIASES: dict[str, str] = {"zh": "cmn", "no": "nb", "nn": "nb", "iw": "he", "in": "id"}

# Text-stream control tokens (ids follow the base vocabulary).
SPECIAL_TOKENS: tuple[str, ...] = (
    "<pad>",  # nothing to say this step (the text stream runs at 12.5 Hz, words come slower)
    "<bos>",  # start of the stream: the "previous token" of step 0
    "<eot>",  # end of turn: the speaker yields the floor
    "<unk>",  # a byte/phoneme the vocabulary lacks
    "<ipa>",  # the following tokens are IPA phonemes
    "</ipa>",  # back to orthographic text
)

_CONSONANTS = "ɫpbtdʈɖcɟkɡgqɢʔmɱnɳɲŋɴʙrʀⱱɾɽɸβfvθðszʃʒʂʐçʝxɣχʁħʕhɦɬɮʋɹɻjɰlɭʎʟɥʍwʜʢʡɕʑɺɧʘǀǃǂǁɓɗʄɠʛ"
_VOWELS = "iyɨʉɯuɪʏʊeøɘɵɤoəɛœɜɞʌɔæɐaɶɑɒᵻɚɝä"
_LIGATURES = "ʧʤʦʣ"  # affricates espeak-ng writes as one letter
_MODIFIERS = "ːˑʰʲʷˠˤⁿˡʼ˞ʱ̴̩̯̪̺̻̥̬̃̊̈̆̚͜͡"
_SUPRASEGMENTALS = "ˈˌ|‖.‿- "  # stress, prosodic breaks, syllable/linking, hyphen, word boundary
_TONES = "˥˦˧˨˩↗↘1234567"  # Chao tone letters, contour arrows, espeak-ng's tone digits (yue/vi: 6, 7)
_LATIN_FALLBACK = "abcdefghijklmnopqrstuvwxyz"  # espeak-ng spells unknown symbols (duplicates removed below)

IPA_INVENTORY: tuple[str, ...] = tuple(
    dict.fromkeys(_CONSONANTS + _VOWELS + _LIGATURES + _MODIFIERS + _SUPRASEGMENTALS + _TONES + _LATIN_FALLBACK)
)
N_PHONEMES = len(IPA_INVENTORY)


def language_index(code: str | None) -> int | None:
    """'en', 'en-us', 'zh' -> index into LANGUAGES; None -> None; unknown -> PolyvoxError."""
    if code is None:
        return None
    base = code.lower().split("-")[0].split("_")[0]
    base = LANGUAGE_ALIASES.get(base, base)
    if base not in LANGUAGES:
        raise PolyvoxError(
            f"language {code!r} is not one of the model's {len(LANGUAGES)} languages",
            "use an ISO 639-1 code such as en, de, zh",
        )
    return LANGUAGES.index(base)


def emotion_index(name: str | None) -> int | None:
    """'joy' -> index into EMOTIONS; None -> None; unknown -> PolyvoxError."""
    if name is None:
        return None
    if name not in EMOTIONS:
        raise PolyvoxError(f"unknown emotion {name!r}", f"choose one of: {', '.join(EMOTIONS)}")
    return EMOTIONS.index(name)


def phonemize(text: str, language: str = "en") -> str:
    """IPA for `text` from espeak-ng (`-q --ipa`), e.g. 'hello' -> 'həlˈəʊ'. Needs the espeak-ng binary."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingExtraError("phonemization", "unified", "espeak-ng (system package: apt install espeak-ng)")
    voice = LANGUAGES[language_index(language)]  # type: ignore[index]
    out = subprocess.run([exe, "-q", "--ipa", "-v", voice, text], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise PolyvoxError(f"espeak-ng failed for language {voice}: {out.stderr.strip()[:200]}")
    return " ".join(re.sub(r"\([a-z-]+\)", "", out.stdout).split())  # drop "(en)" language-switch marks
