"""The app around the sessions: auth, page, health, concurrent independent sessions, one model load."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
import websockets
from realtime_helpers import Server, manual_mode, start
from test_robustness import health

from polyvox.server import ServerOptions, create_app
from polyvox.server.testing import ScriptedEngine, running_server


def get(port: int, path: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.headers.get("content-type", ""), r.read().decode()


def test_page_and_health(server):
    status, ctype, html = get(server.port, "/")
    assert status == 200 and "text/html" in ctype
    assert "/v1/realtime" in html and "worklet.js" in html
    status, ctype, js = get(server.port, "/worklet.js")
    assert "javascript" in ctype and "registerProcessor" in js
    h = health(server.port)
    assert h["status"] == "ok" and h["engine"] == "scripted" and h["vad"] == "energy"


def test_engine_loads_once_before_first_connection():
    calls = []
    engine = ScriptedEngine()

    def factory():
        calls.append(1)
        return engine

    with running_server(create_app(factory, ServerOptions(vad="energy"))) as port:
        assert len(calls) == 1  # loaded at startup, not on connect
        s = Server(port, engine, None)

        async def body(s):
            for _ in range(3):
                c = await s.connect()
                await c.ws.close()

        s.run(body)
        assert len(calls) == 1


def test_sessions_run_concurrently_and_independently(slow_server):
    async def body(s):
        a, b = await s.connect(), await s.connect()
        await a.session(instructions="session a", **manual_mode())
        await b.session(instructions="session b", **manual_mode())
        await a.send(type="response.create")
        await b.send(type="response.create")
        await a.until("response.output_audio.delta")
        await b.until("response.output_audio.delta")
        assert s.engine.max_active == 2  # both turns in flight together: nothing serialises sessions
        await a.send(type="response.cancel")
        assert (await a.until("response.done"))["response"]["status"] == "cancelled"
        done_b = await b.until("response.done", timeout=10)
        assert done_b["response"]["status"] == "completed"  # a's cancel did not touch b
        assert {t.instructions for t in s.engine.turns[-2:]} == {"session a", "session b"}
        await a.ws.close()
        await b.ws.close()
        for _ in range(50):
            if health(s.port)["sessions"] == 0:
                break
            await asyncio.sleep(0.05)
        assert health(s.port)["sessions"] == 0

    slow_server.run(body)


@pytest.fixture(scope="module")
def secured():
    engine = ScriptedEngine()
    app, ctx = start(engine, api_key="k3y")
    with ctx as port:
        yield Server(port, engine, app)


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer wrong"}, {"Authorization": "k3y"}])
def test_auth_refuses_before_any_work(secured, headers):
    async def body(s):
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(s.url, additional_headers=headers)
        assert info.value.response.status_code == 403
        assert len(s.app.state.sessions) == 0  # /healthz tells only key holders how many sessions run

    secured.run(body)


def test_auth_accepts_bearer_and_browser_subprotocol(secured):
    async def body(s):
        c = await s.connect(additional_headers={"Authorization": "Bearer k3y"})
        await c.ws.close()
        c = await s.connect(subprotocols=["realtime", "openai-insecure-api-key.k3y"])
        assert c.ws.subprotocol == "realtime"
        await c.ws.close()

    secured.run(body)


def test_api_key_from_environment(monkeypatch):
    monkeypatch.setenv("POLYVOX_API_KEY", "env-key")
    engine = ScriptedEngine()
    app, ctx = start(engine)
    with ctx as port:
        s = Server(port, engine, app)

        async def body(s):
            with pytest.raises(websockets.InvalidStatus):
                await websockets.connect(s.url)
            c = await s.connect(additional_headers={"Authorization": "Bearer env-key"})
            await c.ws.close()

        s.run(body)
