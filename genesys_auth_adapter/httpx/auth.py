"""``GenesysHttpxAuth``: the httpx front end, one auth object for ``httpx.Client`` and ``httpx.AsyncClient``.

Each request runs the same request flow as the requests front ends (:mod:`..engine.flow`): the auth
flow generator carries out its commands, yielding each send to httpx. Sync clients wait for tokens
on threads (:class:`~..engine.manager.TokenManager`); async clients await them
(:class:`~..engine.aio.AsyncTokens`) and never block the event loop. Both drive one token state, so
threads and tasks sharing one auth object make one token request between them.

The common case takes the flow's fast path (:func:`~..engine.flow.fast_header`): with a fresh token,
nothing to pace and a body held in memory, the request is sent at once, and the flow is started from
that send (``first=Sent(...)``) only when the answer needs a decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any

import httpx

from ..credentials import TokenSource
from ..engine import fork_safety
from ..engine.aio import AsyncTokens
from ..engine.clock import SYSTEM_CLOCK, Clock
from ..engine.flow import (
    Authorize,
    Drop,
    Rewind,
    Send,
    Sent,
    Sleep,
    Verdict,
    VerdictKind,
    fast_header,
    request_flow,
    settle,
)
from ..engine.manager import TokenManager
from ..engine.pacer import Pacer
from ..engine.pool import PoolSlot, TokenPool
from ..engine.retry import RetryPolicy, effective_policy
from ..engine.skew import ClockOffset, OffsetEstimate
from ..engine.state import TokenState, WaitTimeout
from ..engine.token import IssuedToken, Token
from ..errors import RetryExhaustedError, TokenWaitTimeout, without_query
from ..oauth import VERIFY_PATH
from ..stores import StoreSpec, portable, resolve_async_store, resolve_store
from ..stores.logins import is_user_grant
from ..stores.pacing import PacingSpec, build_pacing, pacing_policy
from ..stores.pool import open_slot, pool_size
from ..stores.shared import AsyncSharedFetch
from ..stores.user_fetch import any_shared_fetch, async_user_shared_fetch, login_store
from ..tokeninfo import TokenInfo
from ..transport.scope import ApiScope
from .body import Replay
from .drive import answered_plainly, authorize, finish, marked, outcome, refused
from .login import AsyncHttpxLogin, HttpxLogin, SslContext, TimeoutTypes
from .outcomes import failed, in_scope
from .transport import AsyncGenesysTransport, GenesysTransport

#: Connect and read timeout of token requests.
DEFAULT_TOKEN_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class GenesysHttpxAuth(httpx.Auth):
    """Bearer auth for the Genesys Cloud API on ``httpx.Client`` and ``httpx.AsyncClient`` alike.

    Tokens go only to URLs under the credentials' API base. A 401 is answered by one new token and
    one re-send per request; 429, 502/503/504 and (with the library's transport, see
    :meth:`transport`) connection failures are retried under ``retry``, the same policy and budgets
    as the requests front ends. A request body that cannot be sent again is never re-sent short.

    Args:
        credentials: Where the API is and how to get tokens (:class:`ClientCredentials`,
            :class:`AccessToken`, or any :class:`TokenSource`).
        clock: The clock for deadlines, budgets and sync sleeps (tests pass a manual one).
        timeout: Timeout of token requests.
        retry: The retry policy of API and token requests; override it per request with
            :func:`~genesys_auth_adapter.retry_policy`.
        wait_timeout: How long a caller waits for another caller's token request; by default as long
            as that request may take under ``retry``.
        http: An ``httpx.Client`` for sync token requests (proxies, certificates); never closed here.
            By default each token request uses a short-lived client of its own.
        async_http: An ``httpx.AsyncClient`` for async token requests; it must belong to the event loop
            the auth is used on; never closed here. By default each async token request uses a
            short-lived client, made in a worker thread so the event loop never waits for the CA bundle
            to load (the library's clients share one SSL context, built once).
        store: Where processes and hosts share tokens (``"file"``, a Redis URL, a store object); sync
            clients use it directly, async clients through its asyncio form (``redis.asyncio`` for Redis).
            A store shared by processes shares their rate budgets too.
        rate_limit: The requests per minute one token may send, when you know it: requests are paced to it
            from the start. By default the budget is learned from the first 429 and nothing is paced before.
        pacing: False never paces; a :class:`~genesys_auth_adapter.PacingPolicy` tunes it.
        token_pool: How many tokens this client may hold at once (default 1); see
            :class:`~genesys_auth_adapter.GenesysAuth`.
    """

    def __init__(
        self,
        credentials: TokenSource,
        *,
        clock: Clock = SYSTEM_CLOCK,
        timeout: TimeoutTypes = DEFAULT_TOKEN_TIMEOUT,
        retry: RetryPolicy | None = None,
        wait_timeout: float | None = None,
        http: httpx.Client | None = None,
        async_http: httpx.AsyncClient | None = None,
        store: StoreSpec = None,
        rate_limit: int | None = None,
        pacing: PacingSpec = True,
        token_pool: int | None = None,
    ) -> None:
        self.credentials = credentials
        policy = pacing_policy(pacing, rate_limit)
        pool = pool_size(token_pool, paced=policy is not None, source=credentials)
        self.scope = ApiScope(credentials.api_url)
        self.retry = retry if retry is not None else RetryPolicy()
        self._options: dict[str, Any] = {
            "clock": clock,
            "timeout": timeout,
            "retry": retry,
            "wait_timeout": wait_timeout,
            "store": store,
            "rate_limit": rate_limit,
            "pacing": pacing,
            "token_pool": token_pool,
        }
        self._http, self._async_http = http, async_http
        offset = ClockOffset()
        if wait_timeout is None:
            wait_timeout = min(self.retry.max_time + _attempt_seconds(timeout) + 5.0, threading.TIMEOUT_MAX)
        self.state = TokenState(
            clock=clock, offset=offset, wait_timeout=wait_timeout, initial=credentials.initial_token()
        )
        # One SSL context for the token requests' own clients, sync and async (built once, off any loop).
        tls = self._tls = SslContext()
        login = HttpxLogin(clock=clock, offset=offset, retry=self.retry, timeout=timeout, http=http, ssl_context=tls)
        quick = login.quick()

        def fetch() -> IssuedToken:
            return login.fetch(credentials)

        def fetch_ahead() -> IssuedToken:
            return quick.fetch(credentials)

        async_login = AsyncHttpxLogin(
            clock=clock, offset=offset, retry=self.retry, timeout=timeout, http=async_http, ssl_context=tls
        )
        async_quick = async_login.quick()

        async def afetch() -> IssuedToken:
            return await async_login.fetch(credentials)

        async def afetch_ahead() -> IssuedToken:
            return await async_quick.fetch(credentials)

        self.store = resolve_store(store)
        self.store = login_store(self.store, credentials)  # a user grant's refresh token lives in a store
        api_url = credentials.api_url

        def info(access_token: str) -> TokenInfo:
            return login.token_info(api_url, access_token)

        async def ainfo(access_token: str) -> TokenInfo:
            return await async_login.token_info(api_url, access_token)

        user = self.store is not None and is_user_grant(credentials)
        self.shared = any_shared_fetch(
            self.store, credentials, self.state, fetch, fetch_ahead, post=login.send, post_ahead=quick.send, info=info
        )
        async_store = resolve_async_store(store, self.store)
        if self.shared is None or async_store is None:
            self.tokens = TokenManager(fetch, fetch_ahead=fetch_ahead, state=self.state)
            self.async_tokens = AsyncTokens(self.state, afetch, afetch_ahead)
        else:
            self.tokens = TokenManager(
                self.shared.fetch,
                fetch_ahead=self.shared.fetch_ahead,
                state=self.state,
                fetch_fresh=self.shared.fetch_fresh,
            )
            if user:
                ashared = async_user_shared_fetch(
                    async_store, credentials, self.state, post=async_login.send, post_ahead=async_quick.send, info=ainfo
                )
            else:
                ashared = AsyncSharedFetch(
                    async_store, self.shared.key, self.state, afetch, afetch_ahead, binding=self.shared.binding
                )
            self.async_tokens = AsyncTokens(self.state, ashared.fetch, ashared.fetch_ahead, ashared.fetch_fresh)
        scope = self.shared.key if self.shared is not None else "local"
        self.pacing = None if policy is None else build_pacing(policy, self.store, scope, clock, pool=pool)
        #: The pacer of this auth's requests (``pacing.pacer``), or None when pacing is off.
        self.pacer: Pacer | None = None if self.pacing is None else self.pacing.pacer
        if self.pacing is not None:
            fork_safety.register(self.pacing.pacer)
            if pool > 1:

                def slot(index: int) -> PoolSlot:
                    return open_slot(
                        index,
                        self.state,
                        fetch,
                        fetch_ahead,
                        store=self.store,
                        shared=self.shared,
                        async_store=async_store,
                        afetch=afetch,
                        afetch_ahead=afetch_ahead,
                    )

                self.pacing.pool = TokenPool(pool, PoolSlot(self.tokens, self.async_tokens), slot)
                fork_safety.register(self.pacing.pool)

    @property
    def api_url(self) -> str:
        """The API base URL tokens are sent to."""
        return self.scope.base_url

    @property
    def clock(self) -> Clock:
        """The clock this auth reads."""
        return self.state.clock

    @property
    def offset(self) -> ClockOffset:
        """The clock-offset estimator this auth feeds."""
        return self.state.offset

    @property
    def clock_offset(self) -> OffsetEstimate | None:
        """The estimated ``server - local`` clock offset, or None before the first sample."""
        return self.state.offset.estimate

    def token(self) -> Token:
        """A usable token (fetched if needed) with its lifetime on the server's clock, from a thread.

        A token taken from a store before this process has seen the server's clock is verified first
        with one ``HEAD /api/v2/tokens/me`` (see ``GenesysAuth.token``).
        """
        try:
            return self.tokens.verified(self._verify)
        except WaitTimeout as exc:
            raise TokenWaitTimeout(str(exc)) from exc

    async def atoken(self) -> Token:
        """A usable token (fetched if needed) with its lifetime on the server's clock, from a task."""
        try:
            return await self.async_tokens.verified(self._averify)
        except WaitTimeout as exc:
            raise TokenWaitTimeout(str(exc)) from exc

    def _verify(self) -> None:
        """``HEAD /api/v2/tokens/me`` through this auth's flow (401, retries), with the token-request client.

        Retries that run out on error answers are no failure here once one of them showed the server's clock.
        """
        url, timeout = self.api_url + VERIFY_PATH, self._options["timeout"]
        with self._verifying():
            if self._http is not None:
                self._http.head(url, auth=self, timeout=timeout)
                return
            with httpx.Client(transport=self.transport(httpx.HTTPTransport(verify=self._tls.get()))) as http:
                http.head(url, auth=self, timeout=timeout)

    async def _averify(self) -> None:
        url, timeout = self.api_url + VERIFY_PATH, self._options["timeout"]
        with self._verifying():
            if self._async_http is not None:
                await self._async_http.head(url, auth=self, timeout=timeout)
                return
            # The transport (its SSL context, the CA bundle) is made in a worker thread, off the event loop.
            transport = await asyncio.to_thread(lambda: self.async_transport(self._tls.async_transport()))
            async with httpx.AsyncClient(transport=transport) as http:
                await http.head(url, auth=self, timeout=timeout)

    @contextlib.contextmanager
    def _verifying(self) -> Iterator[None]:
        try:
            yield
        except RetryExhaustedError:
            if self.offset.estimate is None:
                raise

    def transport(self, inner: httpx.BaseTransport | None = None) -> GenesysTransport:
        """A transport for a sync client that keeps the token off redirect hops outside the API base and
        lets connection failures be retried: ``httpx.Client(auth=auth, transport=auth.transport())``."""
        return GenesysTransport(self.scope, inner)

    def async_transport(self, inner: httpx.AsyncBaseTransport | None = None) -> AsyncGenesysTransport:
        """The async counterpart of :meth:`transport`, for ``httpx.AsyncClient``."""
        return AsyncGenesysTransport(self.scope, inner)

    def _flow(self, request: httpx.Request, policy: RetryPolicy | None, first: Sent | None):  # type: ignore[no-untyped-def]
        method = request.method.upper()
        return request_flow(
            method,
            policy=policy,
            clock=self.state.clock,
            offset=self.state.offset,
            what=lambda: f"{method} {without_query(request.url.path)}",
            pacer=self.pacer,
            path=lambda: request.url.raw_path.decode("ascii", "replace"),
            first=first,
        )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not in_scope(request.url, self.scope):
            yield request
            return
        extensions = request.extensions
        policy = effective_policy(self.retry)
        state, pacer = self.state, self.pacer
        clock = state.clock
        started = clock.monotonic()
        header = fast_header(state, pacer, started) if type(request.stream) is httpx.ByteStream else None
        first: Sent | None = None
        response: httpx.Response | None = None
        mark = marked(request, header)
        if header is not None:  # the fast path (see the module docstring)
            sent_wall = clock.wall()
            try:
                response = yield request
                received_wall = clock.wall()
                if answered_plainly(response, request, policy):
                    request.extensions = extensions
                    settle(state.offset, pacer, header, response.headers.get("Date"), sent_wall, received_wall)
                    return
                body = response.read().decode("utf-8", "replace") if response.status_code == 429 else ""
            except BaseException:  # httpx closed this flow (a failure raised past it): never leave the mark
                request.extensions = extensions
                raise
            first = Sent(header, outcome(response, sent_wall, received_wall, header, body, self.scope), started)
        flow = self._flow(request, policy, first)
        replay = Replay(request)
        result: object = None
        try:
            while True:
                try:
                    command = flow.send(result)
                except StopIteration as stop:
                    verdict: Verdict = stop.value
                    break
                if isinstance(command, Send):
                    authorize(request, command.authorization)
                    mark.authorization = command.authorization
                    sent_wall = clock.wall()
                    response = yield request
                    received_wall = clock.wall()
                    body = response.read().decode("utf-8", "replace") if response.status_code == 429 else ""
                    result = outcome(response, sent_wall, received_wall, command.authorization, body, self.scope)
                elif isinstance(command, Authorize):
                    result = (
                        self.tokens.header()
                        if command.rejected is None
                        else self.tokens.rejected(command.rejected, command.after)
                    )
                elif isinstance(command, Sleep):
                    clock.sleep(command.seconds)
                    result = None
                elif isinstance(command, Rewind):
                    result = replay.rewind()
                elif isinstance(command, Drop):
                    self.tokens.discard(command.header)
                    result = None
                else:
                    assert self.pacing is not None
                    result = self.pacing.carry(command)
        except WaitTimeout as exc:
            raise TokenWaitTimeout(str(exc)) from exc
        finally:
            flow.close()
            # Never leave the mark on a request the caller may send again without this auth.
            request.extensions = extensions
        if verdict.kind is VerdictKind.REFUSED:
            refused(verdict, request, response)
        assert response is not None
        if verdict.kind is not VerdictKind.DELIVER and failed(response) is None:
            response.read()  # the error carries it, readable (httpx closes it once the error is raised)
        finish(verdict, request, response)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not in_scope(request.url, self.scope):
            yield request
            return
        extensions = request.extensions
        policy = effective_policy(self.retry)
        state, pacer = self.state, self.pacer
        clock = state.clock
        started = clock.monotonic()
        header = fast_header(state, pacer, started) if type(request.stream) is httpx.ByteStream else None
        first: Sent | None = None
        response: httpx.Response | None = None
        mark = marked(request, header)
        if header is not None:  # the fast path (see the module docstring)
            sent_wall = clock.wall()
            try:
                response = yield request
                received_wall = clock.wall()
                if answered_plainly(response, request, policy):
                    request.extensions = extensions
                    settle(state.offset, pacer, header, response.headers.get("Date"), sent_wall, received_wall)
                    return
                body = (await response.aread()).decode("utf-8", "replace") if response.status_code == 429 else ""
            except BaseException:  # httpx closed this flow (a failure raised past it): never leave the mark
                request.extensions = extensions
                raise
            first = Sent(header, outcome(response, sent_wall, received_wall, header, body, self.scope), started)
        flow = self._flow(request, policy, first)
        replay = Replay(request)
        await replay.start()
        tokens = self.async_tokens
        result: object = None
        try:
            while True:
                try:
                    command = flow.send(result)
                except StopIteration as stop:
                    verdict: Verdict = stop.value
                    break
                if isinstance(command, Send):
                    authorize(request, command.authorization)
                    mark.authorization = command.authorization
                    sent_wall = clock.wall()
                    response = yield request
                    received_wall = clock.wall()
                    body = (await response.aread()).decode("utf-8", "replace") if response.status_code == 429 else ""
                    result = outcome(response, sent_wall, received_wall, command.authorization, body, self.scope)
                elif isinstance(command, Authorize):
                    if command.rejected is None:
                        result = await tokens.header()
                    else:
                        result = await tokens.rejected(command.rejected, command.after)
                elif isinstance(command, Sleep):
                    await asyncio.sleep(command.seconds)
                    result = None
                elif isinstance(command, Rewind):
                    result = await replay.arewind()
                elif isinstance(command, Drop):
                    self.state.discard(command.header)
                    result = None
                else:
                    assert self.pacing is not None
                    result = await self.pacing.acarry(command)
        except WaitTimeout as exc:
            raise TokenWaitTimeout(str(exc)) from exc
        finally:
            flow.close()
            request.extensions = extensions
        if verdict.kind is VerdictKind.REFUSED:
            if response is not None and failed(response) is None:
                await response.aread()
            refused(verdict, request, None)
        assert response is not None
        if verdict.kind is not VerdictKind.DELIVER and failed(response) is None:
            await response.aread()
        finish(verdict, request, response)

    def __reduce__(self) -> tuple[Any, ...]:
        # An equivalent auth for another process: same credentials and settings, its own token (never
        # pickled). Clients passed as ``http``/``async_http`` hold sockets and locks and stay behind.
        return _restore, (type(self), self.credentials, portable(self._options))

    def __copy__(self) -> GenesysHttpxAuth:
        return self  # a handle on one token, like GenesysAuth

    def __deepcopy__(self, memo: dict[int, Any]) -> GenesysHttpxAuth:
        return self

    def __repr__(self) -> str:
        return f"GenesysHttpxAuth({self.credentials!r})"


def _restore(cls: type[GenesysHttpxAuth], credentials: TokenSource, options: dict[str, Any]) -> GenesysHttpxAuth:
    return cls(credentials, **options)


def _attempt_seconds(timeout: TimeoutTypes) -> float:
    """How long one token request may take under ``timeout`` (connect plus read)."""
    if timeout is None:
        return 120.0
    if isinstance(timeout, httpx.Timeout):
        parts = (timeout.connect, timeout.read)
        if any(part is None for part in parts):
            return 120.0
        return sum(float(part) for part in parts if part is not None)
    return 2 * float(timeout)
