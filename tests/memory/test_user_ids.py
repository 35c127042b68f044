"""User ids: validated once where they enter (CLI, talk()), never stripped or folded, derived ids within limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyvox import cli
from polyvox.errors import UsageError
from polyvox.memory import Fact, MemoryStore
from polyvox.memory.store import MAX_ID, MAX_USER_ID, check_user_id

BAD = ["", " ", " alice ", "alice  ", "alice\n", "al\x00ice", "a" * (MAX_USER_ID + 1)]


@pytest.fixture(autouse=True)
def _commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ["polyvox.memory.commands"])


@pytest.mark.parametrize("bad", BAD)
def test_bad_ids_are_refused_not_normalised(bad: str, tmp_path: Path):
    with pytest.raises(ValueError, match="user id"):
        check_user_id(bad)
    store = MemoryStore(tmp_path / "m.sqlite3")
    store.remember("alice", [Fact("name", "Alice")])
    with pytest.raises(ValueError):  # " alice " no longer reads alice's memory
        store.recall(bad)


def test_good_ids_are_kept_exactly():
    for ok in ("alice", "Alice", "anna.k@example.com", "日本語", "a" * MAX_USER_ID, "two words"):
        assert check_user_id(ok) == ok
    assert len("tracker-" + "a" * MAX_USER_ID) <= MAX_ID  # the speaker-profile id derived from it fits


@pytest.mark.parametrize("bad", ["", " alice ", "x" * 195])
def test_cli_refuses_with_a_usage_error(bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        cli.main(["memory", "--memory", str(tmp_path / "m.sqlite3"), "show", "--user", bad])
    assert info.value.code == 2 and "argument --user" in capsys.readouterr().err


def test_talk_refuses_a_bad_id_before_any_turn(monkeypatch: pytest.MonkeyPatch):
    from polyvox.server.testing import ScriptedEngine
    from polyvox.talk import TalkOptions, talk

    engine = ScriptedEngine()
    with pytest.raises(UsageError, match="user id") as info:
        talk(engine, [], None, TalkOptions(user_id=""))  # was: memory silently off
    assert info.value.exit_code == 2 and engine.turns == []


def test_cli_talk_refuses_an_empty_user_before_loading_anything(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        cli.main(["talk", "missing.wav", "--user", ""])  # was: memory silently off
    assert info.value.code == 2 and "user id" in capsys.readouterr().err


def test_a_memory_failure_after_the_reply_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    from polyvox.cascade.understand import Understanding, UnderstandingOptions
    from polyvox.engine import Conversation

    u = Understanding(UnderstandingOptions(emotion=False, speakers=False, memory_path=str(tmp_path / "m.sqlite3")))
    u.remember(Conversation(user_id="x" * 195), "My name is Sam.", "Hi Sam!", "en")  # a library caller's bad id
    assert "memory not updated" in caplog.text
