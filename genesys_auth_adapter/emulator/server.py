"""HTTP plumbing: one threaded HTTP/1.1 keep-alive server per origin, with prompt, bounded shutdown.

The handler parses each request (Content-Length or chunked body) into a :class:`Request`, hands it to the
origin's app and writes the :class:`Response` back with ``Date`` (server clock), ``ININ-Correlation-Id`` and
``Content-Length``. Access logging goes to the package logger at DEBUG, without query strings.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .errors import genesys_error, server_error
from .messages import App, Request, Response

logger = logging.getLogger("genesys_auth_adapter.emulator")

#: Largest request body read; a bigger one gets 413 and the connection closed.
MAX_BODY = 64 * 1024 * 1024

#: Seconds an idle keep-alive connection is kept before the server closes it.
IDLE_TIMEOUT = 120.0

_NO_BODY_STATUSES = frozenset({204, 304})


class _BodyError(Exception):
    """The request body could not be read; ``response`` (if any) is sent before closing."""

    def __init__(self, response: Response | None) -> None:
        super().__init__("unreadable request body")
        self.response = response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "genesys-emulator"
    timeout = IDLE_TIMEOUT
    server: _Server
    _headers_buffer: list[bytes]  # the base class's, undeclared in its stubs
    _headers_sent = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm meets the client's
        # delayed ACK and small responses stall for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            if exc.response is not None:
                self._answer(exc.response)
            return
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path or "/",
            query=parts.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app(request)
        except Exception:
            logger.exception("emulator route failed: %s %s", request.method, request.path)
            response = server_error(500)
        if response.drop:
            # Nothing is written: closing now gives the client EOF where it waits for a status line.
            self.close_connection = True
            return
        self._answer(response)

    def _answer(self, response: Response) -> None:
        """Writes ``response``; when that fails before any byte is sent, writes a 500 instead.

        A route's odd header or a clock that cannot be formatted must not leave the client with a
        closed connection and no answer.
        """
        try:
            self._write(response)
        except OSError:
            raise  # the client went away: nothing to answer
        except Exception:
            path = urlsplit(getattr(self, "path", "")).path
            logger.exception("emulator could not write its answer: %s %s", self.command, path)
            self.close_connection = True
            if self._headers_sent:
                return  # part of the answer is out: closing is all that is left
            self._headers_buffer = []
            self._write(server_error(500))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        try:
            length = int(declared)
        except ValueError:
            raise _BodyError(genesys_error(400, "bad.request", "Invalid Content-Length.")) from None
        if length < 0:
            raise _BodyError(genesys_error(400, "bad.request", "Invalid Content-Length."))
        if length > MAX_BODY:
            raise _BodyError(genesys_error(413, "request.entity.too.large", "The request body is too large."))
        data = self.rfile.read(length)
        if len(data) < length:
            raise _BodyError(None)
        return data

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _BodyError(None)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(genesys_error(400, "bad.request", "Malformed chunked body.")) from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                raise _BodyError(genesys_error(413, "request.entity.too.large", "The request body is too large."))
            data = self.rfile.read(size)
            if len(data) < size:
                raise _BodyError(None)
            chunks.append(data)
            self.rfile.readline(1024)
        # Trailer fields, if any, end with an empty line.
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _write(self, response: Response) -> None:
        self._headers_sent = False
        self.send_response(response.status)
        self.send_header("ININ-Correlation-Id", response.correlation_id or str(uuid.uuid4()))
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status not in _NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_sent = True
        self.end_headers()
        if self.command != "HEAD" and response.status not in _NO_BODY_STATUSES and response.body:
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Called by the base class for unparsable requests; answer in the same shape as everything else.
        self.close_connection = True
        reason = message or self.responses.get(code, ("Error", ""))[0]
        self._answer(genesys_error(code, "bad.request" if code < 500 else "server.error", reason))

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        try:
            when = self.server.clock() if timestamp is None else timestamp
            return email.utils.formatdate(when, usegmt=True)
        except (ArithmeticError, ValueError, OSError):
            # A server clock beyond what a date can say (the settings forbid it; stay answering anyway).
            logger.warning("%s: the server clock cannot be written as a date; sending local time", self.server.name)
            return email.utils.formatdate(time.time(), usegmt=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line carries query strings (signed URLs); log method and path only.
        path = urlsplit(getattr(self, "path", "")).path
        logger.debug("%s %s %s -> %s", self.server.name, self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        logger.debug("%s: %s", self.server.name, format % args)


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that tracks its connections so that stop() can end them."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        name: str,
        app: App,
        clock: Callable[[], float],
        on_connect: Callable[[], None],
    ) -> None:
        self.name = name
        self.app = app
        self.clock = clock
        self._on_connect = on_connect
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall for seconds without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        assert isinstance(request, socket.socket)
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"genesys-emulator-{self.name}-conn",
            daemon=True,
        )
        with self._lock:
            self._connections[request] = thread
        self._on_connect()
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            # A client that goes away mid-exchange is routine here, not an error worth a traceback.
            logger.debug("%s: connection ended with an error", self.name, exc_info=True)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._connections.pop(request, None)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        logger.debug("%s: error while accepting a connection", self.name, exc_info=True)

    def end_connections(self) -> list[threading.Thread]:
        """Shuts down every open connection, waking threads blocked on a keep-alive read.

        Returns:
            The threads serving those connections, to join.
        """
        with self._lock:
            items = list(self._connections.items())
        for sock, _ in items:
            # Already closed by its client or thread: nothing left to wake.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return [thread for _, thread in items]


class Origin:
    """One listening origin (login, API or storage): a server plus the thread that runs it.

    Args:
        name: ``login``, ``api`` or ``storage``; names the threads and log lines.
        app: The route function.
        clock: Returns server time, for the Date header.
        on_connect: Called once per accepted connection.
    """

    def __init__(self, name: str, app: App, clock: Callable[[], float], on_connect: Callable[[], None]) -> None:
        self.name = name
        self._app = app
        self._clock = clock
        self._on_connect = on_connect
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    def bind(self, host: str, port: int) -> None:
        """Binds the listening socket (port 0: an ephemeral port).

        Raises:
            OSError: When the port cannot be bound.
        """
        self._server = _Server((host, port), self.name, self._app, self._clock, self._on_connect)
        bound_host, bound_port = self._server.server_address[:2]
        self._url = f"http://{bound_host!s}:{bound_port}"

    @property
    def url(self) -> str:
        """``http://host:port`` of the bound socket; still answers after stop(), for in-flight requests."""
        if self._url is None:
            raise RuntimeError(f"the {self.name} origin was never bound")
        return self._url

    def start(self) -> None:
        """Starts serving on a daemon thread."""
        if self._server is None:
            raise RuntimeError(f"the {self.name} origin is not bound")
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"genesys-emulator-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stops accepting, ends open connections, closes the socket and joins the threads.

        Args:
            timeout: Total seconds to wait for threads; a thread still running after it is left (daemon).
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        deadline = time.monotonic() + timeout
        if thread is not None:
            # shutdown() waits for serve_forever to notice; it would wait forever if that never started.
            server.shutdown()
        workers = server.end_connections()
        server.server_close()
        for worker in ([thread] if thread is not None else []) + workers:
            worker.join(max(0.0, deadline - time.monotonic()))
