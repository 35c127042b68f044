"""Memory retrieval: the user's stored facts and earlier turns nearest in meaning to what they say now.

    memories = store.retrieve("anna", "What's my pet's name?")   # MemoryStore(…, embedder=load_embedder())
    # [Memory(kind="turn", text="My dog is called Rex.", score=0.84, …)]
    memory_text(memories, store.recall("anna"))   # the system-prompt line, most relevant first

Every fact (as a first-person sentence, facts.statement) and every logged user turn has an e5 vector,
stored in its row (written in the row's transaction; rows of older files get one here, lazily). A
query's cosine similarity to each vector ranks them. e5-small's cosines are compressed and depend on
the query: a relevant memory scores 0.81-0.89, but a vague query ("hmm", "tell me a joke") scores
0.80-0.85 against everything. So the floor is on relevance = cosine − the query's mean cosine to
ANCHORS, sentences about nobody in particular. Measured on 14 questions with a stored answer and 14
without (en/es/de/fr): a raw cosine floor of 0.80 finds all 14 answers and 7 false memories; relevance
≥ 0.05 all 14 answers and 1 false memory. Questions the user asked are not memories ("what's my name?"
says nothing about them) and are skipped. Only rows of the given user_id are ever read.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from polyvox.memory.facts import Fact, join_known, phrases

QUOTE_CHARS = 160  # characters of an earlier turn quoted in the system prompt
# Sentences about nobody in particular: a query's mean cosine to them is its baseline (see above).
ANCHORS = (
    "The weather is nice today.", "I went to the shop yesterday.", "It is a long way to the station.",
    "Thank you very much.", "The meeting starts at noon.", "Cats sleep a lot.", "This is a sentence.",
    "Hello, how are you?", "Hace buen tiempo hoy.", "Ich gehe morgen einkaufen.", "Merci beaucoup.",
    "आज मौसम अच्छा है।",
)  # fmt: skip


class Embedder(Protocol):
    """What retrieval needs of polyvox.memory.embed.TextEmbedder."""

    name: str  # tags stored vectors
    dim: int

    def query(self, text: str) -> np.ndarray: ...  # (dim,) unit vector

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...  # (n, dim) unit rows


@dataclass(frozen=True)
class RetrievalOptions:
    """How many memories, how similar, and how much is searched."""

    top_k: int = 3  # memories returned at most
    min_relevance: float = 0.05  # floor on cosine − the query's baseline (relevant: 0.06-0.12, others: < 0.05)
    margin: float = 0.03  # a memory scoring more than this below the best one is left out (near misses)
    max_turns: int = 2000  # newest user turns searched; older ones are not scanned
    backfill: int = 64  # rows without a vector (older databases) embedded per call, newest first (~20 ms each)


@dataclass(frozen=True)
class Memory:
    """One retrieved memory: a stored fact or an earlier user turn, and how near it is to the query."""

    kind: Literal["fact", "turn"]
    text: str  # what was embedded: the fact as a sentence ("My name is Anna."), or the user's words
    score: float  # cosine similarity to the query, -1..1
    relevance: float  # score − the query's mean cosine to ANCHORS: what the floor applies to
    session_id: str | None  # the conversation it comes from
    created_at: float  # unix seconds
    fact: Fact | None = None  # the fact, for kind "fact"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "text": self.text,
            "score": round(self.score, 3),
            "relevance": round(self.relevance, 3),
            "session_id": self.session_id,
        }


@dataclass(frozen=True)
class Candidate:
    """A stored row retrieval may return, with its vector if it has one of the current model."""

    kind: Literal["fact", "turn"]
    row_id: int
    text: str
    vector: np.ndarray | None  # (dim,) float32; None = not embedded yet (or by another model)
    session_id: str | None
    created_at: float
    fact: Fact | None = None


def encode_vector(v: np.ndarray) -> bytes:
    """(dim,) float -> the BLOB stored in a row: little-endian float32."""
    return np.asarray(v, dtype="<f4").tobytes()


def decode_vector(blob: bytes | None, model: str | None, embedder: Embedder) -> np.ndarray | None:
    """A row's BLOB -> (dim,) float32, or None if absent, of another model, or the wrong size."""
    if blob is None or model != embedder.name or len(blob) != 4 * embedder.dim:
        return None
    return np.frombuffer(blob, dtype="<f4")


def is_question(text: str) -> bool:
    t = text.strip()
    return t.endswith(("?", "？", "؟")) or t.startswith("¿")


