"""Bad clients get `error` events (or a clean close) and never take the server down."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import urllib.request

import numpy as np
import pytest
import websockets
from realtime_helpers import RATE, Server, b64, manual_mode, start

from polyvox.server import Limits
from polyvox.server.testing import ScriptedEngine


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return json.loads(r.read())


async def still_works(c) -> None:
    await c.send(type="session.update", session={"type": "realtime", "instructions": "ok"})
    assert (await c.until("session.updated"))["session"]["instructions"] == "ok"


BAD = [
    ("{not json", "invalid_json", None),
    ("[1, 2]", "invalid_event", None),
    (json.dumps({"no": "type"}), "invalid_event", "type"),
    (json.dumps({"type": "session.explode"}), "unknown_event", "type"),
    (
        json.dumps({"type": "session.update", "session": {"type": "realtime", "instructions": 5}}),
        "invalid_value",
        "session.instructions",
    ),
    (json.dumps({"type": "input_audio_buffer.append", "audio": 123}), "invalid_value", "audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "%%% not base64 %%%"}), "invalid_audio", "audio"),
    (
        json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"abc").decode()}),
        "invalid_audio",
        "audio",
    ),
    (
        json.dumps({"type": "input_audio_buffer.append", "audio": b64(np.zeros(11 * RATE, np.float32))}),
        "audio_too_large",
        "audio",
    ),
    (
        json.dumps({"type": "conversation.item.truncate", "item_id": "nope", "content_index": 0, "audio_end_ms": 5}),
        "item_not_found",
        "item_id",
    ),
    (
        json.dumps(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 7}}},
                },
            }
        ),
        "invalid_value",
        None,
    ),
    (
        json.dumps(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcmu"}}}},
            }
        ),
        "unsupported_audio_format",
        None,
    ),
    (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty", None),
    (json.dumps({"type": "response.cancel"}), "response_cancel_not_active", None),
]


@pytest.mark.parametrize(("message", "code", "param"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_bad_event_gets_error(server, message, code, param):
    async def body(s):
        c = await s.connect()
        await c.ws.send(message)
        err = (await c.until("error"))["error"]
        assert err["code"] == code, err
        if param:
            assert err["param"] == param, err
        await still_works(c)
        await c.ws.close()

    server.run(body)


def test_error_echoes_event_id_and_binary_frames(server):
    async def body(s):
        c = await s.connect()
        await c.send(type="response.cancel", event_id="evt_42")
        assert (await c.until("error"))["error"]["event_id"] == "evt_42"
        await c.ws.send(b"\x00\x01binary")
        assert (await c.until("error"))["error"]["code"] == "invalid_event"
        await c.ws.send("x" * (1 << 20 | 1))  # over the 1 MiB event limit, under the WebSocket frame limit
        assert (await c.until("error"))["error"]["code"] == "event_too_large"
        await still_works(c)
        await c.ws.close()

    server.run(body)


def test_oversized_frame_closes_cleanly(server):
    async def body(s):
        c = await s.connect()
        await c.ws.send("x" * (5 << 20))  # over the server's 4 MiB frame limit: closed with 1009
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                await c.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        c2 = await s.connect()  # the server is fine
        await still_works(c2)
        await c2.ws.close()

    server.run(body)


def test_response_create_while_active(slow_server):
    async def body(s):
        c = await s.connect()
        await c.session(**manual_mode())
        await c.send(type="response.create")
        await c.until("response.created")
        await c.send(type="response.create")
        assert (await c.until("error"))["error"]["code"] == "conversation_already_has_active_response"
        await c.send(type="response.cancel", response_id="resp_other")
        assert (await c.until("error"))["error"]["param"] == "response_id"
        await c.send(type="response.cancel")
        assert (await c.until("response.done"))["response"]["status"] == "cancelled"
        await c.ws.close()

    slow_server.run(body)


def test_flood_is_rate_limited(server):
    async def body(s):
        c = await s.connect()
        for _ in range(2000):
            await c.ws.send("{flood")
        codes = []
        while len(codes) < 2000:
            try:
                codes.append((await c.recv(1.0))["error"]["code"])
            except TimeoutError:
                break
        assert "rate_limit_exceeded" in codes
        assert len(codes) < 2000  # past the burst, events are dropped with one error a second
        await asyncio.sleep(0.5)  # tokens refill
        await still_works(c)
        await c.ws.close()

    server.run(body)


def test_disconnect_mid_response_frees_the_session(slow_server):
    async def body(s):
        c = await s.connect()
        await c.session(**manual_mode())
        await c.send(type="response.create")
        await c.until("response.output_audio.delta")
        assert s.engine.active == 1
        await c.ws.close()
        for _ in range(100):
            if health(s.port)["sessions"] == 0 and s.engine.active == 0:
                break
            await asyncio.sleep(0.05)
        assert health(s.port)["sessions"] == 0
        assert s.engine.active == 0  # the engine turn was cancelled, not left running

    slow_server.run(body)


def _raw_ws(port: int) -> socket.socket:
    """A bare WebSocket client on a tiny receive buffer that will never read: handshake only."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _frame(text: str) -> bytes:
    """One masked text frame (clients must mask)."""
    data, mask = text.encode(), os.urandom(4)
    n = len(data)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def test_client_that_never_reads_is_closed():
    engine = ScriptedEngine(reply=" ".join(["la"] * 2000), chunk_ms=1000)  # 2000 s of audio, as fast as it can
    app, ctx = start(engine, limits=Limits(max_pending_out=64, send_timeout_s=2.0))

    async def body(s):
        sock = _raw_ws(s.port)
        sock.sendall(_frame(json.dumps({"type": "session.update", "session": {"type": "realtime", **manual_mode()}})))
        sock.sendall(_frame(json.dumps({"type": "response.create"})))
        for _ in range(500):  # never read: the server must give up on us (in ~2 s; 25 s under heavy load)
            await asyncio.sleep(0.05)
            if health(s.port)["sessions"] == 0:
                break
        assert health(s.port)["sessions"] == 0
        assert engine.active == 0  # and stop the engine working for nobody
        sock.close()

    with ctx as port:
        Server(port, engine, app).run(body)
