"""What the cascade's Understanding takes from memory for a turn: retrieved memories, preferences, fallbacks.

hear() runs here without the ASR/LLM/TTS (typed text, no emotion or speaker models); the real embedder and
SQLite store are used. The whole cascade is exercised in tests/test_conversation.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from polyvox.cascade.understand import Understanding, UnderstandingOptions
from polyvox.engine import Conversation
from polyvox.memory import Fact


@pytest.fixture
def understanding(tmp_path: Path) -> Understanding:
    u = Understanding(UnderstandingOptions(emotion=False, speakers=False, memory_path=str(tmp_path / "m.sqlite3")))
    assert u.embedder is not None and u.problems == []
    return u


def _hear(u: Understanding, user: str, text: str, **kw):
    return u.hear(Conversation(user_id=user), None, text, kw.pop("language", "en"), **kw)


def test_retrieved_memories_lead_the_memory_line(understanding: Understanding):
    mem = understanding.memory
    mem.log_turn("sam", "old", "user", "My dog is called Rex.")
    mem.learn("sam", "My name is Sam and I live in Leeds.", session_id="old", turn=1)
    heard = _hear(understanding, "sam", "What's my pet's name?", language_probability=0.99)
    assert heard.memory.startswith('Known about the user: said earlier "My dog is called Rex."'), heard.memory
    assert "name Sam" in heard.memory and "lives in Leeds" in heard.memory
    (first, *_) = heard.trace["retrieved_memories"]
    assert first["text"] == "My dog is called Rex." and first["score"] > 0.8 and first["relevance"] >= 0.05
    assert heard.skip_tools == {"recall_memory"}  # the prompt already holds the answer
    plain = _hear(understanding, "sam", "Good morning!", language_probability=0.99)
    assert "retrieved_memories" not in plain.trace and plain.memory == "Known about the user: name Sam; lives in Leeds."
    assert plain.skip_tools == frozenset()
    other = _hear(understanding, "alex", "What's my pet's name?", language_probability=0.99)
    assert other.memory == "" and "retrieved_memories" not in other.trace  # another user: nothing of sam's


def test_turns_of_the_current_conversation_are_not_retrieved(understanding: Understanding):
    conv = Conversation(user_id="sam")
    understanding.memory.log_turn("sam", conv.id, "user", "My dog is called Rex.")  # already in the LLM history
    heard = understanding.hear(conv, None, "What's my pet's name?", "en", 0.99)
    assert "retrieved_memories" not in heard.trace


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"language_probability": 0.98}, None),  # clearly English: answered in English
        ({"language_probability": 0.40}, "es"),  # unsure: the stored preference decides
        ({}, "es"),  # typed text: its language is a default, not a detection
        ({"language_probability": 0.40, "pinned": True}, None),  # the caller pinned a language
        ({"language_probability": 0.40, "speakable": {"en", "fr"}}, None),  # cannot be voiced
    ],
)
def test_stored_language_answers_an_unsure_turn(understanding: Understanding, kw: dict, expected: str | None):
    understanding.memory.learn("ana", "Please always answer in Spanish.", session_id="s", turn=0)
    heard = _hear(understanding, "ana", "What is the capital of France?", **kw)
    assert heard.reply_language == expected
    assert heard.trace.get("applied_preferences", {}).get("language") == expected
    if expected:
        assert "every answer in Spanish" in heard.memory


def test_translation_mode_is_not_overridden(understanding: Understanding):
    understanding.memory.learn("ana", "Please always answer in Spanish.", session_id="s", turn=0)
    heard = understanding.hear(Conversation(user_id="ana", translate_to="de"), None, "Good night.", "en")
    assert heard.reply_language is None and "applied_preferences" not in heard.trace


def test_stored_pace_sets_the_reply_speed(understanding: Understanding):
    base = _hear(understanding, "nobody", "Tell me about the moon.", language_probability=0.99).prosody
    understanding.memory.learn("slow", "Please speak slower.", session_id="s", turn=0)
    understanding.memory.remember("quick", [Fact("pace", "fast", 1.0)])
    slow = _hear(understanding, "slow", "Tell me about the moon.", language_probability=0.99)
    fast = _hear(understanding, "quick", "Tell me about the moon.", language_probability=0.99)
    assert slow.prosody.speed == pytest.approx(base.speed * 0.85) and slow.prosody.pause_ms > base.pause_ms
    assert fast.prosody.speed == pytest.approx(base.speed * 1.15) and fast.prosody.pause_ms < base.pause_ms
    assert slow.trace["applied_preferences"] == {"pace": "slow"} and slow.trace["reply_speed"] == 0.85
    assert fast.trace["applied_preferences"] == {"pace": "fast"}


def test_without_the_embedder_memory_falls_back_to_the_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POLYVOX_EMBED_MODEL", str(tmp_path / "missing.bin"))
    u = Understanding(UnderstandingOptions(emotion=False, speakers=False, memory_path=str(tmp_path / "m.sqlite3")))
    assert u.embedder is None and "memory retrieval off" in u.problems[0]
    u.memory.learn("sam", "My name is Sam.", session_id="s", turn=0)
    u.memory.log_turn("sam", "s", "user", "My dog is called Rex.")  # stored without a vector, kept
    heard = _hear(u, "sam", "What's my pet's name?", language_probability=0.99)
    assert heard.memory == "Known about the user: name Sam." and "retrieved_memories" not in heard.trace
    assert any("memory retrieval off" in n for n in heard.trace["notes"])
    monkeypatch.delenv("POLYVOX_EMBED_MODEL")
    later = Understanding(UnderstandingOptions(emotion=False, speakers=False, memory_path=str(tmp_path / "m.sqlite3")))
    again = _hear(later, "sam", "What's my pet's name?", language_probability=0.99)  # embedded lazily now
    assert again.trace["retrieved_memories"][0]["text"] == "My dog is called Rex."


def test_an_unusable_memory_file_costs_nothing_but_a_note(tmp_path: Path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    u = Understanding(UnderstandingOptions(emotion=False, speakers=False, memory_path=str(bad)))
    heard = _hear(u, "sam", "What's my pet's name?", language_probability=0.99)
    assert heard.memory == "" and any("memory unavailable" in n for n in heard.trace["notes"])
    assert bad.read_bytes() == b"not a database" * 100