def load_candidates(
    conn: sqlite3.Connection, user_id: str, embedder: Embedder, options: RetrievalOptions, exclude_session: str | None
) -> list[Candidate]:
    """The user's facts and (newest `max_turns`) user turns, newest first; never another user's rows."""
    from polyvox.memory.facts import statement

    out: list[Candidate] = []
    rows = conn.execute(
        """SELECT id, key, value, confidence, source, session_id, turn, created_at, updated_at, vector, vector_model
           FROM facts WHERE user_id = ? ORDER BY updated_at DESC, id DESC""",
        (user_id,),
    ).fetchall()
    for row_id, *fields, blob, model in rows:
        fact = Fact(*fields)
        vec = decode_vector(blob, model, embedder)
        out.append(Candidate("fact", row_id, statement(fact), vec, fact.session_id, fact.updated_at, fact))
    rows = conn.execute(
        """SELECT id, text, session_id, created_at, vector, vector_model FROM turns
           WHERE user_id = ? AND role = 'user' AND session_id IS NOT ? ORDER BY id DESC LIMIT ?""",
        (user_id, exclude_session, max(options.max_turns, 0)),
    ).fetchall()
    for row_id, text, session_id, created_at, blob, model in rows:
        if text.strip() and not is_question(text):
            out.append(Candidate("turn", row_id, text, decode_vector(blob, model, embedder), session_id, created_at))
    return out


def save_vectors(conn: sqlite3.Connection, user_id: str, done: list[tuple[Candidate, np.ndarray]], model: str) -> None:
    """Store vectors made for rows that had none (a row deleted meanwhile is simply not updated)."""
    for c, v in done:
        table = "facts" if c.kind == "fact" else "turns"
        conn.execute(
            f"UPDATE {table} SET vector = ?, vector_model = ? WHERE id = ? AND user_id = ?",
            (encode_vector(v), model, c.row_id, user_id),
        )


_anchors: dict[str, np.ndarray] = {}
_anchors_lock = threading.Lock()


def baseline(query: np.ndarray, embedder: Embedder) -> float:
    """The query's (dim,) mean cosine to ANCHORS (their vectors are made once per embedder model)."""
    with _anchors_lock:
        if embedder.name not in _anchors:
            _anchors[embedder.name] = embedder.passages(list(ANCHORS))  # (len(ANCHORS), dim)
        anchors = _anchors[embedder.name]
    return float((anchors @ query).mean())


def rank(query: np.ndarray, base: float, candidates: list[Candidate], options: RetrievalOptions) -> list[Memory]:
    """The `top_k` candidates whose relevance (cosine to query (dim,) − base) is at least `min_relevance`
    and within `margin` of the best, best first; a sentence said several times counts once."""
    have = [c for c in candidates if c.vector is not None]
    if not have or options.top_k <= 0:
        return []
    scores = np.stack([c.vector for c in have]) @ query  # (n,) cosine: rows and query are unit vectors
    order = np.argsort(-scores, kind="stable")
    floor = max(options.min_relevance + base, scores[order[0]] - options.margin)
    out: list[Memory] = []
    seen: set[str] = set()
    for i in order:
        if scores[i] < floor or len(out) >= options.top_k:
            break
        c = have[i]
        if (key := " ".join(c.text.lower().split())) in seen:
            continue
        seen.add(key)
        score = float(scores[i])
        out.append(Memory(c.kind, c.text, score, score - base, c.session_id, c.created_at, c.fact))
    return out


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > QUOTE_CHARS:
        text = text[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
    return f'said earlier "{text}"'


def memory_text(memories: list[Memory], facts: list[Fact], max_chars: int = 400) -> str:
    """The system-prompt line: retrieved memories first (best first), then the other facts, within max_chars.

    'Known about the user: said earlier "My dog is called Rex."; name Anna; lives in Berlin.'
    """
    parts: list[str] = []
    used: set[tuple[str, str]] = set()
    sources = {m.fact.source.strip().lower() for m in memories if m.fact is not None and m.fact.source}
    for m in memories:
        if m.fact is not None:
            parts += phrases([m.fact])
            used.add((m.fact.key, m.fact.value.lower()))
        elif m.text.strip().lower() not in sources:  # the turn a retrieved fact was taken from adds nothing
            parts.append(_quote(m.text))
    rest = [f for f in facts if (f.key, f.value.lower()) not in used]
    return join_known(parts + phrases(rest), max_chars)
