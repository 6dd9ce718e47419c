"""``GenesysAuth``: a ``requests`` auth object that attaches Genesys bearer tokens."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import requests
from requests.auth import AuthBase
from requests.models import PreparedRequest

from ..credentials import TokenSource
from ..engine import fork_safety
from ..engine.clock import SYSTEM_CLOCK, Clock
from ..engine.flow import DELIVERED, Sent, fast_header, needs_decision, request_flow, run, settle
from ..engine.manager import TokenManager, WaitTimeout
from ..engine.paced import Refusal
from ..engine.pacer import Pacer
from ..engine.pool import PoolSlot, TokenPool
from ..engine.retry import RetryPolicy
from ..engine.skew import ClockOffset, OffsetEstimate
from ..engine.state import TokenState
from ..engine.token import IssuedToken, Token
from ..errors import RateBudgetError, RetryExhaustedError, TokenWaitTimeout, without_query
from ..oauth import VERIFY_PATH
from ..stores import StoreSpec, portable, resolve_store
from ..stores.pacing import PacingSpec, build_pacing, pacing_policy
from ..stores.pool import open_slot, pool_size
from ..stores.user_fetch import any_shared_fetch, login_store
from ..tokeninfo import TokenInfo
from .drive import RequestsDriver, handled, was_handled
from .login import LoginClient, Timeout
from .outcomes import response_outcome
from .pools import reset_session_pools
from .redirects import drop_token_before_leaving
from .scope import ApiScope

# What a waiter allows for one token request whose timeout is None ("wait forever") in part.
_UNBOUNDED_ATTEMPT = 120.0


def _attempt_seconds(timeout: Timeout | None) -> float:
    """How long one token request may take under ``timeout`` (requests applies a number to both phases)."""
    parts = timeout if isinstance(timeout, (tuple, list)) else (timeout, timeout)
    if any(part is None for part in parts):
        return _UNBOUNDED_ATTEMPT
    return sum(float(part) for part in parts if part is not None)


def _wait_error(exc: WaitTimeout) -> TokenWaitTimeout:
    """The engine reports a too-long wait for another thread's token request in its own terms."""
    return TokenWaitTimeout(str(exc))


