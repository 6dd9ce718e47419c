"""The httpx drivers of token requests (sync and async): a token source's request sent through the flow.

Async token requests go through ``httpx.AsyncClient``, never a blocking call on the event loop. Each
token request (about one per token lifetime) uses a short-lived client of its own unless one is
given, so an auth object works from any thread and any event loop (a client never outlives the loop
it was used on), and after a fork. Those clients share one SSL context (:class:`SslContext`), and an
async one is made in a worker thread: building a context loads the CA bundle synchronously, tens of
milliseconds that would stall every task of the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import ssl
from dataclasses import replace
from typing import TYPE_CHECKING, Union

import httpx

from ..engine.clock import Clock
from ..engine.flow import SendKind, Verdict, VerdictKind, request_flow, run, run_async
from ..engine.retry import Outcome, RetryPolicy
from ..engine.skew import ClockOffset
from ..engine.token import IssuedToken
from ..oauth import (
    TokenRequest,
    exhausted,
    failure_outcome,
    login_outcome,
    parse_token_response,
    unreachable,
)
from ..tokeninfo import TOKEN_INFO_PATH, TokenInfo, parse_token_info
from .outcomes import classify

if TYPE_CHECKING:
    from ..credentials import TokenSource

_log = logging.getLogger("genesys_auth_adapter.login")

TimeoutTypes = Union[httpx.Timeout, float, None]

#: Timeouts of an ahead-of-expiry token request, in seconds.
_QUICK = httpx.Timeout(10.0, connect=5.0)


class SslContext:
    """The SSL context of the login clients the library makes: built once per auth, off any event loop.

    httpx builds a context for every client made with ``verify=True``, loading the CA bundle (as httpx
    does: ``SSL_CERT_FILE``/``SSL_CERT_DIR``, else certifi) synchronously. One context serves any number
    of clients, threads, event loops and forked children. Two callers that find it missing at once build
    it twice, harmlessly; a lock here could be inherited held by a forked child.
    """

    def __init__(self) -> None:
        self._context: ssl.SSLContext | None = None

    def get(self) -> ssl.SSLContext:
        """The context, built on first use (on the calling thread)."""
        context = self._context
        if context is None:
            context = self._context = httpx.create_ssl_context()
        return context

    def async_transport(self) -> httpx.AsyncHTTPTransport:
        """A new ``httpx.AsyncHTTPTransport`` with this context; call it in a worker thread, not on the loop."""
        transport = httpx.AsyncHTTPTransport(verify=self.get())
        with contextlib.suppress(ImportError):  # see async_client
            importlib.import_module("anyio._backends._asyncio")
        return transport

    def async_client(self) -> httpx.AsyncClient:
        """A new ``httpx.AsyncClient`` with this context; call it in a worker thread, not on the loop."""
        client = httpx.AsyncClient(verify=self.get())
        # The first request of an async client imports anyio's asyncio backend (about 0.1 s, once per
        # process); imported here, it is imported off the loop.
        with contextlib.suppress(ImportError):  # httpcore without anyio: nothing to import ahead
            importlib.import_module("anyio._backends._asyncio")
        return client


class _Settings:
    def __init__(
        self,
        *,
        clock: Clock,
        offset: ClockOffset,
        retry: RetryPolicy,
        timeout: TimeoutTypes,
        ssl_context: SslContext | None,
    ) -> None:
        self.clock = clock
        self.offset = offset
        self.retry = retry
        self.timeout = timeout
        self.ssl_context = ssl_context if ssl_context is not None else SslContext()
        self.policy = retry.with_methods("POST")  # a token request is safe to repeat

    def flow(self, request: TokenRequest):  # type: ignore[no-untyped-def]
        return request_flow(
            "POST",
            policy=self.policy,
            clock=self.clock,
            offset=self.offset,
            what=lambda: f"POST {request.url}",
            authorize=False,
        )


def _info_headers(access_token: str) -> dict[str, str]:
    """The headers of a token info ``GET`` (sent with quick timeouts and no redirects)."""
    return {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}


def _post_arguments(request: TokenRequest, timeout: TimeoutTypes) -> dict[str, object]:
    return {
        "data": dict(request.form),
        "auth": request.basic,
        "headers": {"Accept": "application/json"},
        "timeout": timeout,
        "follow_redirects": False,
    }


def _finish(
    verdict: Verdict, request: TokenRequest, response: httpx.Response | None, error: BaseException | None
) -> httpx.Response:
    if verdict.kind is VerdictKind.EXHAUSTED:
        raise exhausted(verdict, response, secret=request.scrubbed) from error
    if error is not None:
        raise unreachable(request.url, error) from error
    assert response is not None
    return response


class HttpxLogin(_Settings):
    """Sends token requests with a sync ``httpx.Client`` (``http``, or a short-lived one per request,
    with ``ssl_context``)."""

    def __init__(
        self,
        *,
        clock: Clock,
        offset: ClockOffset,
        retry: RetryPolicy,
        timeout: TimeoutTypes,
        http: httpx.Client | None = None,
        ssl_context: SslContext | None = None,
    ) -> None:
        super().__init__(clock=clock, offset=offset, retry=retry, timeout=timeout, ssl_context=ssl_context)
        self.http = http

    def quick(self) -> HttpxLogin:
        """One attempt with short timeouts, for an ahead-of-expiry refresh."""
        return HttpxLogin(
            clock=self.clock,
            offset=self.offset,
            retry=replace(self.retry, max_attempts=1),
            timeout=_QUICK,
            http=self.http,
            ssl_context=self.ssl_context,
        )

    def fetch(self, source: TokenSource) -> IssuedToken:
        """A new token from ``source`` (its token request, or its own :meth:`obtain`)."""
        request = source.token_request()
        if request is None:
            return source.obtain()
        return self.send(request)

    def send(self, request: TokenRequest) -> IssuedToken:
        """The token ``request`` sent (retries included) and its answer parsed."""
        if self.http is not None:
            return parse_token_response(self._post(self.http, request), secret=request.scrubbed)
        with httpx.Client(verify=self.ssl_context.get()) as http:
            return parse_token_response(self._post(http, request), secret=request.scrubbed)

    def token_info(self, api_url: str, access_token: str) -> TokenInfo:
        """What the API says of ``access_token``: one quick ``GET``, no retries; never raises."""
        try:
            if self.http is not None:
                response = self.http.get(
                    api_url + TOKEN_INFO_PATH,
                    headers=_info_headers(access_token),
                    timeout=_QUICK,
                    follow_redirects=False,
                )
            else:
                with httpx.Client(verify=self.ssl_context.get()) as http:
                    response = http.get(
                        api_url + TOKEN_INFO_PATH,
                        headers=_info_headers(access_token),
                        timeout=_QUICK,
                        follow_redirects=False,
                    )
        except httpx.HTTPError:
            return parse_token_info(None, received_wall=self.clock.wall())
        return parse_token_info(response, received_wall=self.clock.wall())

    def _post(self, http: httpx.Client, request: TokenRequest) -> httpx.Response:
        driver = _SyncDriver(self, http, request)
        verdict = run(self.flow(request), driver)
        return _finish(verdict, request, driver.response, driver.error)


class _SyncDriver:
    def __init__(self, login: HttpxLogin, http: httpx.Client, request: TokenRequest) -> None:
        self._login, self._http, self._request = login, http, request
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None

    def authorize(self, rejected: str | None, after: float | None = None) -> str:
        raise AssertionError("a token request carries no token")

    def drop(self, header: str) -> None:
        raise AssertionError("a token request carries no token")

    def rewind(self) -> bool:
        return True

    def sleep(self, seconds: float) -> None:
        self._login.clock.sleep(seconds)

    def send(self, authorization: str | None, kind: SendKind) -> Outcome:
        clock = self._login.clock
        sent_wall = clock.wall()
        try:
            response = self._http.post(self._request.url, **_post_arguments(self._request, self._login.timeout))  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            failure = classify(exc)
            if failure is None:
                raise unreachable(self._request.url, exc) from exc
            self.response, self.error = None, exc
            return failure_outcome(failure, exc)
        self.response, self.error = response, None
        return login_outcome(response, sent_wall=sent_wall, received_wall=clock.wall())


class AsyncHttpxLogin(_Settings):
    """Sends token requests with an ``httpx.AsyncClient`` (``http``, or a short-lived one per request,
    made in a worker thread with ``ssl_context``)."""

    def __init__(
        self,
        *,
        clock: Clock,
        offset: ClockOffset,
        retry: RetryPolicy,
        timeout: TimeoutTypes,
        http: httpx.AsyncClient | None = None,
        ssl_context: SslContext | None = None,
    ) -> None:
        super().__init__(clock=clock, offset=offset, retry=retry, timeout=timeout, ssl_context=ssl_context)
        self.http = http

    def quick(self) -> AsyncHttpxLogin:
        """One attempt with short timeouts, for an ahead-of-expiry refresh."""
        return AsyncHttpxLogin(
            clock=self.clock,
            offset=self.offset,
            retry=replace(self.retry, max_attempts=1),
            timeout=_QUICK,
            http=self.http,
            ssl_context=self.ssl_context,
        )

    async def fetch(self, source: TokenSource) -> IssuedToken:
        """A new token from ``source``; a source's own :meth:`obtain` runs in a worker thread."""
        request = source.token_request()
        if request is None:
            return await asyncio.to_thread(source.obtain)
        return await self.send(request)

    async def send(self, request: TokenRequest) -> IssuedToken:
        """The token ``request`` sent (retries included) and its answer parsed."""
        if self.http is not None:
            return parse_token_response(await self._post(self.http, request), secret=request.scrubbed)
        # Made in a worker thread: the SSL context (the first time) and the client's imports stay off the loop.
        async with await asyncio.to_thread(self.ssl_context.async_client) as http:
            return parse_token_response(await self._post(http, request), secret=request.scrubbed)

    async def token_info(self, api_url: str, access_token: str) -> TokenInfo:
        """What the API says of ``access_token``: one quick ``GET``, no retries; never raises."""
        try:
            if self.http is not None:
                response = await self.http.get(
                    api_url + TOKEN_INFO_PATH,
                    headers=_info_headers(access_token),
                    timeout=_QUICK,
                    follow_redirects=False,
                )
            else:
                async with await asyncio.to_thread(self.ssl_context.async_client) as http:
                    response = await http.get(
                        api_url + TOKEN_INFO_PATH,
                        headers=_info_headers(access_token),
                        timeout=_QUICK,
                        follow_redirects=False,
                    )
        except httpx.HTTPError:
            return parse_token_info(None, received_wall=self.clock.wall())
        return parse_token_info(response, received_wall=self.clock.wall())

    async def _post(self, http: httpx.AsyncClient, request: TokenRequest) -> httpx.Response:
        driver = _AsyncDriver(self, http, request)
        verdict = await run_async(self.flow(request), driver)
        return _finish(verdict, request, driver.response, driver.error)


class _AsyncDriver:
    def __init__(self, login: AsyncHttpxLogin, http: httpx.AsyncClient, request: TokenRequest) -> None:
        self._login, self._http, self._request = login, http, request
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None

    async def authorize(self, rejected: str | None, after: float | None = None) -> str:
        raise AssertionError("a token request carries no token")

    async def drop(self, header: str) -> None:
        raise AssertionError("a token request carries no token")

    async def rewind(self) -> bool:
        return True

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def send(self, authorization: str | None, kind: SendKind) -> Outcome:
        clock = self._login.clock
        sent_wall = clock.wall()
        try:
            response = await self._http.post(self._request.url, **_post_arguments(self._request, self._login.timeout))  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            failure = classify(exc)
            if failure is None:
                raise unreachable(self._request.url, exc) from exc
            self.response, self.error = None, exc
            return failure_outcome(failure, exc)
        self.response, self.error = response, None
        return login_outcome(response, sent_wall=sent_wall, received_wall=clock.wall())
