"""The requests driver of token requests: a token source's request sent through the request flow.

What a token request is and how its answer reads is transport-neutral (:mod:`genesys_auth_adapter.oauth`);
this module only sends, converts and sleeps, like the httpx drivers do for their clients.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Optional, Union

import requests

from ..causes import root_cause
from ..engine.clock import Clock
from ..engine.flow import SendKind, VerdictKind, request_flow, run
from ..engine.retry import Outcome, RetryPolicy
from ..engine.skew import ClockOffset
from ..engine.token import IssuedToken
from ..errors import CORRELATION_HEADER
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

#: A requests timeout: seconds for both phases, or (connect, read); None waits forever.
Timeout = Union[None, float, tuple[Optional[float], Optional[float]]]

# Timeouts of an ahead-of-expiry token request, in seconds (connect, read).
_QUICK_CONNECT, _QUICK_READ = 5.0, 10.0


class LoginClient:
    """Sends token requests: the library's own session, a timeout, and the shared retry loop.

    Token requests are retried after 429, 5xx and connection failures under the same policy and
    budget as API requests (a token request is safe to repeat), and after the login service's own
    throttle, a 400 ``invalid_request`` "rate limit exceeded; ...", exactly as after a 429. Credential
    errors and every other 400 are final. It runs inside the token manager's single flight, so
    threads waiting for a token share its waits.

    Args:
        http: The session to send with (never the caller's).
        timeout: Connect and read timeout per attempt.
        retry: The retry policy.
        clock: The clock for budgets and sleeps.
        offset: The server clock offset, for ``Retry-After`` dates.
    """

    def __init__(
        self, http: requests.Session, *, timeout: Timeout, retry: RetryPolicy, clock: Clock, offset: ClockOffset
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.retry = retry
        self.clock = clock
        self.offset = offset
        # A token request is safe to repeat, whatever its method.
        self._policy = retry.with_methods("POST")

    def quick(self) -> LoginClient:
        """A client for an ahead-of-expiry refresh: one attempt, short timeouts.

        It runs inside some caller's request while the current token still works, so it must not
        keep that request waiting; a failure only means trying again a little later.
        """
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        timeout = (min(connect or _QUICK_CONNECT, _QUICK_CONNECT), min(read or _QUICK_READ, _QUICK_READ))
        return LoginClient(
            self.http, timeout=timeout, retry=replace(self.retry, max_attempts=1), clock=self.clock, offset=self.offset
        )

    def fetch(self, source: TokenSource) -> IssuedToken:
        """A new token from ``source``: its token request sent and parsed, or its own :meth:`TokenSource.obtain`.

        Raises:
            TokenRequestError: The request failed or the answer was not a token; the message carries
                the status, the OAuth error, its description and the correlation id, never the secret.
        """
        request = source.token_request()
        if request is None:
            return source.obtain()
        return self.send(request)

    def send(self, request: TokenRequest) -> IssuedToken:
        """The token ``request`` sent (retries included) and its answer parsed (the refresh token included).

        Raises:
            TokenRequestError: As for :meth:`fetch`; the message never quotes a value of the request.
        """
        return parse_token_response(self.post(request), secret=request.scrubbed)

    def token_info(self, api_url: str, access_token: str) -> TokenInfo:
        """What the API says of ``access_token`` (alive, when it idles out): one quick ``GET``, no retries.

        It never raises: a failure is an answer of None (the caller goes on without the information).
        """
        timeout = (_QUICK_CONNECT, _QUICK_READ)
        try:
            response = self.http.get(
                api_url + TOKEN_INFO_PATH,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            _log.debug("The token's information could not be read (%s); going on without it.", root_cause(exc))
            return parse_token_info(None, received_wall=self.clock.wall())
        with response:
            return parse_token_info(response, received_wall=self.clock.wall())

    def post(self, request: TokenRequest) -> requests.Response:
        """Send a token request through the request flow (retries included) and return the final answer.

        The retry policy is this client's own, never a :func:`retry_policy` override: a token request
        is shared by every thread that needs a token, so one caller's override must not decide it.

        Raises:
            TokenRequestError: The service could not be reached, or retries ran out (the message says
                when the login service was throttling).
        """
        started = self.clock.monotonic()
        driver = _LoginDriver(self, request)
        flow = request_flow(
            "POST",
            policy=self._policy,
            clock=self.clock,
            offset=self.offset,
            what=lambda: f"POST {request.url}",
            authorize=False,
        )
        verdict = run(flow, driver)
        if verdict.kind is VerdictKind.EXHAUSTED:
            raise exhausted(verdict, driver.response, secret=request.scrubbed) from driver.error
        if driver.error is not None:
            raise unreachable(request.url, driver.error) from driver.error
        response = driver.response
        assert response is not None
        _log.debug(
            "Token request to %s: HTTP %d in %.0f ms after %d attempt(s) (correlation id %s).",
            request.url,
            response.status_code,
            (self.clock.monotonic() - started) * 1000,
            verdict.sends,
            response.headers.get(CORRELATION_HEADER, "-"),
        )
        return response


class _LoginDriver:
    """Carries out a token request's flow over ``requests``: no token, no 401 handling, a form body."""

    def __init__(self, client: LoginClient, request: TokenRequest) -> None:
        self._client = client
        self._request = request
        self.response: requests.Response | None = None
        self.error: requests.RequestException | None = None

    def authorize(self, rejected: str | None, after: float | None = None) -> str:
        raise AssertionError("a token request carries no token")

    def drop(self, header: str) -> None:
        raise AssertionError("a token request carries no token")

    def rewind(self) -> bool:
        return True  # a form body is sent from memory

    def sleep(self, seconds: float) -> None:
        self._client.clock.sleep(seconds)

    def send(self, authorization: str | None, kind: SendKind) -> Outcome:
        client, request = self._client, self._request
        if self.response is not None:
            _ = self.response.content  # back to the pool for the next attempt
        sent_wall = client.clock.wall()
        try:
            response = client.http.post(
                request.url,
                data=dict(request.form),
                auth=request.basic,
                headers={"Accept": "application/json"},
                timeout=client.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            failure = classify(exc)
            if failure is None:
                raise unreachable(request.url, exc) from exc
            self.response, self.error = None, exc
            return failure_outcome(failure, exc)
        self.response, self.error = response, None
        # Every answer is a clock sample (the flow takes it), so that a Retry-After date from a
        # throttling login service is read on the server's clock even before the first token arrives.
        return login_outcome(response, sent_wall=sent_wall, received_wall=client.clock.wall())
