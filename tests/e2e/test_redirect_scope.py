"""Redirect hops carry the token only inside the API base, with a path-prefixed base (a gateway).

requests and httpx drop ``Authorization`` on a redirect only when the host (origin) changes; these hops
stay on the same host and leave the ``/genesys`` prefix, so only the library's own scope check keeps
the token off them, and gives it back to a hop that returns inside the prefix.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests

from genesys_auth_adapter import ClientCredentials, GenesysAdapter, GenesysAuth, session
from genesys_auth_adapter import httpx as genesys_httpx


@dataclass
class Gateway:
    """A gateway on 127.0.0.1 that serves Genesys under ``/genesys`` and other tenants beside it."""

    url: str
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization) per request
    tokens: list[str] = field(default_factory=list)

    def auth_at(self, path: str) -> list[str | None]:
        return [auth for seen_path, auth in self.seen if seen_path == path]


def serve(gateway: Gateway, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], dict[str, Any]]:
    path = handler.path
    auth = handler.headers.get("Authorization")
    if path == "/login/oauth/token":
        token = f"token-{len(gateway.tokens) + 1}"
        gateway.tokens.append(token)
        return 200, {}, {"access_token": token, "token_type": "bearer", "expires_in": 3600}
    gateway.seen.append((path, auth))
    if path == "/genesys/api/v2/away":  # same host, out of the prefix
        return 302, {"Location": "/other-tenant/landing"}, {}
    if path == "/genesys/api/v2/away-absolute":
        return 302, {"Location": gateway.url + "/other-tenant/landing"}, {}
    if path == "/genesys/api/v2/away-dots":  # inside the prefix only until the dots are resolved
        return 302, {"Location": gateway.url + "/genesys/../other-tenant/landing"}, {}
    if path == "/genesys/api/v2/away-encoded-dots":
        return 302, {"Location": "/genesys/%2e%2e/other-tenant/landing"}, {}
    if path == "/genesys/api/v2/inside":
        return 302, {"Location": "/genesys/api/v2/landing"}, {}
    if path == "/genesys/api/v2/start":  # out of the prefix, then back inside it
        return 302, {"Location": "/other/hop"}, {}
    if path == "/other/hop":
        return 302, {"Location": "/genesys/api/v2/final"}, {}
    if path == "/genesys/api/v2/final":
        if auth is None or auth.removeprefix("Bearer ") not in gateway.tokens:
            return 401, {}, {"code": "authentication.required", "status": 401, "message": "No token."}
        return 200, {}, {"path": path}
    if path == "/genesys/api/v2/rejects-first-token":
        if auth == "Bearer token-1":
            return 401, {}, {"code": "bad.credentials", "status": 401, "message": "Invalid login credentials."}
        return 302, {"Location": "/other-tenant/landing"}, {}
    return 200, {}, {"path": path}


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, headers, body = serve(state, self)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


def credentials(gateway: Gateway) -> ClientCredentials:
    return ClientCredentials("client", "secret", api_url=gateway.url + "/genesys", login_url=gateway.url + "/login")


def get(mode: str, gateway: Gateway, path: str) -> requests.Response | httpx.Response:
    """GET through one of the ways to use the library (closing what it opened)."""
    creds = credentials(gateway)
    if mode == "httpx":
        with genesys_httpx.client(creds, store=None) as c:
            return c.get(path, timeout=10)
    if mode == "httpx-async":

        async def aget() -> httpx.Response:
            async with genesys_httpx.async_client(creds, store=None) as c:
                return await c.get(path, timeout=10)

        return asyncio.run(aget())
    if mode == "session":
        with session(creds) as s:
            return s.get(path, timeout=10)
    auth = GenesysAuth(creds)
    try:
        if mode == "auth":
            return requests.get(creds.api_url + path, auth=auth, timeout=10)
        with requests.Session() as s:  # the adapter mounted on the whole host: the hops reach it too
            s.mount(gateway.url + "/", GenesysAdapter(auth))
            return s.get(creds.api_url + path, timeout=10)
    finally:
        auth.close()


MODES = ["session", "auth", "wide-mount", "httpx", "httpx-async"]
#: The ways that see every hop (the requests adapter; httpx through the library's transport).
HOP_MODES = [mode for mode in MODES if mode != "auth"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("path", "landing", "httpx_landing"),  # httpx resolves plain dot segments and sends %2e as it is
    [
        ("/api/v2/away", "/other-tenant/landing", "/other-tenant/landing"),
        ("/api/v2/away-absolute", "/other-tenant/landing", "/other-tenant/landing"),
        # Pins: dot segments (plain or %2e-encoded) counted as inside /genesys, so the token went along.
        ("/api/v2/away-dots", "/genesys/../other-tenant/landing", "/other-tenant/landing"),
        ("/api/v2/away-encoded-dots", "/other-tenant/landing", "/genesys/%2e%2e/other-tenant/landing"),
    ],
)
def test_a_same_host_redirect_out_of_the_api_prefix_carries_no_token(
    gateway: Gateway, mode: str, path: str, landing: str, httpx_landing: str
) -> None:
    """Pins: the bearer token went to /other-tenant/... because the host did not change."""
    if mode.startswith("httpx"):
        landing = httpx_landing
    response = get(mode, gateway, path)
    assert response.status_code == 200
    assert response.json() == {"path": landing}
    assert gateway.auth_at("/genesys" + path) == ["Bearer token-1"]
    assert gateway.auth_at(landing) == [None]


@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_inside_the_api_prefix_keeps_the_token(gateway: Gateway, mode: str) -> None:
    response = get(mode, gateway, "/api/v2/inside")
    assert response.status_code == 200
    assert gateway.auth_at("/genesys/api/v2/landing") == ["Bearer token-1"]


@pytest.mark.parametrize("mode", MODES)
def test_a_resent_request_redirected_out_of_the_prefix_carries_no_token(gateway: Gateway, mode: str) -> None:
    response = get(mode, gateway, "/api/v2/rejects-first-token")
    assert response.status_code == 200
    assert gateway.auth_at("/genesys/api/v2/rejects-first-token") == ["Bearer token-1", "Bearer token-2"]
    assert gateway.auth_at("/other-tenant/landing") == [None]


def test_the_401_stays_in_history_when_the_resent_request_is_redirected(gateway: Gateway) -> None:
    """Pins: requests rebuilds ``history`` when it follows a redirect, which used to lose the 401."""
    response = get("session", gateway, "/api/v2/rejects-first-token")
    assert [r.status_code for r in response.history] == [401, 302]
    assert response.history[0].json()["code"] == "bad.credentials"


@pytest.mark.parametrize("mode", HOP_MODES)
def test_a_hop_back_inside_the_prefix_gets_the_token_again(gateway: Gateway, mode: str) -> None:
    """Pins (httpx): the hop back inside carried no token (httpx copies the stripped headers), got a 401,
    and the flow dropped the valid token for a new one."""
    response = get(mode, gateway, "/api/v2/start")
    assert response.status_code == 200
    assert gateway.auth_at("/genesys/api/v2/start") == ["Bearer token-1"]
    assert gateway.auth_at("/other/hop") == [None]
    assert gateway.auth_at("/genesys/api/v2/final") == ["Bearer token-1"]
    assert gateway.tokens == ["token-1"]


def test_auth_alone_leaves_a_hop_back_inside_without_a_token_and_keeps_the_token(gateway: Gateway) -> None:
    """``auth=`` is not called for a hop: the 401 of a hop without the token is no verdict on the token."""
    creds = credentials(gateway)
    auth = GenesysAuth(creds)
    try:
        response = requests.get(creds.api_url + "/api/v2/start", auth=auth, timeout=10)
        assert response.status_code == 401
        assert gateway.auth_at("/genesys/api/v2/final") == [None]
        assert requests.get(creds.api_url + "/api/v2/final", auth=auth, timeout=10).status_code == 200
    finally:
        auth.close()
    assert gateway.tokens == ["token-1"]
