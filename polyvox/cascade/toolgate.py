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
    words = set(name.lower().split("_")) | _words(str(fn.get("description", "")))
    return {w for w in words if len(w) >= 4 and w not in _STOP}


def rank_tools(text: str, schemas: list[dict[str, Any]], before: str = "") -> list[dict[str, Any]]:
    """`schemas`, the ones whose words `text` shares most first, then those `before` (the user's previous
    words: "and tomorrow?" follows "the weather in Paris") shares most (ties keep their order): which of
    a client's tools to keep when they do not all fit the LLM's context."""
    said, prior = _words(text), _words(before)
    keys = [(-len(said & (w := tool_words(s))), -len(prior & w), i) for i, s in enumerate(schemas)]
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
