"""``GenesysAuth``: a ``requests`` auth object that attaches Genesys bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from requests.auth import AuthBase
from requests.models import PreparedRequest

from ..credentials import TokenSource
from ..engine.clock import SYSTEM_CLOCK, Clock
from ..engine.manager import TokenManager, WaitTimeout
from ..engine.retry import RetryPolicy
from ..engine.skew import ClockOffset, OffsetEstimate
from ..engine.token import IssuedToken, Token
from ..errors import TokenWaitTimeout
from .login import LoginClient, Timeout
from .resend import Send, resend_after_401
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
            :class:`AccessToken`, or any :class:`TokenSource`).
        clock: The clock for token deadlines (tests pass a manual one).
        http: The session for token requests; by default a private one, closed by :meth:`close`. A
            session passed here is never closed.
        timeout: Connect and read timeout of token requests.
        wait_timeout: How long a thread waits for another thread's token request; by default as
            long as that request may take under ``retry`` (its time budget plus one more attempt).
        retry: The retry policy of token requests (and the default of adapters built on this auth).
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
    ) -> None:
        self.credentials = credentials
        self.scope = ApiScope(credentials.api_url)
        self.retry = retry if retry is not None else RetryPolicy()
        offset = ClockOffset()
        self._own_http = http is None
        self.login = LoginClient(
            http if http is not None else requests.Session(),
            timeout=timeout,
            retry=self.retry,
            clock=clock,
            offset=offset,
        )
        if wait_timeout is None:
            wait_timeout = self.retry.max_time + _attempt_seconds(timeout) + 5.0
        self._quick_login = self.login.quick()
        initial = getattr(credentials, "initial_token", None)
        self.manager = TokenManager(
            self._fetch,
            clock=clock,
            offset=offset,
            wait_timeout=wait_timeout,
            fetch_ahead=self._fetch_ahead,
            initial=initial() if callable(initial) else None,
        )

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
        return self.credentials.fetch_token(self.login)

    def _fetch_ahead(self) -> IssuedToken:
        return self.credentials.fetch_token(self._quick_login)

    def header(self) -> str:
        """The ``Authorization`` value to send now, getting a token if needed."""
        try:
            return self.manager.header()
        except WaitTimeout as exc:
            raise _wait_error(exc) from exc

    def token(self) -> Token:
        """A usable token (fetched if needed)."""
        try:
            return self.manager.token()
        except WaitTimeout as exc:
            raise _wait_error(exc) from exc

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if request.url in self.scope:
            request.headers["Authorization"] = self.header()
            hooks = request.hooks["response"]
            if self._on_response not in hooks:
                request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def observe(self, response: requests.Response, sent_wall: float | None = None) -> None:
        """Feed a response's ``Date`` header to the clock-offset estimate.

        Args:
            response: A response from the API host.
            sent_wall: Local wall time just before the request was sent; derived from
                ``response.elapsed`` when not given.
        """
        date = response.headers.get("Date")
        if date and self.manager.offset.wants(date):
            now = self.manager.clock.wall()
            start = sent_wall if sent_wall is not None else now - response.elapsed.total_seconds()
            self.manager.offset.observe_date_header(date, start, now)

    def resend_after_401(self, response: requests.Response, send: Send) -> requests.Response:
        """Re-send ``response``'s request once with a new token if it was a 401 (see :mod:`.resend`)."""
        try:
            return resend_after_401(response, self.manager, send)
        except WaitTimeout as exc:
            raise _wait_error(exc) from exc

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.request is None or response.request.url not in self.scope:
            return response
        self.observe(response)
        connection = response.connection  # the adapter that sent the request

        def send(request: PreparedRequest) -> requests.Response:
            # Session.send times the responses it sends; this one goes straight to the adapter, so
            # its round trip is measured here, for the clock sample and for ``elapsed``.
            clock = self.manager.clock
            sent_wall, started = clock.wall(), clock.monotonic()
            resent: requests.Response = connection.send(request, **kwargs)
            resent.elapsed = timedelta(seconds=max(0.0, clock.monotonic() - started))
            self.observe(resent, sent_wall)
            return resent

        return self.resend_after_401(response, send)

    def close(self) -> None:
        """Close the private session used for token requests (a session passed as ``http`` is left open)."""
        if self._own_http:
            self.login.http.close()

    def __repr__(self) -> str:
        return f"GenesysAuth({self.credentials!r})"
