"""The SQLite memory store: persistence, recall, forget/export, concurrency, migrations, and bad files."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from polyvox.memory import Fact, MemoryStore, MemoryStoreError, default_memory_path
from polyvox.memory.store import MIGRATIONS, SCHEMA_VERSION


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "memory.sqlite3"


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path))
    assert default_memory_path() == tmp_path / "memory.sqlite3"
    assert MemoryStore().path == tmp_path / "memory.sqlite3"


def test_learn_persist_and_recall_in_a_later_session(db: Path):
    store = MemoryStore(db)
    learnt = store.learn("anna", "Hi, my name is Anna and I live in Berlin. I like jazz.", session_id="s1", turn=0)
    assert {(f.key, f.value) for f in learnt} == {("name", "Anna"), ("location", "Berlin"), ("likes", "jazz")}
    store.learn("anna", "Please answer in Spanish. I also like hiking.", session_id="s1", turn=1)

    later = MemoryStore(db)  # a new process / session opens the same file
    assert later.context_text("anna") == (
        "Known about the user: name Anna; lives in Berlin; prefers Spanish; likes hiking, jazz."
    )
    (where,) = later.recall("anna", "where do I live?")[:1]
    assert where.value == "Berlin" and where.session_id == "s1" and where.turn == 0 and where.created_at > 0
    assert later.recall("anna", "what do I like")[0].key == "likes"
    assert len(later.recall("anna", "something unrelated")) == 5  # no match: everything
    assert later.recall("anna", limit=2) and len(later.recall("anna", limit=2)) == 2
    assert later.context_text("nobody") == "" and later.recall("nobody") == []


def test_single_valued_facts_are_replaced_multi_valued_collect(db: Path):
    store = MemoryStore(db)
    store.remember("u", [Fact("location", "Berlin", 0.85), Fact("likes", "jazz")])
    store.remember("u", [Fact("location", "Paris", 0.85), Fact("likes", "tea"), Fact("likes", "JAZZ")])
    facts = {(f.key, f.value) for f in store.recall("u")}
    assert facts == {("location", "Paris"), ("likes", "jazz"), ("likes", "tea")}
    store.remember("u", [Fact("location", "Rome", 0.5)])  # a weaker claim does not overwrite
    assert [f.value for f in store.recall("u", "location") if f.key == "location"] == ["Paris"]


def test_forget_and_export(db: Path):
    store = MemoryStore(db)
    store.learn("u", "My name is Tom. I live in Oslo.", session_id="a")
    store.log_turn("u", "a", "user", "My name is Tom. I live in Oslo.", "en")
    store.log_turn("u", "a", "assistant", "Nice to meet you, Tom.")
    store.remember("v", [Fact("name", "Vera")])
    data = store.export("u")
    json.dumps(data)  # plain JSON
    assert data["user_id"] == "u" and data["schema_version"] == SCHEMA_VERSION
    assert {f["key"] for f in data["facts"]} == {"name", "location"}
    assert [(t["turn"], t["role"]) for t in data["turns"]] == [(0, "user"), (1, "assistant")]
    assert store.users() == ["u", "v"]
    assert store.forget("u", "location") == 1
    assert [f.key for f in store.recall("u")] == ["name"]
    assert store.forget("u") == 3  # the name and two turns
    assert store.export("u")["facts"] == [] and store.turns("u") == []
    assert store.recall("v")[0].value == "Vera"  # other users untouched


def test_turn_log(db: Path):
    store = MemoryStore(db)
    for i in range(5):
        assert store.log_turn("u", "s1", "user" if i % 2 == 0 else "assistant", f"t{i}") == i
    store.log_turn("u", "s2", "user", "other session")
    assert [t.text for t in store.turns("u", "s1", limit=3)] == ["t2", "t3", "t4"]
    assert store.turns("u")[-1].session_id == "s2"
    with pytest.raises(ValueError):
        store.log_turn("u", "s1", "robot", "x")


def test_speaker_profiles(db: Path):
    store = MemoryStore(db)
    store.save_speaker("spk_1", {"embedding": [0.1, 0.2], "name": "Anna", "pitch_hz": 210.0})
    store.save_speaker("spk_1", {"embedding": [0.3], "name": "Anna"})
    assert MemoryStore(db).load_speaker("spk_1") == {"embedding": [0.3], "name": "Anna"}
    assert store.load_speaker("nobody") is None and store.speakers() == ["spk_1"]
    with pytest.raises(ValueError, match="JSON"):
        store.save_speaker("spk_2", {"x": float("nan")})
    assert store.forget_speaker("spk_1") and not store.forget_speaker("spk_1")


def test_bad_input_raises_and_keeps_stored_data(db: Path):
    store = MemoryStore(db)
    store.remember("u", [Fact("name", "Anna")])
    for bad in ([Fact("likes", "tea"), Fact("likes", "   ")], [Fact("", "x")], [Fact("likes", None)]):  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            store.remember("u", bad)
    with pytest.raises(ValueError):
        store.remember("", [Fact("name", "x")])
    assert [(f.key, f.value) for f in store.recall("u")] == [("name", "Anna")]  # nothing half-written
    (f,) = store.remember("u", [Fact("job", "x " * 400, confidence=7.0)])
    assert len(f.value) <= 300 and f.confidence == 1.0
    assert store.learn("u", "Nothing to learn here.") == []


def test_concurrent_writers_from_threads(db: Path):
    store = MemoryStore(db)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            own = MemoryStore(db) if i % 2 else store  # shared and separate instances
            for j in range(15):
                own.remember(f"user{i}", [Fact("likes", f"thing {j}")])
                own.log_turn("shared", "s", "user", f"{i}-{j}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(store.recall(f"user{i}", limit=100)) == 15 for i in range(6))
    turns = store.turns("shared", "s", limit=1000)
    assert sorted(t.turn for t in turns) == list(range(90))  # no duplicate positions


def _process_writer(path: str, i: int) -> None:
    store = MemoryStore(path)
    for j in range(10):
        store.remember("p", [Fact("likes", f"p{i}-{j}")])


def test_concurrent_writers_from_processes(db: Path):
    MemoryStore(db)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(str(db), i)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len(MemoryStore(db).recall("p", limit=100)) == 30


def test_locked_database_gives_a_clear_error(db: Path):
    store = MemoryStore(db, busy_timeout_s=0.2)
    store.remember("u", [Fact("name", "Anna")])
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(MemoryStoreError, match="locked by another process") as e:
            store.remember("u", [Fact("location", "Berlin")])
        assert e.value.hint
        assert store.recall("u")[0].value == "Anna"  # WAL: reading still works while another process writes
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.remember("u", [Fact("location", "Berlin")])


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_corrupt_file_is_refused_and_left_untouched(db: Path, content: bytes):
    db.write_bytes(content)
    with pytest.raises(MemoryStoreError, match="not a readable memory database") as e:
        MemoryStore(db)
    assert "move the file aside" in e.value.hint
    assert db.read_bytes() == content


def test_foreign_and_newer_databases_are_refused(db: Path, tmp_path: Path):
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(MemoryStoreError, match="database of something else"):
        MemoryStore(db)
    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(MemoryStoreError, match="newer polyvox"):
        MemoryStore(newer)
    with pytest.raises(MemoryStoreError, match="is a folder"):
        MemoryStore(tmp_path)


def test_migration_from_schema_1_keeps_data(db: Path):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(MIGRATIONS[0])
    conn.execute(
        "INSERT INTO facts (user_id, key, value, confidence, created_at, updated_at) "
        "VALUES ('u', 'name', 'Old Anna', 0.9, 1, 1)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    store = MemoryStore(db)
    assert store.schema_version == SCHEMA_VERSION
    assert store.recall("u")[0].value == "Old Anna"
    store.save_speaker("s", {"a": 1})  # the table added by migration 2
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
