"""Facts from what the user said: multilingual rule-based patterns, plus an optional LLM extractor.

Rules cover the common statements in English, Spanish, French, German and Hindi: name, where the user
lives / comes from, age, job, preferred reply language, speaking pace, likes and dislikes.

    extract_facts("Hola, me llamo Ana y vivo en Madrid.")
    → [Fact("name", "Ana", 0.9, …), Fact("location", "Madrid", 0.85, …)]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from polyvox.cascade.languages import NAMES
from polyvox.memory.facts import SINGLE_VALUED, Fact

Extractor = Callable[[str], list[Fact]]  # text → facts; the optional LLM step

_V = r"(?P<v>[^.,;:!?¿¡\n]+)"  # a value runs to the next punctuation (trimmed further by kind)
_APOS = "['’]"
_SPRICH, _BITTE = r"(?:sprich|sprechen\s+sie)", r"\s+(?:bitte\s+)?"

# (key, confidence, kind, pattern); kind picks the trimming: name / place / thing / language / pace / number
_RULES: list[tuple[str, float, str, str]] = [
    # name
    ("name", 0.9, "name", rf"\bmy\s+name\s+is\s+{_V}"),
    ("name", 0.85, "cased_name", rf"\bcall\s+me\s+{_V}"),
    ("name", 0.9, "name", rf"\bme\s+llamo\s+{_V}"),
    ("name", 0.9, "name", rf"\bmi\s+nombre\s+es\s+{_V}"),
    ("name", 0.9, "name", rf"\bje\s+m{_APOS}appelle\s+{_V}"),
    ("name", 0.9, "name", rf"\bmon\s+(?:nom|prénom)\s+est\s+{_V}"),
    ("name", 0.9, "name", rf"\bich\s+hei(?:ß|ss)e\s+{_V}"),
    ("name", 0.9, "name", rf"\bmein\s+(?:name|vorname)\s+ist\s+{_V}"),
    ("name", 0.9, "name", r"मेरा\s+नाम\s+(?P<v>.+?)\s*(?:है|हैं|$|[।,.])"),
    # where the user lives
    ("location", 0.85, "place", rf"\bI\s+(?:live|am\s+living|'m\s+living)\s+in\s+{_V}"),
    ("location", 0.85, "place", rf"\b(?:vivo|resido)\s+en\s+{_V}"),
    ("location", 0.85, "place", rf"\b(?:j{_APOS}habite|je\s+vis|je\s+réside)\s+(?:à|a|au|en|dans)?\s*{_V}"),
    ("location", 0.85, "place", rf"\bich\s+(?:wohne|lebe)\s+(?:in|im)\s+{_V}"),
    ("location", 0.85, "place", r"मैं\s+(?P<v>.+?)\s+में\s+रहत[ाीे]\s+(?:हूँ|हूं|हैं)"),
    # where the user comes from
    ("origin", 0.8, "place", rf"\bI(?:\s+am|'m)\s+from\s+{_V}"),
    ("origin", 0.8, "place", rf"\bI\s+come\s+from\s+{_V}"),
    ("origin", 0.8, "place", rf"\bsoy\s+de\s+{_V}"),
    ("origin", 0.8, "place", rf"\bje\s+(?:viens|suis)\s+(?:de|d{_APOS}|du)\s*{_V}"),
    ("origin", 0.8, "place", rf"\bich\s+komme\s+aus\s+{_V}"),
    ("origin", 0.8, "place", r"मैं\s+(?P<v>\S+)\s+से\s+(?:हूँ|हूं)"),
    # age
    ("age", 0.85, "number", r"\bI(?:\s+am|'m)\s+(?P<v>\d{1,3})\s+years?\s+old\b"),
    ("age", 0.85, "number", r"\btengo\s+(?P<v>\d{1,3})\s+años\b"),
    ("age", 0.85, "number", rf"\bj{_APOS}ai\s+(?P<v>\d{{1,3}})\s+ans\b"),
    ("age", 0.85, "number", r"\bich\s+bin\s+(?P<v>\d{1,3})\s+jahre\b"),
    ("age", 0.85, "number", r"(?:मेरी\s+उम्र|मैं)\s+(?P<v>\d{1,3})\s+साल"),
    # job
    ("job", 0.8, "thing", rf"\bI\s+work\s+as\s+(?:an?\s+)?{_V}"),
    ("job", 0.8, "thing", rf"\btrabajo\s+(?:como|de)\s+{_V}"),
    ("job", 0.8, "thing", rf"\bje\s+travaille\s+comme\s+{_V}"),
    ("job", 0.8, "thing", rf"\bich\s+arbeite\s+als\s+{_V}"),
    # preferred language
    ("language", 0.9, "language", r"\b(?:speak|talk|answer|reply|respond)(?:\s+to\s+me)?\s+in\s+(?P<v>\w+)"),
    ("language", 0.9, "language", r"\b(?:I\s+prefer|my\s+(?:preferred|native|first)\s+language\s+is)\s+(?P<v>\w+)"),
    ("language", 0.9, "language", r"\b(?:háblame|habla|respóndeme|responde|contéstame)\s+en\s+(?P<v>\w+)"),
    ("language", 0.9, "language", r"\bprefiero\s+(?:el\s+)?(?P<v>\w+)"),
    ("language", 0.9, "language", r"\b(?:parle|parlez|réponds|répondez)(?:-moi)?\s+en\s+(?P<v>\w+)"),
    ("language", 0.9, "language", rf"\bje\s+préfère\s+(?:le\s+|l{_APOS})?(?P<v>\w+)"),
    ("language", 0.9, "language", rf"\b(?:{_SPRICH}|antworte){_BITTE}(?:mit\s+mir\s+)?auf\s+(?P<v>\w+)"),
    ("language", 0.9, "language", rf"\b{_SPRICH}{_BITTE}(?:mit\s+mir\s+)?(?P<v>deutsch|englisch)"),
    ("language", 0.9, "language", r"(?P<v>\S+)\s+में\s+(?:बात\s+कर|बोल|जवाब\s+द)"),
    # speaking pace
    ("pace", 0.85, "pace", r"\b(?:speak|talk)\s+(?:a\s+\w+\s+)?(?P<v>slower|faster|more\s+(?:slowly|quickly))"),
    ("pace", 0.85, "pace", r"\b(?P<v>slow\s+down)\b"),
    ("pace", 0.85, "pace", r"\bh[aá]bla(?:me)?\s+(?:un\s+poco\s+)?(?P<v>más\s+(?:despacio|lento|rápido)|despacio)"),
    ("pace", 0.85, "pace", r"\bparle(?:z)?(?:-moi)?\s+(?:un\s+peu\s+)?(?P<v>plus\s+lentement|plus\s+vite|lentement)"),
    ("pace", 0.85, "pace", rf"\b{_SPRICH}{_BITTE}(?:etwas\s+)?(?P<v>langsamer|schneller)"),
    ("pace", 0.85, "pace", r"(?P<v>धीरे|तेज़|तेज|जल्दी)\s+(?:बोल|बात)"),
    # dislikes before likes: "no me gusta X" must not also count as "me gusta X"
    ("dislikes", 0.75, "thing", rf"\bI\s+(?:don{_APOS}t|do\s+not)\s+(?:really\s+)?like\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bI\s+(?:hate|dislike|can{_APOS}t\s+stand)\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bno\s+me\s+gustan?\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bodio\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bje\s+n{_APOS}aime\s+pas\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bje\s+déteste\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bich\s+mag\s+(?:keine[nm]?|kein|nicht)\s+{_V}"),
    ("dislikes", 0.75, "thing", rf"\bich\s+hasse\s+{_V}"),
    ("dislikes", 0.75, "thing", r"मुझे\s+(?P<v>.+?)\s+(?:बिल्कुल\s+)?पसंद\s+नहीं"),
    ("likes", 0.75, "thing", rf"\bI\s+(?:really\s+|also\s+)?(?:like|love|enjoy|adore)\s+{_V}"),
    ("likes", 0.75, "thing", rf"(?<!\bno\s)\bme\s+(?:gustan?|encantan?)\s+(?:mucho\s+)?{_V}"),
    ("likes", 0.75, "thing", rf"\bj{_APOS}(?:aime|adore)\s+(?:bien\s+|beaucoup\s+)?{_V}"),
    ("likes", 0.75, "thing", rf"\bich\s+(?:mag|liebe)\s+(?!kein|nicht){_V}"),
    ("likes", 0.75, "thing", r"मुझे\s+(?P<v>.+?)\s+(?:बहुत\s+)?पसंद\s+(?:है|हैं)"),
]  # fmt: skip
_COMPILED = [(key, conf, kind, re.compile(p, re.I)) for key, conf, kind, p in _RULES]

# words that end a value ("Anna and I live…", "Madrid desde 2010", "Berlin seit…")
_STOP = {
    "and", "but", "with", "since", "for", "because", "now", "too", "also", "so", "y", "pero", "con", "desde",
    "porque", "también", "et", "mais", "avec", "depuis", "parce", "aussi", "und", "aber", "mit", "seit", "weil",
    "auch", "और", "लेकिन", "से",
}  # fmt: skip
_ARTICLES = {"the", "a", "an", "el", "la", "los", "las", "un", "una", "le", "les", "l'", "der", "die", "das", "den"}
_CONNECTORS = {"de", "del", "la", "am", "upon", "sur", "on", "da", "do", "dos", "di", "van", "von", "el", "of"}

# language names in en/es/fr/de/hi → ISO 639-1
_LANGUAGES: dict[str, str] = {name.lower(): code for code, name in NAMES.items()}
_LANGUAGES.update({
    "inglés": "en", "ingles": "en", "anglais": "en", "englisch": "en", "अंग्रेज़ी": "en", "अंग्रेजी": "en",
    "español": "es", "espanol": "es", "castellano": "es", "espagnol": "es", "spanisch": "es", "स्पेनिश": "es",
    "francés": "fr", "frances": "fr", "français": "fr", "francais": "fr", "französisch": "fr", "फ़्रेंच": "fr",
    "फ्रेंच": "fr", "alemán": "de", "aleman": "de", "allemand": "de", "deutsch": "de", "जर्मन": "de",
    "hindi": "hi", "हिंदी": "hi", "हिन्दी": "hi", "italiano": "it", "italien": "it", "italienisch": "it",
    "portugués": "pt", "portugais": "pt", "portugiesisch": "pt", "português": "pt", "chino": "zh", "chinois": "zh",
    "chinesisch": "zh", "japonés": "ja", "japonais": "ja", "japanisch": "ja",
})  # fmt: skip
_PACE = {
    "slow": ("slow", "despacio", "lent", "lentement", "langsamer", "धीरे"),
    "fast": ("fast", "quick", "rápido", "vite", "schneller", "तेज़", "तेज", "जल्दी"),
}


def _words_until_stop(value: str, limit: int) -> list[str]:
    words: list[str] = []
    for w in value.split():
        if w.lower() in _STOP or len(words) >= limit:
            break
        words.append(w)
    return words


def _proper(words: list[str], limit: int) -> str:
    """A proper name: capitalised words (with connectors like 'de', 'am' inside), or the first word(s) of
    lower-case text."""
    if not words:
        return ""
    if not words[0][:1].isupper():
        if words[0][:1].isalpha() and words[0][:1].lower() != words[0][:1].upper():  # cased script, lower case
            return " ".join(w.capitalize() for w in words[:1])
        return " ".join(words[:limit])  # uncased scripts (Devanagari): keep what the pattern matched
    out: list[str] = []
    for i, w in enumerate(words[:limit]):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w[:1].isupper() or (w.lower() in _CONNECTORS and nxt[:1].isupper() and out):
            out.append(w)
        else:
            break
    return " ".join(out)


def _trim(kind: str, value: str) -> str | None:
    value = value.strip().strip("\"'“”«»")
    if kind in ("name", "cased_name"):
        words = _words_until_stop(value, 3)
        if kind == "cased_name" and not (words and words[0][:1].isupper()):
            return None  # "call me tomorrow" is not a name
        return _proper(words, 3) or None
    if kind == "place":
        words = _words_until_stop(value, 5)
        while words and words[0].lower() in _ARTICLES:  # "j'habite à la Rochelle" keeps "la" only if capital
            words = words[1:]
        return _proper(words, 5) or None
    if kind == "thing":
        words = _words_until_stop(value, 6)
        while words and words[0].lower() in (*_ARTICLES, "to", "zu"):
            words = words[1:]
        return " ".join(words).lower() if words else None
    if kind == "language":
        return _LANGUAGES.get(value.lower())
    if kind == "pace":
        low = value.lower()
        return next((pace for pace, stems in _PACE.items() if any(s in low for s in stems)), None)
    if kind == "number":
        return value if value.isdigit() and 0 < int(value) < 130 else None
    return value


def extract_facts(text: str, session_id: str | None = None, turn: int | None = None) -> list[Fact]:
    """Facts stated in `text` (one user turn), found by the multilingual rules; [] when none."""
    facts: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    taken: set[int] = set()  # value starts used by an earlier rule: "no me gusta X" is not also "me gusta X"
    for key, confidence, kind, pattern in _COMPILED:
        for m in pattern.finditer(text):
            start = m.start("v")
            if start in taken:
                continue
            value = _trim(kind, m.group("v"))
            if not value or (key, value.lower()) in seen:
                continue
            if key in SINGLE_VALUED and any(f.key == key for f in facts):
                continue  # the first statement of a single-valued fact in a turn wins
            seen.add((key, value.lower()))
            taken.add(start)
            facts.append(Fact(key, value, confidence, text.strip()[:500], session_id, turn))
    return facts


# -- optional LLM extraction ------------------------------------------------------------------------
LLM_KEYS = ("name", "location", "origin", "language", "age", "job", "likes", "dislikes")
_LLM_PROMPT = (
    "Extract personal facts the speaker states about themself. Answer with a JSON list of objects "
    '{"key": ..., "value": ...} where key is one of: ' + ", ".join(LLM_KEYS) + ". "
    "Use ISO 639-1 codes for language. Answer [] if the speaker states no such fact."
)


def llm_extractor(llm: Any, confidence: float = 0.5, max_tokens: int = 96) -> Extractor:
    """An Extractor that asks a chat LLM (e.g. LlamaLLM) for facts; unknown keys and junk are dropped."""

    def extract(text: str) -> list[Fact]:
        messages = [{"role": "system", "content": _LLM_PROMPT}, {"role": "user", "content": text}]
        try:
            reply = llm.chat(messages, max_tokens=max_tokens)
        except Exception:  # an extractor failure must not fail the turn: no facts this time
            return []
        return parse_llm_facts(reply, text, confidence)

    return extract


def parse_llm_facts(reply: str, source: str = "", confidence: float = 0.5) -> list[Fact]:
    """Facts from an LLM's JSON answer (tolerates code fences and text around the list)."""
    start, end = reply.find("["), reply.rfind("]")
    if start < 0 or end <= start:
        return []
    try:
        items = json.loads(reply[start : end + 1])
    except ValueError:
        return []
    facts: list[Fact] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        key, value = str(item.get("key", "")).strip().lower(), str(item.get("value", "")).strip()
        if key not in LLM_KEYS or not value or len(value) > 80:
            continue
        if key == "language":
            value = _LANGUAGES.get(value.lower(), value.lower() if value.lower() in NAMES else "")
            if not value:
                continue
        if value.lower() not in source.lower() and key not in ("language", "age"):
            continue  # the small model invents; keep only values the user actually said
        facts.append(Fact(key, value, confidence, source[:500]))
    return facts
