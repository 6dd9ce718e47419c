"""The four front ends behind one small interface, so each compliance scenario is written once.

In the manner of google-auth's ``tests/transport/compliance.py``: a scenario talks to a
:class:`FrontEnd` (``get``, ``post``, ``run_concurrently``, ``close``) and reads the capability
flags; it never asks which library is underneath. The front ends:

=================  ===========================================================================
requests-adapter   ``genesys_auth_adapter.session(creds, ...)``: a GenesysSession with the adapter
requests-auth      ``requests.Session()`` with ``auth=GenesysAuth(creds)`` on each call (answers a
                   401 once; retries are the adapter's, so ``retries`` is False)
httpx-sync         ``genesys_auth_adapter.httpx.client(creds, ...)``
httpx-async        ``genesys_auth_adapter.httpx.async_client(creds, ...)``
=================  ===========================================================================

Every method is a coroutine so that one scenario body serves all four: :func:`scenario` runs it in
``asyncio.run`` (no pytest-asyncio). The sync front ends simply block inside the coroutine, which is
harmless since nothing else runs on that event loop.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import functools
import hashlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import anyio
import httpx
import requests
import urllib3

import genesys_auth_adapter.httpx as ghttpx
from genesys_auth_adapter import (
    ClientCredentials,
    Clock,
    GenesysAuth,
    GenesysSession,
    RetryPolicy,
    SystemClock,
    Token,
    attempts,
    session,
)
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.httpx import GenesysHttpxAuth

#: Connect and read timeouts of API and token requests: every call ends, even against a stuck server.
CONNECT_TIMEOUT, READ_TIMEOUT = 5.0, 15.0

#: Retries with real but tiny backoff waits (a server's Retry-After is still obeyed as given).
FAST_RETRY = RetryPolicy(backoff=0.01, max_backoff=0.05)


class RecordingClock(SystemClock):
    """The real clock, remembering every sleep the library asked it for."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        super().sleep(seconds)


class Body(enum.Enum):
    """Request body kinds, neutral; each front end maps them onto its library's arguments."""

    BYTES = "bytes"
    STR = "str"
    FORM = "form"
    JSON = "json"
    MULTIPART = "multipart"
    SEEKABLE_FILE = "seekable-file"  # a file on disk, positioned at offset 5
    GENERATOR = "generator"  # a generator (an async generator for httpx-async): cannot be replayed


BINARY = b"\x00\x01binary\xff" * 100
TEXT = "caf\u00e9 text"
FORM = {"a": "1", "b": "two words"}
JSON_BODY = {"interval": "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", "n": [1, 2, 3]}
MULTIPART = {"file": ("report.csv", b"a,b\n1,2\n", "text/csv")}
FILE_CONTENT = b"SKIP!" + b"payload after position five" * 100
FILE_OFFSET = 5
CHUNKS = (b"first chunk,", b"second chunk")


_URLLIB3_MAJOR = int(urllib3.__version__.split(".")[0])


def expected_sha256(kind: Body) -> str | None:
    """The sha256 of the bytes a body kind must put on the wire, where the encoding is not the library's.

    A ``str`` body's bytes are the HTTP stack's choice, not ours: ``http.client`` under urllib3 1.x sends
    it as Latin-1, urllib3 2.x and httpx as UTF-8. Only the identity of the two sends is checked then.
    """
    if kind is Body.STR and _URLLIB3_MAJOR < 2:
        return None
    wire = {
        Body.BYTES: BINARY,
        Body.STR: TEXT.encode("utf-8"),
        Body.SEEKABLE_FILE: FILE_CONTENT[FILE_OFFSET:],
    }.get(kind)
    return None if wire is None else hashlib.sha256(wire).hexdigest()


class Reply:
    """What a scenario may look at in a response, whichever library produced it.

    Attributes:
        status: The HTTP status.
        content: The body.
        headers: The response headers (case-insensitive, as each library's own).
        url: The final URL (after redirects).
        attempts: ``attempts(response)``: sends it took, a 401 re-send included.
        authorization_sent: Whether the request that got this response carried ``Authorization``.
        raw: The library's own response.
    """

    def __init__(self, raw: requests.Response | httpx.Response) -> None:
        self.raw = raw
        self.status = raw.status_code
        self.content = raw.content
        self.headers: Mapping[str, str] = raw.headers
        self.url = str(raw.url)
        self.attempts = attempts(raw)
        assert raw.request is not None
        self.authorization_sent = "Authorization" in raw.request.headers

    def json(self) -> Any:
        return json.loads(self.content)


