"""`polyvox serve`: CLI wiring over `serve()` (importable without the server extra; it is checked on use).

from polyvox.server.commands import register
register(subparsers)   # adds `serve`, with set_defaults(func=run): run(args) -> exit code
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from polyvox.errors import PolyvoxError

if TYPE_CHECKING:
    from polyvox.engine import Engine

log = logging.getLogger("polyvox.server")

ENGINES = ("cascade", "unified")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `polyvox serve` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "serve",
        help="serve the OpenAI Realtime protocol (WebSocket /v1/realtime) and a browser page",
        description="Speech-to-speech server: OpenAI Realtime protocol at ws://HOST:PORT/v1/realtime, "
        "a talk-in-the-browser page at http://HOST:PORT/, health at /healthz.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--engine", choices=ENGINES, default="cascade", help="engine answering turns (default: cascade)")
    p.add_argument(
        "--api-key", default=None, help="require 'Authorization: Bearer KEY' (default: $POLYVOX_API_KEY; none = open)"
    )
    p.add_argument(
        "--vad",
        choices=("auto", "silero", "energy"),
        default="auto",
        help="server VAD scorer: silero-vad if installed (auto), or an energy detector",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="conversations the LLM generates for at once (cascade; one llama.cpp context each, default 4)",
    )
    p.set_defaults(func=run)
    return p


def engine_factory(name: str, concurrency: int = 4) -> Callable[[], Engine]:
    """The engine constructor for `--engine NAME`; its module is imported now, so a missing one fails early."""
    if name not in ENGINES:
        raise PolyvoxError(f"unknown engine '{name}'", f"choose one of: {', '.join(ENGINES)}")
    module = "polyvox.cascade.engine" if name == "cascade" else "polyvox.unified"
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise PolyvoxError(
            f"the {name} engine is not available ({module} cannot be imported: {e})",
            "update polyvox, or try --engine " + ("unified" if name == "cascade" else "cascade"),
        ) from e
    if name == "cascade":
        from polyvox.cascade.llm import LlmOptions

        return lambda: mod.CascadeEngine(mod.CascadeConfig(llm=LlmOptions(instances=max(1, concurrency))))
    return lambda: mod.load_engine(None)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    engine: str = "cascade",
    api_key: str | None = None,
    vad: str = "auto",
    concurrency: int = 4,
) -> None:
    """Load the engine (once, before listening), then serve until interrupted."""
    from polyvox.errors import require
    from polyvox.server import ServerOptions, create_app  # raises MissingExtraError without the extra
    from polyvox.server.config import MAX_FRAME_BYTES

    uvicorn = require("uvicorn", "polyvox serve", "server")

    key = api_key or os.environ.get("POLYVOX_API_KEY") or None
    if host not in LOOPBACK and not key:
        log.warning("listening on %s without an API key: anyone who can reach it can use it", host)
    instance = engine_factory(engine, concurrency)()  # models load here: a missing model fails before the port opens
    app = create_app(lambda: instance, ServerOptions(api_key=key, vad=vad))
    print(
        f"polyvox: {instance.name} engine on http://{host}:{port}/  (Realtime: ws://{host}:{port}/v1/realtime)",
        file=sys.stderr,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", ws_max_size=MAX_FRAME_BYTES, ws_ping_interval=20.0)


def run(args: argparse.Namespace) -> int:
    """`polyvox serve` handler: exit code 0 after a clean shutdown; PolyvoxError propagates to the CLI."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serve(args.host, args.port, args.engine, args.api_key, args.vad, args.concurrency)
    return 0
