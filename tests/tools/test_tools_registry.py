"""The registry: running tools with validation, timeouts and errors; decorators; loading a user's module."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Literal

import pytest

from polyvox.engine import Message
from polyvox.events import ToolCall
from polyvox.tools import Tool, ToolError, ToolRegistry, load_tools_module, tool


def lamp(on: bool, room: Literal["kitchen", "hall"] = "kitchen") -> dict:
    """Switch a lamp.

    Args:
        on: true to switch it on
        room: which lamp
    """
    return {"room": room, "on": on}


def test_run_ok_with_repaired_arguments():
    reg = ToolRegistry([lamp])
    assert reg.names() == ["lamp"] and "lamp" in reg and len(reg) == 1
    assert reg.schemas()[0]["function"]["parameters"]["required"] == ["on"]
    out = reg.run("lamp", '{"on": "true", "room": "Hall", "required": ["on"]}')  # junk key from the LLM: dropped
    assert out.ok and out.error is None and out.ms >= 0
    assert json.loads(out.output_json) == {"room": "hall", "on": True}
    assert json.loads(reg.run("lamp", {"on": False}).output_json) == {"room": "kitchen", "on": False}


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        ("lamp", '{"room": "hall"}', "missing the required 'on'"),
        ("lamp", '{"on": true, "room": "garage"}', "room must be one of"),
        ("lamp", '{"on": tru', "not valid JSON"),
        ("lamp", '["on"]', "must be a JSON object"),
        ("heater", "{}", "unknown tool 'heater' (available: lamp)"),
    ],
)
def test_bad_calls_give_error_outcomes(name: str, arguments: str, error: str):
    out = ToolRegistry([lamp]).run(name, arguments)
    assert not out.ok and error in out.error
    assert json.loads(out.output_json) == {"error": out.error}  # the LLM reads the error as the tool's output


def test_exceptions_and_timeouts_never_raise():
    reg = ToolRegistry(default_timeout_s=5)
    release = threading.Event()

    @reg.register
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError(f"the device {x} is offline")

    @reg.register(timeout_s=0.2)
    def slow() -> str:
        """Sleeps."""
        release.wait(10)
        return "late"

    @reg.register
    def quits() -> None:
        """Calls sys.exit."""
        raise SystemExit(3)

    out = reg.run("broken", '{"x": 7}')
    assert out.error == "RuntimeError: the device 7 is offline"
    t0 = time.perf_counter()
    out = reg.run("slow")
    assert out.error == "tool 'slow' timed out after 0.2 s" and time.perf_counter() - t0 < 1.0
    assert reg.run("slow", timeout_s=0.05).error == "tool 'slow' timed out after 0.05 s"  # per-call override
    assert reg.run("quits").error == "SystemExit: 3"
    for _ in range(2):  # 4 stuck calls: the tool is refused until they finish
        reg.run("slow", timeout_s=0.01)
    assert "still busy" in reg.run("slow").error
    release.set()
    deadline = time.time() + 5
    while reg.run("slow", timeout_s=2).error and time.time() < deadline:
        time.sleep(0.05)
    assert reg.run("slow").output_json == '"late"'


def test_async_tools_and_odd_return_values():
    reg = ToolRegistry()

    @reg.register
    async def ping(host: str) -> dict:
        """Ping a host."""
        return {"host": host, "ms": 1.5}

    @reg.register
    def big() -> str:
        """Returns a lot."""
        return "x" * 10_000

    @reg.register
    def obj() -> object:
        """Returns something JSON cannot hold."""
        return object()

    assert json.loads(reg.run("ping", '{"host": "a"}').output_json) == {"host": "a", "ms": 1.5}
    assert json.loads(reg.run("big").output_json)["truncated"] is True
    assert reg.run("obj").ok  # str() fallback


def test_registration_errors_and_replace():
    reg = ToolRegistry([lamp])
    with pytest.raises(ToolError, match="already registered"):
        reg.add(lamp)
    reg.add(lamp, replace=True, description="Other lamp.")
    assert reg.get("lamp").description == "Other lamp."

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ToolError, match="type hint"):
        reg.add(untyped)
    reg.remove("lamp")
    assert reg.names() == []


def test_messages_for_the_continued_turn():
    reg = ToolRegistry([lamp])
    call = ToolCall("call_1", "lamp", '{"on": true}')
    out = reg.run_call(call)
    assert out.event(call).output == out.output_json and out.event(call).error is None
    assistant, result = out.messages(call)
    assert assistant == Message("assistant", '{"name": "lamp", "arguments": {"on": true}}', tool_call_id="call_1")
    assert result == Message("tool", out.output_json, name="lamp", tool_call_id="call_1")


def test_tool_decorator_and_module_loading(tmp_path: Path):
    @tool(timeout_s=1.5, name="greet_user")
    def greet(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    t = Tool.from_function(greet)
    assert t.name == "greet_user" and t.timeout_s == 1.5 and greet("a") == "hello a"

    marked = tmp_path / "my_tools.py"
    marked.write_text(
        "from polyvox.tools import tool\n\n"
        "@tool\ndef shout(text: str) -> str:\n    '''Shout text.'''\n    return text.upper()\n\n"
        "def helper(x):\n    return x\n"
    )
    (shout,) = load_tools_module(marked)
    assert shout.name == "shout" and ToolRegistry([shout]).run("shout", '{"text": "hi"}').output_json == '"HI"'

    listed = tmp_path / "listed.py"
    listed.write_text("def add(a: int, b: int) -> int:\n    '''Add.'''\n    return a + b\n\nTOOLS = [add]\n")
    assert [t.name for t in load_tools_module(listed)] == ["add"]

    for body, message in [
        ("raise ImportError('no numpy here')", "ImportError: no numpy here"),
        ("def f(:\n", "SyntaxError"),
        ("x = 1\n", "defines no tools"),
    ]:
        bad = tmp_path / "bad.py"
        bad.write_text(body)
        with pytest.raises(ToolError, match=message):
            load_tools_module(bad)
    with pytest.raises(ToolError, match="does not exist"):
        load_tools_module(tmp_path / "missing.py")