class FrontEnd(abc.ABC):
    """One client of one front end, aimed at one emulator.

    Attributes:
        kind: The front end kind that opened it.
        clock: The clock the library reads (and, for the sync front ends, sleeps on).
        auth: The library's auth object (``GenesysAuth`` or ``GenesysHttpxAuth``).
    """

    #: How many callers :meth:`run_concurrently` starts by default: threads, or tasks on one loop.
    concurrency = 32
    #: Whether 429, 5xx and connection failures are retried (False: the first answer is the caller's).
    retries = True
    #: What a dropped connection raises out of this front end when it is not retried.
    connection_error: type[BaseException] = requests.ConnectionError

    def __init__(self, kind: FrontEndKind, emu: Emulator, clock: Clock, retry: RetryPolicy, store: str | None) -> None:
        self.kind = kind
        self.emu = emu
        self.clock = clock
        self.credentials = credentials_for(emu)
        self._files: list[Any] = []

    @property
    def sleeps(self) -> list[float] | None:
        """Every wait the library asked the clock for, or None where waits are not the clock's (asyncio)."""
        return self.clock.sleeps if isinstance(self.clock, RecordingClock) else None

    @property
    @abc.abstractmethod
    def auth(self) -> GenesysAuth | GenesysHttpxAuth:
        """The auth object."""

    @abc.abstractmethod
    def current(self) -> Token | None:
        """The token the library holds now."""

    @abc.abstractmethod
    def reprs(self) -> list[str]:
        """The reprs of every object of this front end a user could print."""

    @abc.abstractmethod
    async def request(self, method: str, target: str, **options: Any) -> Reply:
        """Send ``method target`` (a path under the API base, or an absolute URL) with library options."""

    @abc.abstractmethod
    async def body_options(self, body: Body, folder: Path) -> dict[str, Any]:
        """This library's arguments for a body kind (files are made in ``folder``, closed by :meth:`close`)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the client (and any file opened for a body)."""

    async def get(self, target: str, **options: Any) -> Reply:
        return await self.request("GET", target, **options)

    async def post(self, target: str, body: Body | None = None, folder: Path | None = None, **options: Any) -> Reply:
        """POST with ``options`` as given, or with a neutral ``body`` kind mapped for this library."""
        if body is not None:
            assert folder is not None, "a body kind needs a folder for its file"
            options.update(await self.body_options(body, folder))
        return await self.request("POST", target, **options)

    @abc.abstractmethod
    async def run_concurrently(self, path: str, n: int | None = None) -> list[int]:
        """GET ``path`` from ``n`` callers (``concurrency`` by default) that truly overlap; their statuses."""

    def _url(self, target: str) -> str:
        return target if "://" in target else self.credentials.api_url + target

    def _file_at_offset(self, folder: Path) -> Any:
        path = folder / "upload.bin"
        path.write_bytes(FILE_CONTENT)
        handle = path.open("rb")
        self._files.append(handle)
        handle.seek(FILE_OFFSET)
        return handle

    def _close_files(self) -> None:
        for handle in self._files:
            handle.close()


class _Blocking(FrontEnd):
    """A front end whose calls block: the coroutine methods wrap :meth:`send`."""

    @abc.abstractmethod
    def send(self, method: str, target: str, **options: Any) -> Reply:
        """Send ``method target`` and wait for the reply."""

    async def request(self, method: str, target: str, **options: Any) -> Reply:
        return self.send(method, target, **options)

    async def run_concurrently(self, path: str, n: int | None = None) -> list[int]:
        """GET ``path`` from ``n`` threads released together at a barrier."""
        n = self.concurrency if n is None else n
        start = threading.Barrier(n, timeout=10)

        def call(_: int) -> int:
            start.wait()
            return self.send("GET", path).status

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(call, range(n)))


class _Requests(_Blocking):
    """What the two requests front ends share: the body kinds."""

    async def body_options(self, body: Body, folder: Path) -> dict[str, Any]:
        if body is Body.BYTES:
            return {"data": BINARY}
        if body is Body.STR:
            return {"data": TEXT, "headers": {"Content-Type": "text/plain; charset=utf-8"}}
        if body is Body.FORM:
            return {"data": dict(FORM)}
        if body is Body.JSON:
            return {"json": JSON_BODY}
        if body is Body.MULTIPART:
            return {"files": dict(MULTIPART)}
        if body is Body.SEEKABLE_FILE:
            return {"data": self._file_at_offset(folder)}

        def chunks() -> Iterator[bytes]:
            yield from CHUNKS

        return {"data": chunks()}


