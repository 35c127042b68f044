"""Helpers for the server tests: a raw protocol client, test audio, and a real server on a loopback port."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import websockets

from polyvox.server import ServerOptions, create_app
from polyvox.server.testing import ScriptedEngine, running_server, tone

RATE = 24_000


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def b64(x: np.ndarray) -> str:
    return base64.b64encode(pcm16(x)).decode()


def speech(seconds: float = 0.8, lead: float = 0.3, tail: float = 0.8) -> np.ndarray:
    """Silence, a loud tone (speech to the energy VAD), silence: (n,) float32 at 24 kHz."""
    return np.concatenate(
        [
            np.zeros(int(lead * RATE), np.float32),
            tone(seconds, RATE, 0.3, 300.0),
            np.zeros(int(tail * RATE), np.float32),
        ]
    )


class Client:
    """A raw protocol client over `websockets` that records every server event."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, **event: Any) -> None:
        await self.ws.send(json.dumps(event))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        ev = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(ev)
        return ev

    async def until(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """Read events until one of type `kind` (returned); fails on timeout."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            ev = await self.recv(max(0.01, end - loop.time()))
            if ev["type"] == kind:
                return ev

    def types(self) -> list[str]:
        return [e["type"] for e in self.seen]

    async def append(self, x: np.ndarray, chunk_ms: int = 20) -> None:
        n = RATE * chunk_ms // 1000
        for i in range(0, len(x), n):
            await self.send(type="input_audio_buffer.append", audio=b64(x[i : i + n]))

    async def session(self, **session: Any) -> dict[str, Any]:
        await self.send(type="session.update", session={"type": "realtime", **session})
        return await self.until("session.updated")


def manual_mode() -> dict[str, Any]:
    return {"audio": {"input": {"turn_detection": None}}}


class Server:
    def __init__(self, port: int, engine: ScriptedEngine, app) -> None:
        self.port, self.engine, self.app = port, engine, app
        self.url = f"ws://127.0.0.1:{port}/v1/realtime?model=polyvox"

    async def connect(self, **kw: Any) -> Client:
        ws = await websockets.connect(self.url, **kw)
        c = Client(ws)
        assert (await c.recv())["type"] == "session.created"
        assert (await c.recv())["type"] == "conversation.created"
        return c

    def run(self, fn, *args: Any) -> Any:
        """Run `fn(self, *args)` (an async test body) to completion."""
        return asyncio.run(asyncio.wait_for(fn(self, *args), 40))


def start(engine: ScriptedEngine, **opts: Any):
    app = create_app(lambda: engine, ServerOptions(vad="energy", **opts))
    return app, running_server(app)
