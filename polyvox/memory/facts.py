"""What polyvox remembers about a user: typed facts, and how they read in the LLM's system prompt."""

from __future__ import annotations

from dataclasses import dataclass

from polyvox.cascade.languages import language_name

# Keys with one current value: a newer statement replaces the old one ("I live in Paris" after "… Berlin").
# Every other key (likes, dislikes, topics, custom keys) collects several values.
SINGLE_VALUED = frozenset({"name", "location", "origin", "language", "pace", "age", "job"})

MAX_KEY = 64  # characters
MAX_VALUE = 300  # characters; longer values are cut at a word boundary

# How a key reads in `Known about the user: …` ({} is the value, or the values joined by ", ").
PHRASES: dict[str, str] = {
    "name": "name {}",
    "location": "lives in {}",
    "origin": "is from {}",
    "language": "prefers {}",
    "pace": "wants {} speech",
    "age": "age {}",
    "job": "works as {}",
    "likes": "likes {}",
    "dislikes": "dislikes {}",
    "topics": "interested in {}",
}


@dataclass(frozen=True)
class Fact:
    """One thing known about a user, with where it came from."""

    key: str  # name, location, origin, language (ISO 639-1), pace (slow|fast), age, job, likes, dislikes, …
    value: str
    confidence: float = 0.8  # 0..1: rule-based patterns 0.75-0.9, LLM extraction 0.5, stated by the user 1.0
    source: str = ""  # the user's words the fact was taken from
    session_id: str | None = None  # conversation it was learnt in
    turn: int | None = None  # index of the user turn in that session
    created_at: float = 0.0  # unix seconds, set by the store
    updated_at: float = 0.0  # last time it was stated again (or replaced)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "source": self.source,
            "session_id": self.session_id,
            "turn": self.turn,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def clean_fact(fact: Fact) -> Fact:
    """The fact with a normalised key and a trimmed value; ValueError if it is empty or not text."""
    if not isinstance(fact.key, str) or not isinstance(fact.value, str):
        raise ValueError(f"a fact's key and value must be text, got {fact.key!r}={fact.value!r}")
    key = " ".join(fact.key.strip().lower().split())[:MAX_KEY]
    value = " ".join(fact.value.split())
    if len(value) > MAX_VALUE:
        value = value[:MAX_VALUE].rsplit(" ", 1)[0]
    if not key or not value:
        raise ValueError(f"a fact needs a key and a value, got {fact.key!r}={fact.value!r}")
    confidence = fact.confidence if 0.0 <= fact.confidence <= 1.0 else (1.0 if fact.confidence > 1 else 0.0)
    return Fact(key, value, confidence, fact.source[:500], fact.session_id, fact.turn, fact.created_at, fact.updated_at)


def phrases(facts: list[Fact]) -> list[str]:
    """Facts as prompt phrases, one per key in PHRASES order, values joined: ['name Anna', 'likes jazz, hiking']."""
    values: dict[str, list[str]] = {}
    for f in facts:
        value = language_name(f.value) if f.key == "language" else f.value
        if value not in values.setdefault(f.key, []):
            values[f.key].append(value)
    order = [k for k in PHRASES if k in values] + [k for k in values if k not in PHRASES]
    return [PHRASES.get(k, k + ": {}").format(", ".join(values[k])) for k in order]


def join_known(parts: list[str], max_chars: int = 400) -> str:
    """`Known about the user: a; b; c.` with as many parts, in order, as fit in `max_chars` ('' if none)."""
    text = ""
    for part in parts:
        candidate = f"{text}; {part}" if text else part
        if len("Known about the user: ") + len(candidate) + 1 > max_chars:
            continue  # a long part does not crowd out the shorter ones after it
        text = candidate
    return f"Known about the user: {text}." if text else ""


def describe(facts: list[Fact], max_chars: int = 400) -> str:
    """`Known about the user: name Anna; lives in Berlin; prefers Spanish; likes jazz, hiking.` ('' if none)."""
    return join_known(phrases(facts), max_chars)


# How a fact reads as a sentence of the user's, for embedding: first person, like the questions that look
# for it ("what's my name?" is nearer "My name is Anna." than "name Anna").
STATEMENTS: dict[str, str] = {
    "name": "My name is {}.",
    "location": "I live in {}.",
    "origin": "I am from {}.",
    "language": "My preferred language is {}.",  # not a request: requests ("tell me a joke") would match it
    "pace": "I want {} speech.",
    "age": "I am {} years old.",
    "job": "I work as {}.",
    "likes": "I like {}.",
    "dislikes": "I don't like {}.",
    "topics": "I am interested in {}.",
}


def statement(fact: Fact) -> str:
    """The fact as the user would say it: 'My name is Anna.', 'My favourite colour is blue.'."""
    value = language_name(fact.value) if fact.key == "language" else fact.value
    return STATEMENTS.get(fact.key, "My " + fact.key + " is {}.").format(value)
