"""Who may talk to the server from a browser: Host and Origin checks (cross-site WebSocket hijacking, DNS rebinding).

A local server without a key is open to every program on the machine, and, without these checks, to every
web page the user visits: browsers let any page open a WebSocket to 127.0.0.1, and a page on a domain the
attacker re-points at 127.0.0.1 (DNS rebinding) even passes a same-origin test. So, as Jupyter does:

- Host: the request's `Host` header must be a loopback name (`localhost`, `*.localhost`), an IP literal (a
  browser only sends one when the user typed it: no rebinding), or a name given with `--allow-host`
  (`*` = any; for a server behind a reverse proxy). This defeats DNS rebinding.
- Origin: a request from a browser page (it carries `Origin`) is served only if the page is the server's own
  (same host and port as `Host`) or its origin is given with `--allow-origin` (`*` = any; `null` = sandboxed
  frames and file:// pages). A request without `Origin` comes from a program, not a page, and passes.
  Checked on every WebSocket handshake and every HTTP request that can act (not GET/HEAD/OPTIONS).

A refused request gets HTTP 403 and a log line that says which flag would allow it. The check is ASGI
middleware (`OriginGuard`), so it covers every route, present and future.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # HTTP requests that only read
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@dataclass(frozen=True)
class OriginPolicy:
    """Which Host headers and browser origins the server answers (the defaults: loopback, same-origin)."""

    allowed_origins: tuple[str, ...] = ()  # extra origins ("https://app.example.com", "null"); "*" = any page
    allowed_hosts: tuple[str, ...] = ()  # extra Host names ("polyvox.example.com"); "*" = any Host

    @classmethod
    def of(cls, origins: Iterable[str] = (), hosts: Iterable[str] = ()) -> OriginPolicy:
        """A policy from the command-line values (normalised: lower case, no trailing slash)."""
        return cls(
            tuple(o.strip().rstrip("/").lower() for o in origins if o.strip()),
            tuple(h.strip().lower() for h in hosts if h.strip()),
        )

    def host_refusal(self, host_header: str | None) -> str | None:
        """Why this `Host` is refused, or None if it is served."""
        if "*" in self.allowed_hosts:
            return None
        host, _ = split_host(host_header or "")
        if not host:
            return "the request has no Host header"
        if is_local_host(host) or host in self.allowed_hosts:
            return None
        return f"Host '{host[:100]}' is not a loopback name or IP address (--allow-host {host[:100]} to serve it)"

    def origin_refusal(self, origin: str | None, host_header: str | None) -> str | None:
        """Why a request from page `origin` is refused, or None (no Origin: not a browser page; served)."""
        if origin is None:
            return None
        o = origin.strip().rstrip("/").lower()
        if "*" in self.allowed_origins or o in self.allowed_origins:
            return None
        if o != "null" and same_origin(o, host_header or ""):
            return None
        return f"a page at origin '{o[:100]}' may not use this server (--allow-origin {o[:100]} to allow it)"


HOST_RE = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::(?P<port>[0-9]{1,5}))?")


def split_host(value: str) -> tuple[str, int | None]:
    """'Host' header -> (lower-case host without brackets, port or None); ("", None) if it is not one host."""
    value = value.strip().lower()
    m = HOST_RE.fullmatch(value)
    if m is None:
        try:  # a bare IPv6 address (no brackets, so no port)
            return str(ipaddress.IPv6Address(value)), None
        except ValueError:
            return "", None
    port = int(m["port"]) if m["port"] else None
    return (m["v6"] or m["name"]).rstrip("."), port


def is_local_host(host: str) -> bool:
    """A name no DNS rebinding can produce: localhost, *.localhost, or any IP literal."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def same_origin(origin: str, host_header: str) -> bool:
    """True if the page at `origin` ("http://h:p") is served by this server, reached as `host_header`."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    host, port = split_host(host_header)
    return bool(parts.hostname) and parts.hostname == host and origin_port == (port or DEFAULT_PORTS.get(parts.scheme))


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    """The header's value; a header sent twice reads as "" (refused: which one would the page mean?)."""
    values = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == name]
    return values[0] if len(values) == 1 else ("" if values else None)


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class OriginGuard:
    """ASGI middleware: refuse (403) requests whose Host or Origin the policy does not serve."""

    def __init__(self, app: Callable[..., Awaitable[None]], policy: OriginPolicy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = _header(scope, b"host")
        why = self.policy.host_refusal(host)
        if why is None and (kind == "websocket" or scope.get("method", "GET") not in SAFE_METHODS):
            why = self.policy.origin_refusal(_header(scope, b"origin"), host)
        if why is None:
            return await self.app(scope, receive, send)
        log.warning(
            "refused %s %s: %s", "WebSocket" if kind == "websocket" else scope.get("method"), scope["path"], why
        )
        if kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": "forbidden"})  # before accept: HTTP 403
            return None
        body = f"forbidden: {why}\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return None
