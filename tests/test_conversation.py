"""Conversation intelligence through the real cascade: tools run in the engine, memory across runs,
translation mode, emotion/speaker trace (issue 3 end to end; the parts have their own unit tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from polyvox.cli import main
from polyvox.engine import Conversation, Turn
from polyvox.events import ToolCall, ToolResult, TurnDone


def test_calculator_runs_inside_the_engine(cascade, say16k):
    events = list(cascade.stream(Turn(audio=say16k("What is 17 times 23?"))))
    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert calls and calls[0].name == "calculator" and results and results[0].error is None
    assert "391" in results[0].output
    done = events[-1]
    assert isinstance(done, TurnDone) and "391" in done.result.reply_text.replace(",", "")
    assert done.result.trace["tools"][0]["name"] == "calculator"


def test_plain_questions_are_not_offered_tools(cascade):
    result, _ = cascade.run(Turn(text="What is the capital of Italy?"))
    assert "tools" not in result.trace and "rome" in result.reply_text.lower()


def test_trace_has_emotion_and_speaker(cascade, say16k):
    conv = Conversation()
    r1, _ = cascade.run(Turn(audio=say16k("I am so happy today, I won the prize!", "en-us+f3"), conversation=conv))
    r2, _ = cascade.run(Turn(audio=say16k("Please tell me the time in London.", "en-us+m3"), conversation=conv))
    for r in (r1, r2):
        assert r.trace["user_emotion"] and 0 < r.trace["emotion_confidence"] <= 1 and r.trace["reply_emotion"]
    assert r1.trace["speaker"] == "speaker_1"
    assert r2.trace["speaker"] in ("speaker_1", "speaker_2")


def test_memory_across_runs(say, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path))  # memory.sqlite3 goes here; models come via env below
    from polyvox.models import MODELS

    home = Path.home() / ".cache" / "polyvox" / "models"
    for name, spec in MODELS.items():
        entry = home / name if spec.entry == "." else home / name / spec.entry
        if entry.exists():
            monkeypatch.setenv(spec.env, str(entry))
    q1, q2 = say("Hello, my name is Anna and I live in Berlin."), say("Which city do I live in?")
    assert main(["talk", str(q1), "-o", str(tmp_path / "a.wav"), "--json", "--user", "anna"]) == 0
    assert main(["talk", str(q2), "-o", str(tmp_path / "b.wav"), "--json", "--user", "anna"]) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "berlin" in second["trace"]["memory"].lower()
    assert "berlin" in second["reply_text"].lower(), second
    assert (tmp_path / "memory.sqlite3").exists()


def test_translation_mode(cascade, say16k):
    conv = Conversation(translate_to="es")
    result, audio = cascade.run(Turn(audio=say16k("Good morning, where is the train station?"), conversation=conv))
    assert result.language == "es" and result.trace["translated_to"] == "es"
    words = set(re.findall(r"\w+", result.reply_text.lower()))
    spanish = {"buenos", "buenas", "días", "dónde", "donde", "está", "estación", "tren", "el", "la"}
    assert len(words & spanish) >= 2, result.reply_text
    assert len(audio) > 0
