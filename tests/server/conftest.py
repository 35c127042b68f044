"""Fixtures: real uvicorn servers on loopback ports running the deterministic ScriptedEngine."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("websockets")

from realtime_helpers import Server, start

from polyvox.server.testing import ScriptedEngine


@pytest.fixture(scope="module")
def server():
    engine = ScriptedEngine()
    app, ctx = start(engine)
    with ctx as port:
        yield Server(port, engine, app)


@pytest.fixture(scope="module")
def slow_server():
    """Replies of 20 words, 50 ms apart: long enough to interrupt."""
    engine = ScriptedEngine(reply=" ".join(f"word{i}" for i in range(20)), delay_s=0.05)
    app, ctx = start(engine)
    with ctx as port:
        yield Server(port, engine, app)
