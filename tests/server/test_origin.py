"""Host and Origin checks: no web page of another site can drive a local server (CSWSH, DNS rebinding)."""

from __future__ import annotations

import http.client
import logging

import pytest
from realtime_helpers import Server, start

from polyvox.errors import PolyvoxError
from polyvox.server.commands import access_notice, is_loopback
from polyvox.server.origin import OriginPolicy, is_local_host, same_origin, split_host
from polyvox.server.testing import ScriptedEngine

# -- the policy, without a server -------------------------------------------------------------------


def test_host_header_parsing():
    assert split_host("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("LocalHost") == ("localhost", None)
    assert split_host("::1") == ("::1", None)  # bare IPv6 (no brackets): no port
    assert split_host("evil.example.:80") == ("evil.example", 80)
    for bad in ("127.0.0.1:1, evil.example", "a b", "127.0.0.1:x", "", "[::1"):
        assert split_host(bad) == ("", None)


@pytest.mark.parametrize(
    "host", ["localhost", "app.localhost", "127.0.0.1", "::1", "192.168.1.20", "10.0.0.5"]
)  # IP literals cannot be rebound: a browser sends one only when the user typed it
def test_local_hosts(host):
    assert is_local_host(host)


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io", ""])
def test_rebindable_hosts(host):
    assert not is_local_host(host)


def test_same_origin_compares_host_and_port():
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert same_origin("http://localhost", "localhost")  # default ports on both sides
    assert same_origin("https://polyvox.example", "polyvox.example")
    assert same_origin("http://[::1]:8000", "[::1]:8000")
    assert not same_origin("http://localhost:3000", "localhost:8000")  # another local server's page
    assert not same_origin("http://localhost:8000", "127.0.0.1:8000")
    assert not same_origin("http://evil.example", "127.0.0.1:8000")
    assert not same_origin("not a url", "127.0.0.1:8000")
    assert not same_origin("http://h:99999", "h:99999")  # bad port: refused, not an exception


def test_policy_defaults_and_allow_lists():
    p = OriginPolicy()
    assert p.host_refusal("127.0.0.1:8000") is None and p.host_refusal("localhost:8000") is None
    assert "--allow-host evil.example" in p.host_refusal("evil.example:8000")
    assert p.host_refusal(None) is not None
    assert p.origin_refusal(None, "127.0.0.1:8000") is None  # a program (no Origin): served
    assert p.origin_refusal("http://127.0.0.1:8000", "127.0.0.1:8000") is None  # the server's own page
    for o in ("http://evil.example", "null", "http://localhost:3000"):
        assert "--allow-origin" in p.origin_refusal(o, "127.0.0.1:8000")
    q = OriginPolicy.of(["https://App.example.com/", "null"], ["polyvox.example"])
    assert q.origin_refusal("https://app.example.com", "127.0.0.1:8000") is None
    assert q.origin_refusal("null", "127.0.0.1:8000") is None
    assert q.origin_refusal("https://other.example", "127.0.0.1:8000") is not None
    assert q.host_refusal("polyvox.example") is None and q.host_refusal("other.example") is not None
    anything = OriginPolicy.of(["*"], ["*"])
    assert anything.origin_refusal("http://evil.example", "x") is None and anything.host_refusal("x") is None


def test_serve_refuses_open_non_loopback_and_says_who_can_connect():
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert "loopback" in access_notice("127.0.0.1", None)
    with pytest.raises(PolyvoxError, match="without an API key") as info:
        access_notice("0.0.0.0", None)
    assert "--no-auth" in info.value.hint
    assert "anyone" in access_notice("0.0.0.0", None, no_auth=True)
    assert "API key required" in access_notice("0.0.0.0", "k")


# -- a real server -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded():
    engine = ScriptedEngine()
    app, ctx = start(engine, origins=OriginPolicy.of(["https://app.example.com"]))
    with ctx as port:
        yield Server(port, engine, app)


def _http(port: int, method: str, path: str, **headers: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, "" if r.status == 101 else r.read().decode()
    finally:
        conn.close()


def _handshake_status(s: Server, **headers: str) -> int:
    """The HTTP status of a WebSocket handshake sent with exactly these headers (101 = accepted)."""
    fixed = {
        "Host": f"127.0.0.1:{s.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    return _http(s.port, "GET", "/v1/realtime?model=polyvox", **{**fixed, **headers})[0]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},  # cross-site WebSocket hijacking
        {"Origin": "null"},  # a sandboxed iframe or a file:// page
        {"Origin": "http://localhost:3000"},  # another local server's page
        {"Host": "evil.example:80", "Origin": "http://evil.example"},  # DNS rebinding: same-origin, wrong host
        {"Host": "evil.example"},  # rebinding from a page that sends no Origin
        {"Host": "127.0.0.1:1, evil.example"},  # not one plain Host
    ],
)
def test_foreign_pages_are_refused_with_403_and_a_log_line(guarded, headers, caplog):
    with caplog.at_level(logging.WARNING, logger="polyvox.server.origin"):
        assert _handshake_status(guarded, **headers) == 403
    assert any("refused WebSocket /v1/realtime" in r.getMessage() for r in caplog.records)
    assert len(guarded.app.state.sessions) == 0


def test_own_page_programs_and_allowed_origins_connect(guarded):
    port = guarded.port
    assert _handshake_status(guarded) == 101  # a program: no Origin
    assert _handshake_status(guarded, Origin=f"http://127.0.0.1:{port}") == 101  # the server's own page
    assert _handshake_status(guarded, Origin="https://app.example.com") == 101  # --allow-origin
    assert _handshake_status(guarded, Host=f"localhost:{port}", Origin=f"http://localhost:{port}") == 101

    async def body(s):  # and the protocol works through the guard
        c = await s.connect(origin=f"http://127.0.0.1:{s.port}")
        await c.session(instructions="hi")
        await c.ws.close()

    guarded.run(body)


def test_http_routes_check_host_and_acting_requests_check_origin(guarded):
    port = guarded.port
    assert _http(port, "GET", "/")[0] == 200
    assert _http(port, "GET", "/", Origin="http://evil.example")[0] == 200  # reading the page acts on nothing
    status, body = _http(port, "GET", "/healthz", Host="evil.example")  # DNS rebinding reads nothing
    assert status == 403 and "--allow-host" in body
    status, body = _http(port, "POST", "/healthz", Origin="http://evil.example")  # an acting request
    assert status == 403 and "--allow-origin" in body
    assert _http(port, "POST", "/healthz", Origin=f"http://127.0.0.1:{port}")[0] == 405  # passed the guard


def test_healthz_with_a_key_tells_strangers_only_that_it_is_up():
    engine = ScriptedEngine()
    _app, ctx = start(engine, api_key="k3y")
    with ctx as port:
        status, body = _http(port, "GET", "/healthz")
        assert status == 200 and "sessions" not in body
        status, body = _http(port, "GET", "/healthz", Authorization="Bearer k3y")
        assert status == 200 and '"sessions":0' in body
