"""The FastAPI app: `/v1/realtime` (WebSocket, OpenAI Realtime protocol), `/` (browser page), `/healthz`.

`/v1/realtime?model=polyvox&translate_to=es` starts the session in translation mode (polyvox extension;
the stock client sends it with `connect(model=..., extra_query={"translate_to": "es"})`).

The engine (and the VAD model) load once per process in the app's lifespan, before the first connection;
each connection gets its own RealtimeSession and two tasks (receive, send). Nothing serialises sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocketDisconnect, WebSocketState

from polyvox.engine import Engine
from polyvox.listen.vad import ScorerSource
from polyvox.server.config import Limits
from polyvox.server.origin import OriginGuard, OriginPolicy
from polyvox.server.protocol import ProtocolError, ServerEvent, error_event
from polyvox.server.session import RealtimeSession

log = logging.getLogger(__name__)

AUDIO_DELTA = "response.output_audio.delta"
KEY_SUBPROTOCOL = "openai-insecure-api-key."  # how browsers pass a key (they cannot set headers)
CLOSE_POLICY = 1008  # WebSocket close code: policy violation (client not reading, flood)


@dataclass(frozen=True)
class ServerOptions:
    """How the app runs; the engine comes separately as a factory."""

    api_key: str | None = None  # None: no auth (loopback use); else Bearer KEY is required
    vad: Literal["auto", "silero", "energy"] = "auto"  # speech scorer for server VAD
    model: str = "polyvox"  # the model name sessions report
    limits: Limits = field(default_factory=Limits)  # per-session limits
    origins: OriginPolicy = field(default_factory=OriginPolicy)  # Host + browser Origin checks (origin.py)


def _authorised(conn: HTTPConnection, key: str | None) -> bool:
    if not key:
        return True
    offered = conn.headers.get("authorization", "")
    token = offered[7:].strip() if offered.lower().startswith("bearer ") else ""
    for proto in conn.headers.get("sec-websocket-protocol", "").split(","):
        if proto.strip().startswith(KEY_SUBPROTOCOL):
            token = token or proto.strip()[len(KEY_SUBPROTOCOL) :]
    return bool(token) and hmac.compare_digest(token.encode(), key.encode())


def _end_of_turn_model(vad: str) -> Any:
    """Smart Turn for semantic_vad (once per process), or None (energy VAD tests, model not installed)."""
    if vad == "energy":
        return None
    try:
        from polyvox.listen.smart_turn import SmartTurn

        return SmartTurn.load()
    except Exception as e:  # missing/corrupt model or onnxruntime trouble: semantic_vad falls back to silence
        log.warning("Smart Turn unavailable (%s): semantic_vad ends turns on silence", e)
        return None


def _page(name: str) -> str:
    return resources.files("polyvox.server").joinpath("page", name).read_text(encoding="utf-8")


def create_app(engine_factory: Callable[[], Engine], options: ServerOptions | None = None) -> FastAPI:
    """The server app. `engine_factory` is called once, at startup, before connections are accepted."""
    opts = options or ServerOptions()
    api_key = opts.api_key if opts.api_key is not None else os.environ.get("POLYVOX_API_KEY") or None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = await asyncio.to_thread(engine_factory)
        await asyncio.to_thread(engine.warmup)
        app.state.engine = engine
        app.state.scorers = await asyncio.to_thread(ScorerSource, opts.vad)
        app.state.judge = await asyncio.to_thread(_end_of_turn_model, opts.vad)
        app.state.sessions = set()
        log.info(
            "engine %s ready; server VAD: %s; semantic_vad: %s",
            engine.name,
            app.state.scorers.kind,
            "Smart Turn" if app.state.judge is not None else "silence only (Smart Turn not installed)",
        )
        yield
        for s in list(app.state.sessions):
            await s.close()

    app = FastAPI(title="polyvox realtime", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(OriginGuard, policy=opts.origins)  # every route: Host and browser-Origin checks

    @app.get("/")
    async def page() -> HTMLResponse:
        return HTMLResponse(_page("index.html"))

    @app.get("/worklet.js")
    async def worklet() -> Response:
        return Response(_page("worklet.js"), media_type="text/javascript")

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        st = app.state
        if not _authorised(request, api_key):  # with a key, strangers learn only that it is up
            return JSONResponse({"status": "ok", "auth": True})
        return JSONResponse(
            {
                "status": "ok",
                "engine": st.engine.name,
                "vad": st.scorers.kind,
                "sessions": len(st.sessions),
                "auth": bool(api_key),
            }
        )

    @app.websocket("/v1/realtime")
    async def realtime(ws: WebSocket) -> None:
        if not _authorised(ws, api_key):
            await ws.close(code=CLOSE_POLICY, reason="missing or wrong API key")  # before accept: HTTP 403
            return
        offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
        await ws.accept(subprotocol="realtime" if "realtime" in offered else None)
        await Connection(ws, app.state, opts).serve()

    return app


class Connection:
    """One WebSocket: a receive loop feeding the session, a send loop draining its events."""

    def __init__(self, ws: WebSocket, state: Any, opts: ServerOptions) -> None:
        self.ws, self.state, self.limits = ws, state, opts.limits
        self.out: asyncio.Queue[ServerEvent] = asyncio.Queue()
        self.overflow = asyncio.Event()  # the client stopped reading: close
        self.closing = False
        translate_to = ws.query_params.get("translate_to")  # polyvox extension: ?translate_to=es
        self.session = RealtimeSession(
            state.engine, state.scorers, self.emit, opts.limits, opts.model, translate_to, getattr(state, "judge", None)
        )

    def emit(self, ev: ServerEvent) -> None:
        if self.overflow.is_set():
            return
        if self.out.qsize() >= self.limits.max_pending_out:
            log.warning("session %s: %d events unsent, closing", self.session.id, self.out.qsize())
            self.overflow.set()
            return
        self.out.put_nowait(ev)

    async def serve(self) -> None:
        self.state.sessions.add(self.session)
        self.session.start()
        tasks = [
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._send()),
            asyncio.create_task(self.overflow.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.closing = True
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks, timeout=1.0)  # a send stuck on a full socket must not hold us here
            await self.session.close()
            self.state.sessions.discard(self.session)
            if self.ws.application_state == WebSocketState.CONNECTED:
                reason = "client is not reading" if self.overflow.is_set() else ""
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):  # the close frame waits on the same full socket
                        await self.ws.close(code=CLOSE_POLICY if reason else 1000, reason=reason)

    async def _receive(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                if msg.get("text") is not None:
                    await self._handle(msg["text"])
                else:
                    self.emit(
                        error_event(
                            ProtocolError(
                                "invalid_event", "binary frames are not part of the protocol: send JSON text events"
                            )
                        )
                    )

    async def _handle(self, text: str) -> None:
        """One client message; a failure the session did not turn into an `error` event (a bug) is logged and
        reported as a server_error, and the connection stays up."""
        try:
            await self.session.handle(text)
        except Exception as e:
            log.exception("session %s: unexpected failure handling a client event", self.session.id)
            msg = f"polyvox failed on this event ({type(e).__name__}); the server log has the details"
            self.emit(error_event(ProtocolError("server_error", msg, type="server_error")))

    async def _send(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # RuntimeError: the socket closed under us
            while not self.closing:
                ev = await self.out.get()
                if ev.type == AUDIO_DELTA and ev.response_id in self.session.dropped:
                    continue  # barge-in / cancel: audio the client has not received yet is never sent
                try:
                    async with asyncio.timeout(self.limits.send_timeout_s):
                        await self.ws.send_text(ev.text)
                except TimeoutError:
                    log.warning("session %s: send blocked %.0f s, closing", self.session.id, self.limits.send_timeout_s)
                    self.overflow.set()
                    return
