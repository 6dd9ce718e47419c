"""The client-credentials token request and the parsing of its answer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Optional, Union

import requests

from ..engine.clock import Clock
from ..engine.retry import Outcome, RetryPolicy
from ..engine.skew import ClockOffset
from ..engine.token import IssuedToken
from ..errors import CORRELATION_HEADER, RetryExhaustedError, TokenRequestError, is_login_throttle
from .retrying import attempts, outcome_of, send_with_retries

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

    def post_form(
        self, url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None
    ) -> requests.Response:
        """POST a form to the login service, with retries.

        The retry policy is this client's own, never a :func:`retry_policy` override: a token request
        is shared by every thread that needs a token, so one caller's override must not decide it.

        Raises:
            TokenRequestError: The service could not be reached, or retries ran out (the message says
                when the login service was throttling).
        """
        started = self.clock.monotonic()

        def send() -> requests.Response:
            sent_wall = self.clock.wall()
            response = self.http.post(
                url,
                data=dict(form),
                auth=basic,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
            # Every answer is a clock sample, so that a Retry-After date from a throttling login
            # service is read on the server's clock even before the first token arrives.
            self.offset.observe_date_header(response.headers.get("Date"), sent_wall, self.clock.wall())
            return response

        try:
            response = send_with_retries(
                send,
                method="POST",
                what=lambda: f"POST {url}",
                policy=self._policy,
                clock=self.clock,
                offset=self.offset,
                throttle=login_throttle,
            )
        except RetryExhaustedError as exc:
            raise _exhausted(exc, secret=basic[1] if basic else "") from exc
        except requests.RequestException as exc:
            raise TokenRequestError(
                f"Could not reach the Genesys login service at {url}: {type(exc).__name__}. "
                "Check the region or GENESYS_LOGIN_URL and the network.",
                request=exc.request,
            ) from exc
        _log.debug(
            "Token request to %s: HTTP %d in %.0f ms after %d attempt(s) (correlation id %s).",
            url,
            response.status_code,
            (self.clock.monotonic() - started) * 1000,
            attempts(response),
            response.headers.get(CORRELATION_HEADER, "-"),
        )
        return response

    def client_credentials(self, login_url: str, client_id: str, client_secret: str) -> IssuedToken:
        """Request a token with the client-credentials grant.

        Raises:
            TokenRequestError: The request failed or the answer was not a token; the message carries
                the status, the OAuth error, its description and the correlation id, never the secret.
        """
        response = self.post_form(
            f"{login_url}/oauth/token",
            {"grant_type": "client_credentials"},
            basic=(client_id, client_secret),
        )
        return parse_token_response(response, secret=client_secret)


def login_throttle(response: requests.Response) -> Outcome | None:
    """The login service's throttle, a 400 ``invalid_request`` "rate limit exceeded; ...", as an Outcome.

    The retry policy treats the outcome like a 429 (``Retry-After`` if any, else backoff); any other
    response gives None and stays final.
    """
    if response.status_code != 400:
        return None
    body = _json_object(response)
    if body is None or _throttle_description(body) is None:
        return None
    return outcome_of(response, throttled=True, note="invalid_request: rate limit exceeded")


def _throttle_description(body: Mapping[str, Any]) -> str | None:
    """The description that marks a login error body as the throttle, or None when it is not one."""
    error = _text(body.get("error"))
    for key in ("error_description", "description"):
        description = _text(body.get(key))
        if is_login_throttle(error, description):
            return description
    return None


def _exhausted(exc: RetryExhaustedError, *, secret: str) -> TokenRequestError:
    """The error for a token request whose retries ran out, saying so when the service was throttling."""
    body = None if exc.response is None else _json_object(exc.response)
    description = None if body is None else _throttle_description(body)
    if description is None and exc.last_status != 429:
        return TokenRequestError(
            f"Token request failed: {exc}",
            status=exc.last_status,
            correlation_id=exc.correlation_id,
            response=exc.response,
        )
    message = (
        f"Token request failed: the Genesys login service is throttling token requests (HTTP {exc.last_status}, "
        f"correlation id {exc.correlation_id or '-'}) and the retry budget ran out. Reuse tokens instead of "
        f"requesting new ones, or allow more time (RetryPolicy max_time). {exc}"
    )
    if secret:
        message = message.replace(secret, "***")
        description = description.replace(secret, "***") if description else description
    return TokenRequestError(
        message,
        status=exc.last_status,
        error="invalid_request" if description is not None else None,
        description=description,
        correlation_id=exc.correlation_id,
        response=exc.response,
    )


def parse_token_response(response: requests.Response, *, secret: str = "") -> IssuedToken:
    """Read an ``/oauth/token`` answer.

    Args:
        response: The login service's response.
        secret: A value to scrub from any text quoted in error messages.

    Returns:
        The issued token, from a 200 answer with an ``access_token``.

    Raises:
        TokenRequestError: For any other answer.
    """
    correlation_id = response.headers.get(CORRELATION_HEADER)
    body = _json_object(response)
    if response.status_code == 200 and body is not None:
        access_token = body.get("access_token")
        if isinstance(access_token, str) and access_token.strip():
            try:
                return IssuedToken(
                    access_token=access_token.strip(),
                    expires_in=_expires_in(body.get("expires_in")),
                    token_type=str(body.get("token_type") or "bearer").strip(),
                    date=response.headers.get("Date"),
                    minted_now=True,
                )
            except ValueError as exc:
                raise TokenRequestError(
                    f"The login service answered HTTP 200 with a token that cannot be used: {exc} "
                    f"(correlation id {correlation_id or '-'}).",
                    status=200,
                    correlation_id=correlation_id,
                    response=response,
                ) from exc
    error = _text(body.get("error")) if body else None
    description = None
    throttled = False
    if body:
        throttled_by = _throttle_description(body)
        throttled = throttled_by is not None
        description = throttled_by or _text(body.get("error_description")) or _text(body.get("description"))
        description = description or _text(body.get("message"))
    if body is None:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        problem = f"HTTP {response.status_code} with a non-JSON body ({kind})"
    elif response.status_code == 200:
        problem = "HTTP 200 without an access_token"
    else:
        problem = f"HTTP {response.status_code}"
    message = f"Token request failed: {problem}"
    if error:
        message += f" {error}"
    if description:
        message += f": {description}"
    if correlation_id:
        message += f" (correlation id {correlation_id})"
    if throttled:
        message += ". The login service is throttling token requests: try again later, and reuse tokens."
    elif error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
        message += ". Check the client id and secret (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET) and the region."
    if secret:
        message = message.replace(secret, "***")
        description = description.replace(secret, "***") if description else description
    raise TokenRequestError(
        message,
        status=response.status_code,
        error=error,
        description=description,
        correlation_id=correlation_id,
        response=response,
    )


def _json_object(response: requests.Response) -> Mapping[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _expires_in(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
