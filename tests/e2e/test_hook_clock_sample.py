"""The ``auth=`` hook's re-sent request is a clock sample with its true round trip.

A tiny loopback server, not the emulator: it must control every ``Date`` header (only the re-sent
response carries one) and hold that response back after stamping it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from genesys_auth_adapter import ClientCredentials, GenesysAuth

SKEW = 250.0  # the server clock minus the local clock
DELAY = 1.2  # how long the server holds the re-sent response back after stamping its Date
PATH = "/api/v2/organizations/me"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:  # the token endpoint
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.tokens += 1
        self._answer(200, {"access_token": f"tok-{self.server.tokens}", "token_type": "bearer", "expires_in": 3600})

    def do_GET(self) -> None:
        self.server.gets += 1
        if self.server.gets == 1:
            self._answer(401, {"code": "bad.credentials", "message": "Invalid login credentials."})
            return
        # Stamp the Date first and answer DELAY seconds later, as a server does whose handler is slow.
        # The gap is longer than the Date's one-second resolution, so a sample that ignores it (sent
        # taken as received) has an upper bound below the true offset, wherever in its second it lands.
        date = formatdate(math.floor(time.time() + SKEW), usegmt=True)
        time.sleep(DELAY)
        self._answer(200, {"id": "me"}, date)

    def _answer(self, status: int, body: dict[str, object], date: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response_only(status)  # no automatic Date: only the re-sent response is a sample
        if date is not None:
            self.send_header("Date", date)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class names it so
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tokens = 0
    gets = 0


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def test_the_resent_response_is_sampled_with_its_true_round_trip(server: _Server) -> None:
    """Pins: the re-sent response sampled as if it took no time (elapsed 0), an offset estimate off the truth."""
    base = f"http://127.0.0.1:{server.server_address[1]}"
    auth = GenesysAuth(ClientCredentials("client", "secret", api_url=base, login_url=base))
    try:
        response = requests.get(base + PATH, auth=auth, timeout=(5.0, 15.0))
    finally:
        auth.close()
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert (server.tokens, server.gets) == (2, 2)
    assert response.elapsed >= timedelta(seconds=DELAY)
    estimate = auth.clock_offset
    assert estimate is not None
    assert estimate.samples == 1  # the re-sent response's Date, the only one there was
    assert estimate.low <= SKEW <= estimate.high
