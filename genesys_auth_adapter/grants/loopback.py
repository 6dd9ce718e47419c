"""The login's redirect server: HTTP on 127.0.0.1 only, for the one redirect that brings the code back.

The browser is sent to ``/oauth/authorize``; when the user has logged in, Genesys redirects it to the
registered loopback URI with ``code`` and ``state``. This server answers that one request with a page that
says the login is done (or why it failed), hands the code over, and is closed. It listens on 127.0.0.1
only (never on all interfaces), accepts nothing but a GET on the redirect path, ignores a redirect whose
state is not this login's (a stale tab), and never logs a request line (it carries the code). Each
connection has its own thread and a short socket timeout, so a browser's idle preconnection cannot hold
the real redirect up.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import LoginRequiredError
from .pkce import AuthorizationRequest

#: The only address the server listens on.
LOOPBACK = "127.0.0.1"
# How long a connection may take to send its request line and headers.
_SOCKET_TIMEOUT = 10.0
# The longest single wait between checks for Ctrl-C and the deadline.
_SLICE = 0.25

_DONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Genesys Cloud login</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>"""


@dataclass
class _Outcome:
    """What the redirect brought (set once, by the handler thread; read after ``done`` is set)."""

    code: str | None = field(default=None, repr=False)
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a port another process holds must fail, not be shared

    def __init__(self, port: int, path: str, request: AuthorizationRequest | None) -> None:
        self.path = path
        self.authorization: AuthorizationRequest | None = request
        self.outcome = _Outcome()
        super().__init__((LOOPBACK, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = _SOCKET_TIMEOUT
    server_version = "genesys-auth-login"
    sys_version = ""

    def do_GET(self) -> None:
        server = self.server
        parts = urlsplit(self.path)
        if (parts.path or "/") != server.path or server.authorization is None:
            self._page(404, "Not found", "This is the login's redirect address; nothing else is served here.")
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        state = query.get("state", [None])[0]
        if not server.authorization.state_matches(state):
            # Not this login's redirect (an older tab, another program): ignored, the wait goes on.
            self._page(400, "Not this login", "This page belongs to another login attempt: close it.")
            return
        outcome = server.outcome
        if outcome.done.is_set():
            self._page(200, "Already done", "The login is complete. You can close this tab.")
            return
        code = query.get("code", [""])[0].strip()
        error = query.get("error", [""])[0].strip()
        if code and not error:
            outcome.code = code
            self._page(200, "Logged in", "The login is complete. You can close this tab and return to the terminal.")
        else:
            description = query.get("error_description", [""])[0].strip()
            outcome.error = (error or "no code in the redirect") + (f": {description}" if description else "")
            self._page(400, "Login failed", f"Genesys Cloud said: {outcome.error}. Return to the terminal.")
        outcome.done.set()

    def _page(self, status: int, title: str, text: str) -> None:
        body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the address bar holds the code
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        """Nothing: a request line carries the authorization code."""


class LoopbackRedirect:
    """A redirect server on ``127.0.0.1:port`` (0: a free port the system picks), serving one login.

    Use it as a context manager: the socket is closed on leaving, whatever happened (Ctrl-C included).

    Args:
        port: The port to listen on; 0 for any free port.
        path: The redirect URI's path ("/" when it has none).

    Raises:
        LoginRequiredError: The port cannot be bound (in use, not allowed); the message says which.
    """

    def __init__(self, port: int = 0, path: str = "/") -> None:
        try:
            self._server = _Server(port, path or "/", None)
        except OSError as exc:
            raise LoginRequiredError(
                f"Cannot listen on {LOOPBACK}:{port} for the login's redirect ({exc.strerror or exc}): choose "
                "another port (--port), or register the redirect URI without a port so any free one works."
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="genesys-login-redirect"
        )
        self._thread.daemon = True
        self._started = False

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    def expect(self, request: AuthorizationRequest) -> None:
        """Start serving, waiting for the redirect of ``request`` (its state must come back)."""
        self._server.authorization = request
        if not self._started:
            self._started = True
            self._thread.start()

    def wait(self, timeout: float) -> str:
        """The authorization code of the expected redirect, once it has come.

        Waits in short slices, so Ctrl-C ends the wait at once (and the server is then closed by the
        context manager).

        Raises:
            LoginRequiredError: ``timeout`` seconds passed, or the redirect carried an error instead of a code.
        """
        outcome = self._server.outcome
        deadline = time.monotonic() + timeout
        while not outcome.done.wait(min(_SLICE, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise LoginRequiredError(
                    f"No login came back within {timeout:g} s: the browser never reached the redirect "
                    f"({LOOPBACK}:{self.port}). Run the login again, and finish it in the browser."
                )
        if outcome.code is None:
            raise LoginRequiredError(f"The login did not succeed: {outcome.error}. Run the login again.")
        return outcome.code

    def close(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._started:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        self._started = False

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LoopbackRedirect({LOOPBACK}:{self.port})"
