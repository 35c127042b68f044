"""Multiple choice by voice: read the options as lettered replies, find the chosen letter in the answer."""

from __future__ import annotations

import random
import re

LETTERS = "ABCDEFGH"
_NAMED = re.compile(r"\b(?:reply|option|answer|choice|letter|response)\s*(?:is\s*)?\(?([A-H])\b", re.I)
_LEADING = re.compile(r"^\W*\(?([A-H])\)?(?:[.,:!)]|\s*$)")  # "B." / "(A)" / "B" alone
_WORD = re.compile(r"[a-z0-9']+")
# how Whisper writes a spoken letter name after "option" ("option be", "option see")
_SPOKEN_LETTERS = {
    "ay": "A",
    "eh": "A",
    "hey": "A",
    "be": "B",
    "bee": "B",
    "bi": "B",
    "see": "C",
    "sea": "C",
    "si": "C",
    "dee": "D",
    "de": "D",
    "ee": "E",
    "ef": "F",
    "eff": "F",
    "gee": "G",
    "aitch": "H",
}
_SPOKEN = re.compile(r"\b(?:option|answer|choice|letter)\s+(?:is\s+)?(" + "|".join(_SPOKEN_LETTERS) + r")\b", re.I)


def shuffled(options: list[str], key: str) -> list[str]:
    """Options in a fixed pseudo-random order per item (so the right answer is not always first)."""
    order = list(options)
    random.Random(key).shuffle(order)
    return order


def question(stem: str, options: list[str], ask: str = "Which is better?") -> str:
    parts = [stem.strip(), ask]
    parts += [
        f"Option {LETTERS[i]}: {o.strip()}" + ("" if o.strip()[-1:] in ".?!" else ".") for i, o in enumerate(options)
    ]
    names = [f"option {LETTERS[i]}" for i in range(len(options))]
    parts.append(f"Answer by saying {', '.join(names[:-1])} or {names[-1]}.")  # a lone letter is hard to hear
    return " ".join(parts)


def chosen(answer: str, options: list[str]) -> int | None:
    """Index of the option the answer picks: a named letter, a leading letter, else the best word overlap."""
    n = len(options)
    m = _SPOKEN.search(answer)
    if m and LETTERS.index(_SPOKEN_LETTERS[m.group(1).lower()]) < n:
        return LETTERS.index(_SPOKEN_LETTERS[m.group(1).lower()])
    for rx in (_NAMED, _LEADING):
        m = rx.search(answer.strip())
        if m and LETTERS.index(m.group(1).upper()) < n:
            return LETTERS.index(m.group(1).upper())
    said = set(_WORD.findall(answer.lower()))
    if not said:
        return None
    overlaps = []
    for o in options:
        words = set(_WORD.findall(o.lower()))
        overlaps.append(len(words & said) / max(1, len(words)))
    best = max(range(n), key=overlaps.__getitem__)
    ranked = sorted(overlaps, reverse=True)
    return best if ranked[0] >= 0.5 and (n == 1 or ranked[0] - ranked[1] >= 0.2) else None
