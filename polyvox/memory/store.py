"""Durable per-user memory in SQLite: facts, a conversation turn log, and speaker profiles.

One file ($POLYVOX_HOME/memory.sqlite3 by default) in WAL mode with synchronous=FULL: every write is
one transaction, so a crash keeps either the whole write or none of it, readers never block the
writer, and several threads or processes may share the file (each operation opens its own
connection and waits up to `busy_timeout_s` for a lock). The schema is versioned with
`PRAGMA user_version` and migrated forward in a transaction; a file from a newer polyvox, a file that
is not a polyvox database, or a corrupt one raises MemoryStoreError and is never modified.

With an `embedder` (polyvox.memory.embed), facts and user turns are written with their e5 vector in the
same transaction, and `retrieve()` finds the memories nearest in meaning to what the user says now.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from polyvox.errors import PolyvoxError
from polyvox.memory.extract import Extractor, extract_facts
from polyvox.memory.facts import SINGLE_VALUED, Fact, clean_fact, describe, statement
from polyvox.memory.retrieve import (
    Embedder,
    Memory,
    RetrievalOptions,
    baseline,
    encode_vector,
    is_question,
    load_candidates,
    rank,
    save_vectors,
)

log = logging.getLogger(__name__)

# Each migration takes the schema from version i to i + 1 (index i). Append only; never edit a shipped one.
MIGRATIONS: list[str] = [
    # 0 → 1: facts and the conversation log
    """
    CREATE TABLE facts (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL COLLATE NOCASE,
        confidence REAL NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        session_id TEXT,
        turn INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (user_id, key, value)
    );
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        turn INTEGER NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        language TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX turns_by_session ON turns (user_id, session_id, turn);
    """,
    # 1 → 2: speaker profiles (a JSON blob per speaker id, written by the speaker tracker)
    """
    CREATE TABLE speakers (
        speaker_id TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 2 → 3: e5 embedding vectors of facts and user turns for retrieval (polyvox.memory.retrieve): float32
    # BLOB + the model that made it; NULL until embedded (rows of older files are embedded on first retrieval)
    """
    ALTER TABLE facts ADD COLUMN vector BLOB;
    ALTER TABLE facts ADD COLUMN vector_model TEXT;
    ALTER TABLE turns ADD COLUMN vector BLOB;
    ALTER TABLE turns ADD COLUMN vector_model TEXT;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
_OUR_TABLES = {"facts", "turns", "speakers"}
MAX_ID = 200  # characters of a user / session / speaker id
MAX_USER_ID = 64  # characters of a user id: ids derived from it ("tracker-<user>") stay within MAX_ID
MAX_TEXT = 10_000  # characters of one logged turn


class MemoryStoreError(PolyvoxError):
    """The memory database cannot be used (corrupt, locked too long, newer schema, unwritable)."""


@dataclass(frozen=True)
class LoggedTurn:
    """One logged conversation item."""

    session_id: str
    turn: int  # position in the session, from 0
    role: str  # user | assistant | tool
    text: str
    language: str | None
    created_at: float  # unix seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "turn": self.turn,
            "role": self.role,
            "text": self.text,
            "language": self.language,
            "created_at": self.created_at,
        }


def default_memory_path() -> Path:
    """$POLYVOX_HOME/memory.sqlite3."""
    from polyvox.models.store import polyvox_home

    return polyvox_home() / "memory.sqlite3"


def _check_id(kind: str, value: str, limit: int = MAX_ID) -> str:
    """The id unchanged, or ValueError: never stripped or folded, so one id always means one user."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"{kind} must be non-empty text of at most {limit} characters, got {value!r:.60}")
    if value != value.strip() or any(not c.isprintable() for c in value):
        raise ValueError(f"{kind} may not start or end with spaces or hold control characters, got {value!r:.60}")
    return value


def check_user_id(value: str) -> str:
    """A user id as given, or ValueError saying what is wrong (empty, over MAX_USER_ID characters, surrounding
    spaces, control characters). Checked once where an id enters (CLI, library calls) and again on use."""
    return _check_id("a user id", value, MAX_USER_ID)


_WORD = re.compile(r"\w+", re.U)
# words in a question that point at a key ("where do I live?" → location), in en/es/fr/de/hi
_KEY_WORDS: dict[str, set[str]] = {
    "name": {"name", "called", "call", "llamo", "nombre", "appelle", "nom", "heiße", "heisse", "नाम"},
    "location": {"live", "lives", "living", "city", "where", "home", "vivo", "vives", "dónde", "ciudad", "habite",
                 "où", "ville", "wohne", "wo", "stadt", "रहता", "रहती", "कहाँ", "शहर"},
    "origin": {"from", "origin", "country", "where", "de", "dónde", "país", "pays", "aus", "land", "कहाँ", "देश"},
    "language": {"language", "speak", "idioma", "lengua", "langue", "sprache", "भाषा"},
    "pace": {"pace", "slow", "fast", "speed", "despacio", "lentement", "langsam", "धीरे"},
    "age": {"age", "old", "years", "edad", "años", "âge", "ans", "alt", "alter", "उम्र"},
    "job": {"job", "work", "profession", "trabajo", "travail", "métier", "beruf", "arbeit", "काम"},
    "likes": {"like", "likes", "love", "favourite", "favorite", "enjoy", "gusta", "aime", "mag", "lieblings", "पसंद"},
    "dislikes": {"dislike", "hate", "odio", "déteste", "hasse", "पसंद"},
}  # fmt: skip


def _score(fact: Fact, words: set[str]) -> int:
    value_words = {w.lower() for w in _WORD.findall(fact.value)}
    return 2 * len(words & value_words) + len(words & _KEY_WORDS.get(fact.key, {fact.key}))


class MemoryStore:
    """Per-user facts, turn log and speaker profiles in one SQLite file; safe across threads and processes."""

    def __init__(
        self, path: str | Path | None = None, busy_timeout_s: float = 5.0, embedder: Embedder | None = None
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_memory_path()
        self.busy_timeout_s = busy_timeout_s
        self.embedder = embedder  # None: no vectors are written and retrieve() finds nothing
        if self.path.is_dir():
            raise MemoryStoreError(f"memory path {self.path} is a folder", "pass a file path, e.g. memory.sqlite3")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise MemoryStoreError(f"cannot create {self.path.parent}: {e}", "check the path and permissions") from e
        self._migrate()

    # -- connection and errors --------------------------------------------------------------------
    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction (BEGIN IMMEDIATE for writes); sqlite errors → MemoryStoreError."""
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise self._error(e) from e
        finally:
            if conn is not None:
                conn.close()

    def _error(self, e: sqlite3.Error) -> MemoryStoreError:
        text = str(e)
        if "locked" in text or "busy" in text:
            return MemoryStoreError(
                f"the memory database {self.path} stayed locked by another process for {self.busy_timeout_s:g} s",
                "close the other polyvox using it, or try again",
            )
        if isinstance(e, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
            return MemoryStoreError(
                f"{self.path} is not a readable memory database ({text}); it was left untouched",
                "move the file aside to start a fresh memory, or pass another --memory path",
            )
        if "unable to open" in text or "readonly" in text:
            return MemoryStoreError(f"cannot open the memory database {self.path} ({text})", "check permissions")
        return MemoryStoreError(f"memory database {self.path}: {text}", "rerun with --debug and report it")

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION (WAL on first use); refuse foreign or newer files untouched."""
        with self._connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version > SCHEMA_VERSION:
            raise MemoryStoreError(
                f"{self.path} was written by a newer polyvox (schema {version}, this one knows {SCHEMA_VERSION})",
                "upgrade polyvox, or pass another --memory path",
            )
        if version == 0 and tables - _OUR_TABLES:
            raise MemoryStoreError(
                f"{self.path} is an SQLite database of something else (tables: {', '.join(sorted(tables))})",
                "pass another --memory path",
            )
        if version < SCHEMA_VERSION:
            try:
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                finally:
                    conn.close()
            except sqlite3.Error as e:
                raise self._error(e) from e
            with self._connect(write=True) as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
                for i in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[i].split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {i + 1}")

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- facts ------------------------------------------------------------------------------------
    def remember(self, user_id: str, facts: Iterable[Fact]) -> list[Fact]:
        """Store facts in one transaction; returns them as stored.

        A single-valued key (name, location, language, …) keeps one value: a new value replaces the old
        one unless the old one was stated with higher confidence. Restating a value refreshes its time.
        Invalid facts raise ValueError before anything is written.
        """
        user_id = check_user_id(user_id)
        cleaned = [clean_fact(f) for f in facts]
        vectors = self._vectors([statement(f) for f in cleaned])
        now = time.time()
        stored: list[Fact] = []
        with self._connect(write=True) as conn:
            for f, (blob, model) in zip(cleaned, vectors, strict=True):
                if f.key in SINGLE_VALUED:
                    row = conn.execute(
                        "SELECT value, confidence FROM facts WHERE user_id = ? AND key = ?", (user_id, f.key)
                    ).fetchone()
                    if row and row[0].lower() != f.value.lower() and row[1] > f.confidence:
                        continue  # a weaker claim does not overwrite a stronger one
                    conn.execute(
                        "DELETE FROM facts WHERE user_id = ? AND key = ? AND value != ?", (user_id, f.key, f.value)
                    )
                conn.execute(
                    """INSERT INTO facts (user_id, key, value, confidence, source, session_id, turn, created_at,
                                          updated_at, vector, vector_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (user_id, key, value) DO UPDATE SET
                           confidence = max(confidence, excluded.confidence), source = excluded.source,
                           session_id = excluded.session_id, turn = excluded.turn, updated_at = excluded.updated_at,
                           vector = COALESCE(excluded.vector, vector),
                           vector_model = COALESCE(excluded.vector_model, vector_model)""",
                    (user_id, f.key, f.value, f.confidence, f.source, f.session_id, f.turn, now, now, blob, model),
                )
                stored.append(Fact(f.key, f.value, f.confidence, f.source, f.session_id, f.turn, now, now))
        return stored

    def learn(
        self,
        user_id: str,
        text: str,
        session_id: str | None = None,
        turn: int | None = None,
        extractor: Extractor | None = None,
    ) -> list[Fact]:
        """Extract facts from one user turn (rules, then `extractor(text)` if given) and remember them.

        The rules win: an extractor's fact is added only for keys the rules did not fill.
        """
        facts = extract_facts(text, session_id, turn)
        if extractor is not None:
            ruled = {f.key for f in facts}
            known = {(f.key, f.value.lower()) for f in facts}
            for f in extractor(text):
                if (f.key, f.value.lower()) in known or (f.key in SINGLE_VALUED and f.key in ruled):
                    continue
                facts.append(Fact(f.key, f.value, f.confidence, f.source or text[:500], session_id, turn))
        return self.remember(user_id, facts) if facts else []

    def recall(self, user_id: str, query: str | None = None, limit: int = 20) -> list[Fact]:
        """The user's facts, newest first; with `query`, only those matching it, best match first — or all
        the facts when nothing matches.

        A fact matches by key or value words; with an embedder also by meaning, and earlier user turns
        near the query come too, as Fact("said", <their words>, confidence 0.5) (they are not stored facts).
        """
        user_id = check_user_id(user_id)
        with self._connect() as conn:
            rows = conn.execute(
                """SELECT key, value, confidence, source, session_id, turn, created_at, updated_at FROM facts
                   WHERE user_id = ? ORDER BY updated_at DESC, id DESC""",
                (user_id,),
            ).fetchall()
        facts = [Fact(*row) for row in rows]
        if query:
            words = {w.lower() for w in _WORD.findall(query)}
            found, floor = self._by_meaning(user_id, query, len(facts) + limit)
            near = {(m.fact.key, m.fact.value.lower()): m.relevance - floor for m in found if m.fact is not None}
            # a key word counts 1, a value word 2; meaning adds 20 x its relevance above the floor (0.05 = 1 word)
            scored = [(_score(f, words) + 20 * near.get((f.key, f.value.lower()), 0.0), f) for f in facts]
            scored += [
                (
                    20 * (m.relevance - floor),
                    Fact("said", m.text, 0.5, m.text, m.session_id, None, m.created_at, m.created_at),
                )
                for m in found
                if m.kind == "turn"
            ]
            if any(s > 0 for s, _ in scored):
                facts = [f for s, f in sorted(scored, key=lambda t: -t[0]) if s > 0]  # stable: newest first on ties
        return facts[: max(limit, 0)]

    def _by_meaning(self, user_id: str, query: str, k: int) -> tuple[list[Memory], float]:
        """(up to k memories at or above the relevance floor, no margin; the floor); [] without an embedder."""
        options = RetrievalOptions(top_k=k, margin=1.0)
        if self.embedder is None:
            return [], options.min_relevance
        try:
            return self.retrieve(user_id, query, options), options.min_relevance
        except (PolyvoxError, ValueError) as e:
            log.warning("recall by meaning off: %s", e)
            return [], options.min_relevance

    def retrieve(
        self,
        user_id: str,
        text: str,
        options: RetrievalOptions | None = None,
        exclude_session: str | None = None,
    ) -> list[Memory]:
        """The user's memories (facts and earlier user turns) nearest in meaning to `text`,
        best first, at most `top_k`, each at least `min_relevance`. Turns of `exclude_session` (the
        current conversation, already in the LLM's history) are left out. Needs an embedder ([] without);
        rows without a vector are embedded now (up to `backfill`) and keep it. Never reads another user's rows.
        """
        user_id = check_user_id(user_id)
        options = options or RetrievalOptions()
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        if self.embedder is None or not text.strip():
            return []
        query = self.embedder.query(text)  # (dim,)
        with self._connect() as conn:
            candidates = load_candidates(conn, user_id, self.embedder, options, exclude_session)
        missing = [c for c in candidates if c.vector is None][: max(options.backfill, 0)]
        if missing:
            vectors = self.embedder.passages([c.text for c in missing])  # (m, dim)
            with self._connect(write=True) as conn:
                save_vectors(conn, user_id, list(zip(missing, vectors, strict=True)), self.embedder.name)
            filled = {(c.kind, c.row_id): v for c, v in zip(missing, vectors, strict=True)}
            candidates = [
                replace(c, vector=filled[(c.kind, c.row_id)]) if (c.kind, c.row_id) in filled else c for c in candidates
            ]
        return rank(query, baseline(query, self.embedder), candidates, options)

    def _vectors(self, texts: list[str]) -> list[tuple[bytes | None, str | None]]:
        """(vector BLOB, model) per text for rows about to be written; (None, None) without an embedder or if
        it fails (the row is still written, and embedded lazily later)."""
        if self.embedder is None or not texts:
            return [(None, None)] * len(texts)
        try:
            vectors = self.embedder.passages(texts)  # (n, dim)
        except (PolyvoxError, ValueError) as e:
            log.warning("memory stored without vectors: %s", e)
            return [(None, None)] * len(texts)
        return [(encode_vector(v), self.embedder.name) for v in vectors]

    def context_text(self, user_id: str, max_chars: int = 400) -> str:
        """A line for the system prompt: 'Known about the user: name Anna; lives in Berlin; prefers Spanish.'"""
        return describe(self.recall(user_id, limit=50), max_chars)

    def forget(self, user_id: str, key: str | None = None) -> int:
        """Delete one key's facts, or (key=None) everything stored about the user incl. the turn log; returns
        the number of rows deleted."""
        user_id = check_user_id(user_id)
        with self._connect(write=True) as conn:
            if key is not None:
                return conn.execute(
                    "DELETE FROM facts WHERE user_id = ? AND key = ?", (user_id, key.strip().lower())
                ).rowcount
            n = conn.execute("DELETE FROM facts WHERE user_id = ?", (user_id,)).rowcount
            return n + conn.execute("DELETE FROM turns WHERE user_id = ?", (user_id,)).rowcount

    def users(self) -> list[str]:
        """Every user id with facts or logged turns."""
        with self._connect() as conn:
            rows = conn.execute("SELECT user_id FROM facts UNION SELECT user_id FROM turns ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def export(self, user_id: str) -> dict[str, Any]:
        """Everything stored about a user, as plain JSON-ready data."""
        user_id = check_user_id(user_id)
        return {
            "user_id": user_id,
            "schema_version": SCHEMA_VERSION,
            "exported_at": time.time(),
            "facts": [f.as_dict() for f in self.recall(user_id, limit=10_000)],
            "turns": [t.as_dict() for t in self.turns(user_id, limit=100_000)],
        }

    # -- conversation log -------------------------------------------------------------------------
    def log_turn(self, user_id: str, session_id: str, role: str, text: str, language: str | None = None) -> int:
        """Append one item to the session's log; returns its position in the session."""
        user_id, session_id = check_user_id(user_id), _check_id("session_id", session_id)
        if role not in ("user", "assistant", "tool", "system"):
            raise ValueError(f"role must be user, assistant, tool or system, got {role!r}")
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        text = text[:MAX_TEXT]
        embed = role == "user" and bool(text.strip()) and not is_question(text)
        ((blob, model),) = self._vectors([text]) if embed else [(None, None)]
        with self._connect(write=True) as conn:
            turn = conn.execute(
                "SELECT COALESCE(MAX(turn) + 1, 0) FROM turns WHERE user_id = ? AND session_id = ?",
                (user_id, session_id),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO turns (user_id, session_id, turn, role, text, language, created_at, vector, vector_model) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, session_id, turn, role, text, language, time.time(), blob, model),
            )
        return int(turn)

    def turns(self, user_id: str, session_id: str | None = None, limit: int = 50) -> list[LoggedTurn]:
        """The last `limit` logged items of a session (or of all the user's sessions), oldest first."""
        user_id = check_user_id(user_id)
        where, params = "user_id = ?", [user_id]
        if session_id is not None:
            where, params = "user_id = ? AND session_id = ?", [user_id, session_id]
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT session_id, turn, role, text, language, created_at FROM turns WHERE {where} "
                "ORDER BY id DESC LIMIT ?",
                (*params, max(limit, 0)),
            ).fetchall()
        return [LoggedTurn(*row) for row in reversed(rows)]

    # -- speaker profiles -------------------------------------------------------------------------
    def save_speaker(self, speaker_id: str, profile: dict[str, Any]) -> None:
        """Store (replace) a speaker's profile; it must be JSON-serialisable (checked before writing)."""
        speaker_id = _check_id("speaker_id", speaker_id)
        if not isinstance(profile, dict):
            raise ValueError(f"a speaker profile must be a dict, got {type(profile).__name__}")
        try:
            blob = json.dumps(profile, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"the speaker profile is not JSON-serialisable: {e}") from e
        with self._connect(write=True) as conn:
            conn.execute(
                "INSERT INTO speakers (speaker_id, profile, updated_at) VALUES (?, ?, ?) ON CONFLICT (speaker_id) "
                "DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
                (speaker_id, blob, time.time()),
            )

    def load_speaker(self, speaker_id: str) -> dict[str, Any] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT profile FROM speakers WHERE speaker_id = ?", (speaker_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def speakers(self) -> list[str]:
        with self._connect() as conn:
            return [r[0] for r in conn.execute("SELECT speaker_id FROM speakers ORDER BY speaker_id")]

    def forget_speaker(self, speaker_id: str) -> bool:
        with self._connect(write=True) as conn:
            return conn.execute("DELETE FROM speakers WHERE speaker_id = ?", (speaker_id,)).rowcount > 0