class GenesysAuth(AuthBase):
    """Bearer auth for the Genesys Cloud API, usable as ``auth=`` on any ``requests`` call.

    The token goes only to URLs under the credentials' API base (never to the login host or to a
    redirect target elsewhere). A 401 is answered by one new token and one re-send of the same
    request, from a response hook. Mount :class:`~genesys_auth_adapter.GenesysAdapter` instead to
    get the same behaviour plus retries for every request of a session.

    Args:
        credentials: Where the API is and how to get tokens (:class:`ClientCredentials`,
            :class:`AccessToken`, a user's login such as :func:`login_with_browser` returns, or any
            :class:`TokenSource`).
        clock: The clock for token deadlines (tests pass a manual one).
        http: The session for token requests; by default a private one, closed by :meth:`close`. A
            session passed here is never closed.
        timeout: Connect and read timeout of token requests.
        wait_timeout: How long a thread waits for another thread's token request; by default as
            long as that request may take under ``retry`` (its time budget plus one more attempt).
        retry: The retry policy of token requests (and the default of adapters built on this auth).
        store: Where processes and hosts share tokens: ``"file"``, ``"file:/dir"``, a Redis URL, a
            :class:`~genesys_auth_adapter.stores.TokenStore`, or None/``"none"`` (this process only).
            A store shared by processes shares their rate budgets too. A user's login keeps its refresh
            token there (a store of this process when none is given) and rotates it under the store's lock.
        rate_limit: The requests per minute one token may send, when you know it (your org's
            ``client.credentials.token.rate.per.minute``): requests are paced to it from the start. By
            default the budget is learned from the first 429 and nothing is paced before.
        pacing: False never paces; a :class:`~genesys_auth_adapter.PacingPolicy` tunes it.
        token_pool: How many tokens this client may hold at once (default 1). Genesys limits requests per
            token; with more than one, pacing opens another token only when every open one is busy (a
            request would wait more than ``PacingPolicy.pool_after`` for a slot), and a store shares each
            slot's token, so a fleet holds at most ``token_pool`` tokens in all. Mind Genesys' guidance:
            reuse tokens, and never spread load over several OAuth clients.
    """

    def __init__(
        self,
        credentials: TokenSource,
        *,
        clock: Clock = SYSTEM_CLOCK,
        http: requests.Session | None = None,
        timeout: Timeout | None = (10.0, 30.0),
        wait_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        store: StoreSpec = None,
        rate_limit: int | None = None,
        pacing: PacingSpec = True,
        token_pool: int | None = None,
    ) -> None:
        self.credentials = credentials
        policy = pacing_policy(pacing, rate_limit)
        pool = pool_size(token_pool, paced=policy is not None, source=credentials)
        # What a pickled or copied auth is rebuilt from (never the token: a new auth gets its own).
        self._options: dict[str, Any] = {
            "clock": clock,
            "http": http,
            "timeout": timeout,
            "wait_timeout": wait_timeout,
            "retry": retry,
            "store": store,
            "rate_limit": rate_limit,
            "pacing": pacing,
            "token_pool": token_pool,
        }
        self.scope = ApiScope(credentials.api_url)
        self.retry = retry if retry is not None else RetryPolicy()
        offset = ClockOffset()
        self._own_http = http is None
        session = http if http is not None else requests.Session()
        # An auth nobody closes still closes its private session's sockets when it is collected.
        self._close_own = weakref.finalize(self, session.close) if http is None else None
        self.login = LoginClient(
            session,
            timeout=timeout,
            retry=self.retry,
            clock=clock,
            offset=offset,
        )
        if wait_timeout is None:
            # Bounded: a timeout of inf would make every waiting thread's Event.wait() overflow.
            wait_timeout = min(self.retry.max_time + _attempt_seconds(timeout) + 5.0, threading.TIMEOUT_MAX)
        self._quick_login = self.login.quick()
        state = TokenState(clock=clock, offset=offset, wait_timeout=wait_timeout, initial=credentials.initial_token())
        self.store = resolve_store(store)
        self._own_store = isinstance(store, str)  # built here from a name: closed by close()
        if self.store is None:
            self.store = login_store(None, credentials)  # a user grant's refresh token lives in a store
        self.shared = any_shared_fetch(
            self.store,
            credentials,
            state,
            self._fetch,
            self._fetch_ahead,
            post=self.login.send,
            post_ahead=self._quick_login.send,
            info=self._token_info,
        )
        if self.shared is None:
            self.manager = TokenManager(self._fetch, fetch_ahead=self._fetch_ahead, state=state)
        else:
            self.manager = TokenManager(
                self.shared.fetch, fetch_ahead=self.shared.fetch_ahead, state=state, fetch_fresh=self.shared.fetch_fresh
            )
        scope = self.shared.key if self.shared is not None else "local"
        self.pacing = None if policy is None else build_pacing(policy, self.store, scope, clock, pool=pool)
        #: The pacer of this auth's requests (``pacing.pacer``), or None when pacing is off.
        self.pacer: Pacer | None = None if self.pacing is None else self.pacing.pacer
        fork_safety.register(self)
        if self.pacing is not None:
            fork_safety.register(self.pacing.pacer)
            if pool > 1:
                self.pacing.pool = TokenPool(pool, PoolSlot(self.manager), self._open_slot)
                fork_safety.register(self.pacing.pool)

    def _open_slot(self, slot: int) -> PoolSlot:
        """Slot ``slot`` of the token pool: a token state of its own, its token requests made like the main one's."""
        return open_slot(slot, self.manager.state, self._fetch, self._fetch_ahead, store=self.store, shared=self.shared)

    @property
    def api_url(self) -> str:
        """The API base URL tokens are sent to."""
        return self.scope.base_url

    @property
    def clock_offset(self) -> OffsetEstimate | None:
        """The estimated ``server - local`` clock offset, or None before the first sample."""
        return self.manager.offset.estimate

    @property
    def offset(self) -> ClockOffset:
        """The clock-offset estimator this auth feeds."""
        return self.manager.offset

    def _fetch(self) -> IssuedToken:
        return self.login.fetch(self.credentials)

    def _token_info(self, access_token: str) -> TokenInfo:
        return self.login.token_info(self.api_url, access_token)

    def _fetch_ahead(self) -> IssuedToken:
        return self._quick_login.fetch(self.credentials)

    def header(self) -> str:
        """The ``Authorization`` value of :meth:`token`, for a request you send yourself."""
        return self.token().header

    def token(self) -> Token:
        """A usable token (fetched if needed), with its lifetime on the server's clock.

        A token taken from a store before this process has seen the server's clock is verified first
        with one ``HEAD /api/v2/tokens/me``: its ``Date`` tells the token's true lifetime, and a 401
        (the token expired on the server's clock, or was revoked) replaces it in the store too.
        """
        try:
            return self.manager.verified(self._verify)
        except WaitTimeout as exc:
            raise _wait_error(exc) from exc

    def _verify(self) -> None:
        """``HEAD /api/v2/tokens/me`` with the current token, through the request flow (401, retries)."""
        http, timeout = self.login.http, self.login.timeout
        request = requests.Request("HEAD", self.api_url + VERIFY_PATH).prepare()

        def send(prepared: PreparedRequest) -> requests.Response:
            sent: requests.Response = http.send(prepared, timeout=timeout, allow_redirects=False)
            return sent

        try:
            self.run(RequestsDriver(request, send, self.manager, self.manager.clock), "HEAD", self.retry).close()
        except RetryExhaustedError:
            if self.offset.estimate is None:
                raise
            # An error answer (a 503 storm) still showed the server's clock, which is what was missing.

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if request.url in self.scope:
            try:
                header = request.headers["Authorization"] = self.manager.header()
            except WaitTimeout as exc:
                raise _wait_error(exc) from exc
            pacing = self.pacing
            if pacing is not None and pacing.due(self.manager.clock.monotonic()):
                self._pace(request, header)
            hooks = request.hooks["response"]
            if self._on_response not in hooks:
                request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def _pace(self, request: PreparedRequest, header: str) -> None:
        """The hook's first send is made by requests: its slot is taken here, before requests sends it."""
        assert self.pacing is not None
        method = (request.method or "GET").upper()
        path = request.path_url
        step = self.pacing.before_send(
            header, path, self.manager.clock, self.retry.max_time, lambda: f"{method} {without_query(path)}"
        )
        if isinstance(step, Refusal):
            raise RateBudgetError(
                step.message, budget=step.budget, wait=step.wait, time_left=step.left, request=request
            )
        if step is not None:  # another token of the pool, or a wait (the token may have been refreshed meanwhile)
            pool = self.pacing.pool
            if step.paced is None:
                header = step.header
            elif pool is not None:
                header = pool.header(step.slot)
            else:
                header = self.manager.header()
            request.headers["Authorization"] = header

    def send(self, driver: RequestsDriver, method: str, policy: RetryPolicy | None) -> requests.Response:
        """Send the driver's request (the adapter's): outside the flow in the common case, else through it.

        The fast path (:func:`~..engine.flow.fast_header`: a fresh token, nothing to pace) sends at once and
        enters the flow only when the answer needs a decision, from that send (nothing is sent twice).
        """
        manager = self.manager
        pacer = self.pacer
        started = manager.clock.monotonic()
        header = fast_header(manager.state, pacer, started)
        if header is None:
            return self.run(driver, method, policy)
        first = driver.send_first(header, started, policy, manager.offset, pacer)
        if first is None:
            return driver.result(DELIVERED)
        return self.run(driver, method, policy, first)

    def run(
        self, driver: RequestsDriver, method: str, policy: RetryPolicy | None, first: Sent | None = None
    ) -> requests.Response:
        """Run one request's flow with ``driver`` (the adapter's sends, or the hook's) and return its result;
        ``first``: the first send, already made (the fast path's, or requests' own for the hook)."""
        request = driver.request
        flow = request_flow(
            method,
            policy=policy,
            clock=self.manager.clock,
            offset=self.offset,
            what=lambda: f"{method} {without_query(request.path_url)}",
            pacer=self.pacer,
            path=lambda: request.path_url,
            pace_within=self.retry.max_time if policy is None else None,
            first=first,
            slot=0 if first is None else self._slot_of(request),
        )
        try:
            verdict = run(flow, driver, self.pacing)
        except BaseException as exc:
            driver.abandon()  # e.g. a token request failed after a 401: release that 401's connection
            if isinstance(exc, WaitTimeout):
                raise _wait_error(exc) from exc
            raise
        return driver.result(verdict)

    def _slot_of(self, request: PreparedRequest) -> int:
        """The token pool's slot of the token the hook's first send carried (0 without a pool)."""
        pool = None if self.pacing is None else self.pacing.pool
        if pool is None:
            return 0
        return pool.slot_of(request.headers.get("Authorization", ""))

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        source = response.request  # what requests copies for a redirect hop
        if source is None or source.url not in self.scope:
            return response
        # Not a request requests sent without our token, and not one a GenesysAdapter below already answered.
        header = source.headers.get("Authorization")
        if header is not None and not was_handled(response):
            manager = self.manager
            clock, pacer = manager.clock, self.pacer
            started = clock.monotonic()
            received_wall = clock.wall()
            # requests measured the send itself; its round trip bounds the clock sample.
            sent_wall = received_wall - response.elapsed.total_seconds()
            # auth= alone answers a 401 once and does not retry: retries are the adapter's (no policy).
            if not needs_decision(response.status_code, None) and fast_header(manager.state, pacer, started) == header:
                settle(manager.offset, pacer, header, response.headers.get("Date"), sent_wall, received_wall)
                handled(response)
            else:
                connection = response.connection  # the adapter that sent the request

                def send(request: PreparedRequest) -> requests.Response:
                    resent: requests.Response = connection.send(request, **kwargs)
                    return resent

                first = Sent(header, response_outcome(response, sent_wall, received_wall, header), started)
                driver = RequestsDriver(source, send, manager, clock, first=response)
                response = self.run(driver, (source.method or "GET").upper(), None, first)
        drop_token_before_leaving(response, source, self.scope)
        return response

    def close(self) -> None:
        """Close the private session used for token requests and a store built from a name (a session passed
        as ``http`` and a store object passed as ``store`` are left open)."""
        if self._close_own is not None:
            self._close_own()
        if self._own_store and self.store is not None:
            self.store.close()

    def after_fork_in_child(self) -> None:
        """A forked child opens its own connections to the login service (the token manager resets itself)."""
        if self._own_http:
            reset_session_pools(self.login.http)

    def __reduce__(self) -> tuple[Any, ...]:
        # An equivalent auth for another process: same credentials and settings, its own token
        # manager (the secret travels inside the pickle, as with the credentials themselves).
        return _restore, (type(self), self.credentials, portable(self._options))

    def __copy__(self) -> GenesysAuth:
        return self  # a handle on one token: copies of sessions and adapters share it

    def __deepcopy__(self, memo: dict[int, Any]) -> GenesysAuth:
        return self

    def __repr__(self) -> str:
        return f"GenesysAuth({self.credentials!r})"


def _restore(cls: type[GenesysAuth], credentials: TokenSource, options: dict[str, Any]) -> GenesysAuth:
    return cls(credentials, **options)
