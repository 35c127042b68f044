"""Validation failures of any kind become `error` events naming the problem; the connection stays up (issue 28)."""

from __future__ import annotations

import json

import pytest
from realtime_helpers import RATE, Server, b64, manual_mode, start
from test_robustness import still_works

from polyvox.server import Limits, protocol
from polyvox.server.protocol import MAX_NESTING, ProtocolError, from_exception, nesting, parse_client_event
from polyvox.server.session import RealtimeSession
from polyvox.server.testing import ScriptedEngine, tone


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


# -- audio limits counted in samples across the ways audio enters -----------------------------------


@pytest.fixture(scope="module")
def short_audio_server():
    engine = ScriptedEngine()
    app, ctx = start(engine, limits=Limits(max_pending_audio_ms=3000))
    with ctx as port:
        yield Server(port, engine, app)


def audio_item(seconds: float, event_id: str) -> dict:
    content = [{"type": "input_audio", "audio": b64(tone(seconds, RATE))}]
    item = {"type": "message", "role": "user", "content": content}
    return {"type": "conversation.item.create", "event_id": event_id, "item": item}


def test_item_audio_is_limited_in_all_until_answered(short_audio_server):
    async def body(s):
        c = await s.connect()
        await c.session(**manual_mode())
        await c.send(**audio_item(2.0, "evt_a"))
        await c.until("conversation.item.done")
        await c.send(**audio_item(2.0, "evt_b"))  # 4 s would wait: refused, however it is cut up
        err = (await c.until("error"))["error"]
        assert err["code"] == "input_audio_too_long" and err["event_id"] == "evt_b" and "2.0 s" in err["message"]
        await c.send(type="response.create")
        await c.until("response.done")  # answered: its audio is freed
        assert s.engine.turns[-1].audio is not None and len(s.engine.turns[-1].audio) == 32_000  # 2 s at 16 kHz
        await c.send(**audio_item(2.0, "evt_c"))
        await c.until("conversation.item.done")
        await c.ws.close()

    short_audio_server.run(body)
