"""Memory retrieval by meaning: vectors stored with their rows, ranking, user isolation, migration, bad input."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import pytest

from polyvox.memory import Fact, MemoryStore
from polyvox.memory.embed import TextEmbedder, load_embedder
from polyvox.memory.retrieve import RetrievalOptions, memory_text
from polyvox.memory.store import MIGRATIONS, SCHEMA_VERSION

SAID = [
    "My dog is called Rex.",
    "Hello, my name is Anna and I live in Berlin.",
    "Tomorrow I have a dentist appointment at nine.",
    "I'm allergic to peanuts.",
    "I drive an old red Volvo.",
    "What is the capital of Italy?",
]


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return load_embedder()


@pytest.fixture
def store(tmp_path: Path, embedder: TextEmbedder) -> MemoryStore:
    s = MemoryStore(tmp_path / "memory.sqlite3", embedder=embedder)
    for i, text in enumerate(SAID):
        s.learn("anna", text, session_id="s1", turn=i)
        s.log_turn("anna", "s1", "user", text, "en")
        s.log_turn("anna", "s1", "assistant", f"Answer {i}.", "en")
    return s


def _vectors(path: Path) -> list[tuple[str, str, bytes | None, str | None]]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT 'fact', value, vector, vector_model FROM facts").fetchall()
    rows += conn.execute("SELECT role, text, vector, vector_model FROM turns").fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What's my pet's name?", "My dog is called Rex."),
        ("¿Cómo se llama mi perro?", "My dog is called Rex."),
        ("When is my appointment?", "Tomorrow I have a dentist appointment at nine."),
        ("Can I eat this peanut butter cookie?", "I'm allergic to peanuts."),
        ("What car do I have?", "I drive an old red Volvo."),
        ("Where do I live?", "I live in Berlin."),  # the fact, as a sentence, beats the turn it came from
    ],
)
def test_the_most_relevant_memory_comes_first(store: MemoryStore, question: str, expected: str):
    found = store.retrieve("anna", question)
    assert found and found[0].text == expected and found[0].relevance >= 0.05 and found[0].score > 0.8, found
    assert all(a.score >= b.score for a, b in itertools.pairwise(found))
    assert len(found) <= RetrievalOptions().top_k


def test_unrelated_text_and_questions_retrieve_nothing(store: MemoryStore):
    assert store.retrieve("anna", "What's the weather like on Mars?") == []
    found = store.retrieve("anna", "What is the capital of Italy?")  # the user asked it before: not a memory
    assert all("capital" not in m.text for m in found)
    assert store.retrieve("anna", "What's my pet's name?", RetrievalOptions(top_k=0)) == []
    assert store.retrieve("anna", "What's my pet's name?", RetrievalOptions(min_relevance=0.5)) == []
    for vague in ("hmm", "Tell me a joke.", "Good morning!", "Thanks, bye."):
        assert store.retrieve("anna", vague) == [], vague


def test_vectors_are_written_with_their_rows(store: MemoryStore, embedder: TextEmbedder):
    rows = _vectors(store.path)
    facts = [r for r in rows if r[0] == "fact"]
    users = [r for r in rows if r[0] == "user" and not r[1].endswith("?")]
    assert facts and users
    for _, _, blob, model in facts + users:
        assert model == embedder.name and blob is not None and len(blob) == 4 * embedder.dim
    unembedded = {(role, text) for role, text, blob, _ in rows if blob is None}
    assert unembedded == {("user", "What is the capital of Italy?")} | {("assistant", f"Answer {i}.") for i in range(6)}


def test_one_users_memories_never_reach_another(tmp_path: Path, embedder: TextEmbedder):
    s = MemoryStore(tmp_path / "m.sqlite3", embedder=embedder)
    s.log_turn("anna", "a", "user", "My dog is called Rex.")
    s.remember("anna", [Fact("pet", "Rex the dog")])
    s.log_turn("bob", "b", "user", "My cat is called Felix.")
    for question in ("What's my pet's name?", "Rex", "My dog is called Rex."):
        assert all("rex" not in m.text.lower() for m in s.retrieve("bob", question))
        assert all("rex" not in f.value.lower() for f in s.recall("bob", question))
    assert [m.text for m in s.retrieve("bob", "What's my pet's name?")] == ["My cat is called Felix."]
    assert s.retrieve("carol", "What's my pet's name?") == [] and s.recall("carol", "pet") == []
    assert s.retrieve("anna", "What's my pet's name?", exclude_session="a")[0].text == "My pet is Rex the dog."


def test_recall_by_meaning_helps_the_memory_tool(store: MemoryStore):
    store.remember("anna", [Fact("favourite colour", "green", 1.0)])
    first = store.recall("anna", "what is my pet called?")[0]
    assert (first.key, first.value) == ("said", "My dog is called Rex.")
    assert store.recall("anna", "where do I live?")[0].value == "Berlin"  # keyword recall still works
    assert store.recall("anna", "which colour do I like best?")[0].value == "green"
    assert len(store.recall("anna", "zzzz qqqq")) == len(store.recall("anna", limit=100))  # no match: all facts
    plain = MemoryStore(store.path)  # no embedder: the keyword rules alone, stored facts only
    assert all(f.key != "said" for f in plain.recall("anna", "what is my pet called?"))


def test_memory_line_puts_the_relevant_first_within_budget(store: MemoryStore):
    found = store.retrieve("anna", "What's my pet's name?")
    line = memory_text(found, store.recall("anna", limit=50), max_chars=400)
    assert line.startswith('Known about the user: said earlier "My dog is called Rex."') and "name Anna" in line
    assert len(line) <= 400
    short = memory_text(found, store.recall("anna", limit=50), max_chars=60)
    assert "Rex" in short and len(short) <= 60
    huge = [m.__class__(m.kind, "word " * 500, m.score, m.relevance, m.session_id, m.created_at) for m in found]
    assert len(memory_text(huge, [], 400)) <= 400


def test_bad_input(store: MemoryStore):
    assert store.retrieve("anna", "") == [] and store.retrieve("anna", "  \n ") == []
    with pytest.raises(ValueError, match="must be a string"):
        store.retrieve("anna", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="user id"):
        store.retrieve("", "What's my pet's name?")
    t0 = time.perf_counter()
    found = store.retrieve("anna", "my dog Rex " * 100_000)  # ~1 MB of query text
    assert time.perf_counter() - t0 < 5 and found[0].text == "My dog is called Rex."
    n = store.log_turn("anna", "s2", "user", "My sister lives in Lisbon. " * 2000)  # over MAX_TEXT: cut, embedded
    assert n == 0 and store.retrieve("anna", "Where does my sister live?")[0].text.startswith("My sister")
    assert MemoryStore(store.path).retrieve("anna", "What's my pet's name?") == []  # no embedder: nothing


def _version_2_file(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:2]:
        conn.executescript(script)
    conn.execute(
        "INSERT INTO facts (user_id, key, value, confidence, source, created_at, updated_at) "
        "VALUES ('anna', 'name', 'Anna', 0.9, 'My name is Anna.', 1, 1), ('bob', 'location', 'Oslo', 0.9, '', 1, 1)"
    )
    for i, text in enumerate(["My dog is called Rex.", "I play the cello every evening.", "Where is my phone?"]):
        conn.execute(
            "INSERT INTO turns (user_id, session_id, turn, role, text, language, created_at) "
            "VALUES ('anna', 'old', ?, 'user', ?, 'en', ?)",
            (i, text, 1 + i),
        )
    conn.execute("INSERT INTO speakers (speaker_id, profile, updated_at) VALUES ('spk', '{\"a\": 1}', 1)")
    conn.execute("PRAGMA user_version = 2")
    conn.close()


def test_migration_from_a_version_2_file_keeps_everything_and_embeds_lazily(tmp_path: Path, embedder: TextEmbedder):
    db = tmp_path / "v2.sqlite3"
    _version_2_file(db)
    store = MemoryStore(db, embedder=embedder)
    assert store.schema_version == SCHEMA_VERSION == 3
    assert [(f.key, f.value) for f in store.recall("anna")] == [("name", "Anna")]
    assert store.recall("bob")[0].value == "Oslo" and store.load_speaker("spk") == {"a": 1}
    assert [t.text for t in store.turns("anna")][:2] == ["My dog is called Rex.", "I play the cello every evening."]
    assert all(blob is None for _, _, blob, _ in _vectors(db))  # nothing embedded yet
    options = RetrievalOptions(backfill=1)  # one row per call: the newest first
    store.retrieve("anna", "What instrument do I play?", options)
    assert sum(blob is not None for _, _, blob, _ in _vectors(db)) == 1
    found = store.retrieve("anna", "What instrument do I play?")  # the rest are embedded now and kept
    assert found[0].text == "I play the cello every evening."
    rows = _vectors(db)
    assert sum(blob is not None for _, _, blob, _ in rows) == 3  # Anna's name + two statements (not the question)
    assert [r[1] for r in rows if r[2] is None] == ["Oslo", "Where is my phone?"]  # bob's fact untouched
    assert store.retrieve("anna", "What's my pet's name?")[0].text == "My dog is called Rex."
    reopened = MemoryStore(db)  # and without an embedder the file still opens, at version 3
    assert reopened.schema_version == 3 and reopened.recall("anna")[0].value == "Anna"


def test_vectors_of_another_model_are_redone(tmp_path: Path, embedder: TextEmbedder):
    db = tmp_path / "m.sqlite3"
    s = MemoryStore(db, embedder=embedder)
    s.log_turn("anna", "a", "user", "My dog is called Rex.")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE turns SET vector = zeroblob(16), vector_model = 'some-other-model'")
    conn.commit()
    conn.close()
    assert s.retrieve("anna", "What's my pet's name?")[0].text == "My dog is called Rex."
    ((_, _, blob, model),) = _vectors(db)
    assert model == embedder.name and len(blob) == 4 * embedder.dim
