"""`polyvox serve`: CLI wiring over `serve()` (importable without the server extra; it is checked on use).

from polyvox.server.commands import register
register(subparsers)   # adds `serve`, with set_defaults(func=run): run(args) -> exit code
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Sequence
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
        "--no-auth",
        action="store_true",
        help="allow a non-loopback --host without an API key (anyone who can reach the port can use it)",
    )
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web page origin (e.g. https://app.example.com; 'null'; '*' = any) allowed to use the server, "
        "besides its own page (repeatable; default: none)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name served besides loopback names and IP addresses, e.g. behind a reverse proxy "
        "(repeatable; '*' = any)",
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


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_notice(host: str, key: str | None, no_auth: bool = False) -> str:
    """Who can use a server on `host`, said at start; PolyvoxError for an open non-loopback server not asked for."""
    if key:
        return f"API key required (Authorization: Bearer KEY); listening on {host}"
    if is_loopback(host):
        return (
            f"no API key: listening on {host} (loopback) only; pages of other sites are refused "
            "(--allow-origin to allow one); set --api-key before exposing it with --host"
        )
    if not no_auth:
        raise PolyvoxError(
            f"refusing to listen on {host} without an API key: anyone who can reach it could use the assistant "
            "and its memory",
            "set --api-key KEY (or POLYVOX_API_KEY), or pass --no-auth to serve it open anyway",
        )
    return f"no API key (--no-auth): anyone who can reach {host} can use the assistant and its memory"


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    engine: str = "cascade",
    api_key: str | None = None,
    vad: str = "auto",
    concurrency: int = 4,
    allow_origins: Sequence[str] = (),
    allow_hosts: Sequence[str] = (),
    no_auth: bool = False,
) -> None:
    """Load the engine (once, before listening), then serve until interrupted."""
    from polyvox.errors import require
    from polyvox.server import ServerOptions, create_app  # raises MissingExtraError without the extra
    from polyvox.server.config import MAX_FRAME_BYTES
    from polyvox.server.origin import OriginPolicy

    uvicorn = require("uvicorn", "polyvox serve", "server")

    key = api_key or os.environ.get("POLYVOX_API_KEY") or None
    notice = access_notice(host, key, no_auth)  # before the models load: a refused set-up fails fast
    policy = OriginPolicy.of(allow_origins, allow_hosts)
    instance = engine_factory(engine, concurrency)()  # models load here: a missing model fails before the port opens
    app = create_app(lambda: instance, ServerOptions(api_key=key, vad=vad, origins=policy))
    print(f"polyvox: {notice}", file=sys.stderr)
    if policy.allowed_origins or policy.allowed_hosts:
        extra = [*(f"origin {o}" for o in policy.allowed_origins), *(f"host {h}" for h in policy.allowed_hosts)]
        print(f"polyvox: also serving {', '.join(extra)}", file=sys.stderr)
    print(
        f"polyvox: {instance.name} engine on http://{host}:{port}/  (Realtime: ws://{host}:{port}/v1/realtime)",
        file=sys.stderr,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", ws_max_size=MAX_FRAME_BYTES, ws_ping_interval=20.0)


def run(args: argparse.Namespace) -> int:
    """`polyvox serve` handler: exit code 0 after a clean shutdown; PolyvoxError propagates to the CLI."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serve(
        args.host,
        args.port,
        args.engine,
        args.api_key,
        args.vad,
        args.concurrency,
        args.allow_origin,
        args.allow_host,
        args.no_auth,
    )
    return 0