class RequestsAdapter(_Requests):
    """``session(creds, ...)``: the adapter mounted on the API base, retries included."""

    def __init__(self, kind: FrontEndKind, emu: Emulator, clock: Clock, retry: RetryPolicy, store: str | None) -> None:
        super().__init__(kind, emu, clock, retry, store)
        self.session: GenesysSession = session(
            self.credentials, clock=clock, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), retry=retry, store=store
        )

    @property
    def auth(self) -> GenesysAuth:
        return self.session.genesys_auth

    def current(self) -> Token | None:
        return self.auth.manager.current

    def reprs(self) -> list[str]:
        return [repr(self.session), repr(self.auth), repr(self.auth.manager), repr(self.current())]

    def send(self, method: str, target: str, **options: Any) -> Reply:
        return Reply(self.session.request(method, target, **options))

    async def close(self) -> None:
        self.session.close()
        self._close_files()


class RequestsAuth(_Requests):
    """A plain ``requests.Session`` with ``auth=GenesysAuth(creds)`` on each call: no retries."""

    retries = False

    def __init__(self, kind: FrontEndKind, emu: Emulator, clock: Clock, retry: RetryPolicy, store: str | None) -> None:
        super().__init__(kind, emu, clock, retry, store)
        self._auth = GenesysAuth(
            self.credentials, clock=clock, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), retry=retry, store=store
        )
        self.session = requests.Session()

    @property
    def auth(self) -> GenesysAuth:
        return self._auth

    def current(self) -> Token | None:
        return self._auth.manager.current

    def reprs(self) -> list[str]:
        return [repr(self._auth), repr(self._auth.manager), repr(self.current())]

    def send(self, method: str, target: str, **options: Any) -> Reply:
        options.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
        return Reply(self.session.request(method, self._url(target), auth=self._auth, **options))

    async def close(self) -> None:
        self.session.close()
        self._auth.close()
        self._close_files()


def _httpx_options(clock: Clock, retry: RetryPolicy, store: str | None) -> dict[str, Any]:
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return {"clock": clock, "retry": retry, "timeout": timeout, "token_timeout": timeout, "store": store}


class _Httpx(FrontEnd):
    connection_error = httpx.TransportError

    async def body_options(self, body: Body, folder: Path) -> dict[str, Any]:
        if body is Body.BYTES:
            return {"content": BINARY}
        if body is Body.STR:
            return {"content": TEXT, "headers": {"Content-Type": "text/plain; charset=utf-8"}}
        if body is Body.FORM:
            return {"data": dict(FORM)}
        if body is Body.JSON:
            return {"json": JSON_BODY}
        if body is Body.MULTIPART:
            return {"files": dict(MULTIPART)}
        if body is Body.SEEKABLE_FILE:
            # httpx takes the Content-Length of a file from its size, not from its position: say it.
            length = str(len(FILE_CONTENT) - FILE_OFFSET)
            return {"content": await self._seekable_file(folder), "headers": {"Content-Length": length}}
        return {"content": self._generator()}

    async def _seekable_file(self, folder: Path) -> Any:
        return self._file_at_offset(folder)

    def _generator(self) -> Any:
        def chunks() -> Iterator[bytes]:
            yield from CHUNKS

        return chunks()

    @property
    @abc.abstractmethod
    def client(self) -> httpx.Client | httpx.AsyncClient:
        """The httpx client."""

    @property
    def auth(self) -> GenesysHttpxAuth:
        auth = self.client.auth
        assert isinstance(auth, GenesysHttpxAuth)
        return auth

    def current(self) -> Token | None:
        return self.auth.state.current

    def reprs(self) -> list[str]:
        auth = self.auth
        return [repr(self.client), repr(auth), repr(auth.state), repr(auth.tokens), repr(self.current())]


