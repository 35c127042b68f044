"""Which engine tools to offer the LLM for a given user turn.

Tool schemas cost prompt tokens: offering the three built-ins adds ~300 tokens, which on 2 CPU cores
turned a ~1.3 s first token into 13-23 s (measured, loaded machine), and the 0.5B model then calls
tools for questions that need none ("capital of France" → convert_units). So the engine offers a tool
only when the turn looks like it needs it: multilingual trigger words per built-in, digits for the
calculator, and for user tools the words of their name and description. A client's own tools are
all offered while they fit the context; when they do not (BFCL's multi-turn APIs: 2,600-4,400 tokens
of schemas against the cascade's 2,048-token context), `rank_tools` orders them by the same words so
the likeliest stay.
"""

from __future__ import annotations

import math
import re
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = {"the", "and", "for", "with", "from", "that", "this", "what", "when", "which", "your", "into", "given",
         "return", "returns", "value", "user"}  # fmt: skip

# Built-in tool -> words (any language the ASR hears) that suggest it.
TRIGGERS: dict[str, set[str]] = {
    "calculator": {"plus", "minus", "times", "multiplied", "divided", "percent", "square", "root", "calculate",
                   "sum", "más", "menos", "por", "dividido", "calcula", "fois", "moins", "divisé", "calcule",
                   "mal", "geteilt", "rechne", "जोड़", "गुणा", "भाग", "×", "+", "*", "/"},
    "convert_units": {"convert", "kilometers", "kilometres", "km", "miles", "mile", "celsius", "fahrenheit",
                      "degrees", "pounds", "kilograms", "kg", "lb", "meters", "feet", "inches", "liters", "gallons",
                      "kilómetros", "millas", "grados", "libras", "kilos", "convertir", "kilomètres", "degrés",
                      "kilometer", "meilen", "grad", "pfund", "umrechnen", "किलोमीटर", "मील"},
    "get_time": {"time", "clock", "date", "day", "today", "hora", "fecha", "hoy", "heure", "aujourd",
                 "uhr", "zeit", "datum", "heute", "समय", "बजे", "तारीख"},
    "recall_memory": {"remember", "recall", "know", "my", "name", "recuerdas", "nombre", "souviens", "nom",
                      "erinnerst", "namen", "नाम", "याद"},
    "save_memory": {"remember", "note", "save", "recuerda", "souviens", "merk", "याद"},
}  # fmt: skip


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} | {c for c in text if c in "+*/×"}


def tool_words(schema: dict[str, Any]) -> set[str]:
    """Trigger words for a tool: its built-in list, else words of its name and description."""
    fn = schema.get("function", schema)
    name = str(fn.get("name", ""))
    if name in TRIGGERS:
        return TRIGGERS[name]
    return _content_words(set(name.lower().split("_")) | _words(str(fn.get("description", ""))))


def _content_words(words: set[str]) -> set[str]:
    """The words that can tell tools apart: 4 letters or more, not a stop word."""
    return {w for w in words if len(w) >= 4 and w not in _STOP}


def _stem(word: str) -> str:
    """A light English stem: one of -ing, -ed, -es, -s off ("tweets", "tweeting" -> "tweet"). "files" ->
    "fil" does not meet "file"; dropping a final -e too, so that they meet, kept every needed tool in
    fewer BFCL multi-turn turns (85.4% against 86.5%: "file" is in most file-system tools)."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _name_words(schema: dict[str, Any]) -> set[str]:
    name = str(schema.get("function", schema).get("name", ""))
    return {_stem(w) for w in re.split(r"[_\W]+", name.lower()) if len(w) >= 2}


def _param_words(schema: dict[str, Any]) -> set[str]:
    """Words of a tool's parameter names and descriptions ("tags" and "hashtag" tell post_tweet apart)."""
    props = schema.get("function", schema).get("parameters", {}).get("properties", {}) or {}
    out: set[str] = set()
    for key, spec in props.items():
        out |= set(key.lower().split("_"))
        if isinstance(spec, dict):
            out |= _words(str(spec.get("description", "")))
    return _content_words(out)


NAME_WEIGHT = 3.0  # a word of the tool's name counts as much as three of its description's


def rank_tools(text: str, schemas: list[dict[str, Any]], before: str = "") -> list[dict[str, Any]]:
    """`schemas`, the ones whose words `text` shares most first, then those `before` (the user's previous
    words: "and tomorrow?" follows "the weather in Paris") shares most (ties keep their order): which of
    a client's tools to keep when they do not all fit the LLM's context.

    A tool's words are those of its name, description and parameters; a shared word weighs
    log((tools + 1) / tools that hold it) (words every file-system call mentions, "file", "directory", tell
    them apart less than "sort" or "tweet"), NAME_WEIGHT times more in the tool's name, and words meet on
    their light stems. Over BFCL's 731 multi-turn turns (benchmarks/tool_gate.py) the kept tools hold every
    needed function in 86% of turns (recall 0.87), against 77% (0.77) when ranked by the plain count of
    shared name and description words. Without the parameter words, name weight 1 / 2 / 3 / 5 kept every
    needed function in 80.7 / 83.2 / 83.4 / 83.2% of turns; adding the previous words' score (x0.1-0.6)
    to the turn's own kept fewer (82.9-81.8%).
    """
    names = [_name_words(s) for s in schemas]
    words = [{_stem(w) for w in tool_words(s) | _param_words(s)} | n for s, n in zip(schemas, names, strict=True)]
    df: dict[str, int] = {}
    for ws in words:
        for w in ws:
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((len(schemas) + 1) / n) for w, n in df.items()}

    def score(said: set[str], ws: set[str], name: set[str]) -> float:
        # fsum: exactly rounded whatever the order, so equal scores tie (a set's order changes with the hash seed)
        return math.fsum(idf[w] * (NAME_WEIGHT if w in name else 1.0) for w in said & ws)

    said, prior = {_stem(w) for w in _words(text)}, {_stem(w) for w in _words(before)}
    keys = [(-score(said, ws, n), -score(prior, ws, n), i) for i, (ws, n) in enumerate(zip(words, names, strict=True))]
    return [schemas[k[2]] for k in sorted(keys)]


def select_tools(user_text: str, schemas: list[dict[str, Any]], limit: int = 2) -> list[dict[str, Any]]:
    """The engine tools worth offering for `user_text` (best first, at most `limit`)."""
    said = _words(user_text)
    has_digits = any(ch.isdigit() for ch in user_text)
    scored = []
    for i, s in enumerate(schemas):
        name = str(s.get("function", s).get("name", ""))
        hits = len(said & tool_words(s))
        if name == "calculator" and has_digits and hits == 0 and not (said & TRIGGERS["convert_units"]):
            hits = 1 if len(re.findall(r"\d+", user_text)) >= 2 else 0
        if hits:
            scored.append((-hits, i, s))
    return [s for _, _, s in sorted(scored)[:limit]]
