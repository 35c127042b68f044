"""`polyvox memory …` and `polyvox tools …` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyvox import cli
from polyvox.memory import Fact, MemoryStore


@pytest.fixture(autouse=True)
def _commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # only these two: the other feature modules are slow to import and not under test here
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ["polyvox.memory.commands", "polyvox.tools.commands"])


def test_memory_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "m.sqlite3"
    store = MemoryStore(db)
    store.remember("anna", [Fact("name", "Anna"), Fact("location", "Berlin")])
    store.log_turn("anna", "s1", "user", "Hi, I'm Anna.")
    m = ["memory", "--memory", str(db)]

    assert cli.main([*m, "list"]) == 0 and capsys.readouterr().out.split() == ["anna"]
    assert cli.main([*m, "list", "--user", "anna", "--json"]) == 0
    assert {f["key"] for f in json.loads(capsys.readouterr().out)} == {"name", "location"}
    assert cli.main([*m, "show", "--user", "anna"]) == 0
    out = capsys.readouterr().out
    assert "Known about the user: name Anna; lives in Berlin." in out and "user: Hi, I'm Anna." in out
    export = tmp_path / "anna.json"
    assert cli.main([*m, "export", "--user", "anna", "-o", str(export)]) == 0
    assert json.loads(export.read_text())["user_id"] == "anna"
    assert cli.main([*m, "forget", "--user", "anna", "--key", "location"]) == 0
    assert [f.key for f in store.recall("anna")] == ["name"]
    assert cli.main([*m, "forget", "--user", "anna"]) == 0
    assert store.users() == []


def test_memory_command_on_a_corrupt_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"garbage" * 100)
    assert cli.main(["memory", "--memory", str(bad), "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable memory database" in err and "Traceback" not in err


def test_tools_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["tools", "list"]) == 0
    out = capsys.readouterr().out
    assert "calculator(expression: string)" in out and "get_time(timezone?: string)" in out
    assert cli.main(["tools", "run", "calculator", '{"expression": "2**10"}']) == 0
    assert json.loads(capsys.readouterr().out)["result"] == 1024
    assert cli.main(["tools", "run", "calculator", '{"expression": "__import__"}']) == 1
    assert "error" in json.loads(capsys.readouterr().out)
    mine = tmp_path / "mine.py"
    mine.write_text("from polyvox.tools import tool\n\n@tool\ndef ping() -> str:\n    '''Ping.'''\n    return 'pong'\n")
    assert cli.main(["tools", "--tools-module", str(mine), "run", "ping"]) == 0
    assert capsys.readouterr().out.strip() == '"pong"'
    assert cli.main(["tools", "--tools-module", str(tmp_path / "nope.py"), "list"]) == 1
    assert "does not exist" in capsys.readouterr().err