class HttpxSync(_Httpx, _Blocking):
    """``genesys_auth_adapter.httpx.client(creds, ...)``."""

    def __init__(self, kind: FrontEndKind, emu: Emulator, clock: Clock, retry: RetryPolicy, store: str | None) -> None:
        super().__init__(kind, emu, clock, retry, store)
        self._client = ghttpx.client(self.credentials, **_httpx_options(clock, retry, store))

    @property
    def client(self) -> httpx.Client:
        return self._client

    def send(self, method: str, target: str, **options: Any) -> Reply:
        return Reply(self._client.request(method, target, **options))

    async def close(self) -> None:
        self._client.close()
        self._close_files()


class HttpxAsync(_Httpx):
    """``genesys_auth_adapter.httpx.async_client(creds, ...)``: every call awaited on the scenario's loop."""

    concurrency = 200

    def __init__(self, kind: FrontEndKind, emu: Emulator, clock: Clock, retry: RetryPolicy, store: str | None) -> None:
        super().__init__(kind, emu, clock, retry, store)
        self._client = ghttpx.async_client(self.credentials, **_httpx_options(clock, retry, store))
        self._async_files: list[anyio.AsyncFile[bytes]] = []

    @property
    def sleeps(self) -> list[float] | None:
        return None  # retries wait with asyncio.sleep, not on the clock

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def request(self, method: str, target: str, **options: Any) -> Reply:
        return Reply(await self._client.request(method, target, **options))

    async def _seekable_file(self, folder: Path) -> Any:
        path = folder / "upload.bin"
        path.write_bytes(FILE_CONTENT)
        handle = await anyio.open_file(path, "rb")
        self._async_files.append(handle)
        await handle.seek(FILE_OFFSET)
        return handle

    def _generator(self) -> Any:
        async def chunks() -> AsyncIterator[bytes]:
            for chunk in CHUNKS:
                yield chunk

        return chunks()

    async def run_concurrently(self, path: str, n: int | None = None) -> list[int]:
        """GET ``path`` from ``n`` tasks on this loop, all started before any of them sends."""
        n = self.concurrency if n is None else n
        waiting = 0
        go = asyncio.Event()

        async def call() -> int:
            nonlocal waiting
            waiting += 1
            if waiting == n:
                go.set()
            await go.wait()
            return (await self.get(path)).status

        return list(await asyncio.wait_for(asyncio.gather(*(call() for _ in range(n))), timeout=45))

    async def close(self) -> None:
        await self._client.aclose()
        for handle in self._async_files:
            await handle.aclose()
        self._close_files()


class FrontEndKind:
    """One of the four front ends: opens clients of it and closes them all at the end of a scenario."""

    def __init__(self, name: str, make: type[FrontEnd]) -> None:
        self.name = name
        self._make = make
        self._opened: list[FrontEnd] = []

    @property
    def retries(self) -> bool:
        return self._make.retries

    def open(
        self, emu: Emulator, *, clock: Clock | None = None, retry: RetryPolicy = FAST_RETRY, store: str | None = None
    ) -> FrontEnd:
        """A new client aimed at ``emu`` (a :class:`RecordingClock` unless ``clock`` is given), sharing tokens
        through ``store`` (a ``store=`` string such as ``"file:/dir"``) when given."""
        front_end = self._make(self, emu, clock if clock is not None else RecordingClock(), retry, store)
        self._opened.append(front_end)
        return front_end

    async def close_all(self) -> None:
        opened, self._opened = self._opened, []
        for front_end in opened:
            await front_end.close()

    def __repr__(self) -> str:
        return self.name


KINDS: dict[str, type[FrontEnd]] = {
    "requests-adapter": RequestsAdapter,
    "requests-auth": RequestsAuth,
    "httpx-sync": HttpxSync,
    "httpx-async": HttpxAsync,
}


def credentials_for(emu: Emulator) -> ClientCredentials:
    env = emu.env()
    return ClientCredentials(
        env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"], api_url=emu.api_url, login_url=emu.login_url
    )


def scenario(body: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Make an ``async def`` scenario a plain test: run it in ``asyncio.run`` and close every client it
    opened on that same loop (an ``httpx.AsyncClient`` must be closed on the loop it ran on)."""

    @functools.wraps(body)
    def test(**fixtures: Any) -> None:
        kinds = {value for value in fixtures.values() if isinstance(value, FrontEndKind)}
        kinds |= {value.kind for value in fixtures.values() if isinstance(value, FrontEnd)}

        async def main() -> None:
            try:
                await body(**fixtures)
            finally:
                for kind in kinds:
                    await kind.close_all()

        asyncio.run(main())

    return test
