"""Validation failures of any kind become `error` events naming the problem; the connection stays up (issue 28)."""

from __future__ import annotations

import json

import pytest
from test_robustness import still_works

from polyvox.server import protocol
from polyvox.server.protocol import MAX_NESTING, ProtocolError, from_exception, nesting, parse_client_event
from polyvox.server.session import RealtimeSession


def deep(levels: int) -> dict:
    """A JSON object `levels` deep (as a tool's parameter schema)."""
    v: dict = {}
    for _ in range(levels - 1):
        v = {"a": v}
    return v


def deep_update(levels: int, event_id: str = "evt_deep") -> str:
    tool = {"type": "function", "name": "f", "parameters": deep(levels)}
    session = {"type": "realtime", "tools": [tool]}
    return json.dumps({"type": "session.update", "event_id": event_id, "session": session})


def test_nesting_is_measured_without_recursion():
    assert nesting(1) == 0 and nesting({}) == 1 and nesting({"a": [1, {"b": []}]}) == 4
    assert nesting(deep(10_000)) == MAX_NESTING + 1  # stops counting past the limit; no RecursionError
    with pytest.raises(ProtocolError, match="levels deep") as info:
        parse_client_event(deep_update(300))
    assert info.value.event_id == "evt_deep" and info.value.code == "invalid_event"


def test_exceptions_become_client_errors():
    e = from_exception(ValueError("Circular reference detected (depth exceeded)"), "evt_1")
    assert e.code == "invalid_value" and "depth exceeded" in e.message and e.event_id == "evt_1"
    assert "nests too deeply" in from_exception(RecursionError(), None).message


def test_deep_session_update_gets_an_error_not_a_silent_close(server):
    async def body(s):
        c = await s.connect()
        await c.ws.send(deep_update(300))
        err = (await c.until("error"))["error"]
        assert err["code"] == "invalid_event" and "levels deep" in err["message"] and err["event_id"] == "evt_deep"
        await still_works(c)
        await c.ws.close()

    server.run(body)


def test_value_error_inside_a_handler_becomes_an_error_event(server, monkeypatch):
    monkeypatch.setattr(protocol, "MAX_NESTING", 10_000)  # let the deep update reach merge_update's model_dump

    async def body(s):
        c = await s.connect()
        await c.ws.send(deep_update(300, "evt_dump"))
        err = (await c.until("error"))["error"]
        assert err["type"] == "invalid_request_error" and err["event_id"] == "evt_dump"
        assert "depth" in err["message"]  # names the problem (pydantic: maximum serialization depth exceeded)
        await still_works(c)
        await c.ws.close()

    server.run(body)


def test_an_unexpected_failure_is_a_server_error_and_the_connection_stays(server, monkeypatch):
    async def broken(self, ev):
        raise KeyError("bug")

    monkeypatch.setattr(RealtimeSession, "_on_input_audio_buffer_clear", broken)

    async def body(s):
        c = await s.connect()
        await c.send(type="input_audio_buffer.clear")
        err = (await c.until("error"))["error"]
        assert err["type"] == "server_error" and "KeyError" in err["message"] and "bug" not in err["message"]
        await still_works(c)
        await c.ws.close()

    server.run(body)
