"""The login port: what a token request is and how the login service's answer reads, with no HTTP library.

A grant builds a :class:`TokenRequest` (URL, form, Basic credentials); a driver (requests, httpx sync,
httpx async) sends it through the one request flow and hands the answer back here as any object with
``status_code``, ``headers`` and ``content`` (both libraries' responses qualify). So every grant works
with every transport, and the parsing and the error messages exist once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .causes import root_cause, scrub_urls
from .engine.flow import Verdict
from .engine.retry import Failure, Outcome
from .engine.token import IssuedToken
from .errors import CORRELATION_HEADER, TokenRequestError, is_login_throttle

#: ``HEAD`` on this API path verifies the calling token (200, or 401 when it does not work); the library
#: sends it to learn the server's clock before it hands out a token taken from a store.
VERIFY_PATH = "/api/v2/tokens/me"


class HttpResponse(Protocol):
    """The parts of a response (``requests.Response``, a read ``httpx.Response``) the login port reads."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


@dataclass(frozen=True)
class TokenRequest:
    """A token request to send: ``POST url`` with ``form``, and HTTP Basic ``basic`` when given.

    Attributes:
        url: The token endpoint, such as ``https://login.mypurecloud.com/oauth/token``.
        form: The form fields (``grant_type`` and the grant's own).
        basic: The (client id, client secret) pair for the Basic header, or None (never shown in ``repr``).
        secret: The client secret (for the store's binding), scrubbed from any text quoted in errors
            (never shown in ``repr``).
        hidden: Other values of the form to scrub from any text quoted in errors: a refresh token, an
            authorization code, a PKCE verifier, a SAML assertion (never shown in ``repr``).
    """

    url: str
    form: tuple[tuple[str, str], ...] = field(repr=False)
    basic: tuple[str, str] | None = field(default=None, repr=False)
    secret: str = field(default="", repr=False)
    hidden: tuple[str, ...] = field(default=(), repr=False)

    @property
    def grant_type(self) -> str:
        """The ``grant_type`` of the form ("" when missing)."""
        return dict(self.form).get("grant_type", "")

    @property
    def scrubbed(self) -> tuple[str, ...]:
        """Every value of this request that must never appear in a message."""
        return tuple(value for value in (self.secret, *self.hidden) if value)

    def __repr__(self) -> str:
        return f"TokenRequest(url={self.url!r}, grant_type={self.grant_type!r})"


def login_outcome(response: HttpResponse, *, sent_wall: float, received_wall: float) -> Outcome:
    """Describe a login answer for the request flow; the login service's 400 throttle is marked ``throttled``."""
    status = response.status_code
    headers = response.headers
    correlation_id = headers.get(CORRELATION_HEADER)
    throttled = status == 400 and _throttle_description(json_object(response)) is not None
    detail = f"HTTP {status}" + (" invalid_request: rate limit exceeded" if throttled else "")
    if correlation_id:
        detail += f" (correlation id {correlation_id})"
    retryable = throttled or status == 429 or status >= 500
    return Outcome(
        status=status,
        retry_after=headers.get("Retry-After") if retryable else None,
        body=_text_of(response)[:1000] if throttled or status == 429 else "",
        detail=detail,
        throttled=throttled,
        correlation_id=correlation_id,
        date=headers.get("Date"),
        sent_wall=sent_wall,
        received_wall=received_wall,
    )


def failure_outcome(failure: Failure, error: BaseException) -> Outcome:
    """Describe a connection failure (``not sent`` or ``maybe sent``) and its root cause for the request flow."""
    return Outcome(failure=failure, detail=f"{type(error).__name__} ({failure.value}): {root_cause(error)}")


def unreachable(url: str, error: BaseException) -> TokenRequestError:
    """The error for a login service that could not be reached, naming the root cause."""
    return TokenRequestError(
        f"Could not reach the Genesys login service at {scrub_urls(url)}: {type(error).__name__} "
        f"({root_cause(error)}). Check the region or GENESYS_LOGIN_URL and the network."
    )


def exhausted(verdict: Verdict, response: HttpResponse | None, *, secret: str | tuple[str, ...]) -> TokenRequestError:
    """The error for a token request whose retries ran out, saying so when the service was throttling."""
    last = verdict.history[-1] if verdict.history else None
    status = last.status if last is not None else None
    correlation_id = last.correlation_id if last is not None else None
    description = None if response is None else _throttle_description(json_object(response))
    text = _scrub(f"Token request failed: {verdict.message}", secret)
    if description is None and status != 429:
        return TokenRequestError(text, status=status, correlation_id=correlation_id, response=response)
    message = (
        f"Token request failed: the Genesys login service is throttling token requests (HTTP {status}, "
        f"correlation id {correlation_id or '-'}) and the retry budget ran out. Reuse tokens instead of "
        f"requesting new ones, or allow more time (RetryPolicy max_time). {verdict.message}"
    )
    return TokenRequestError(
        _scrub(message, secret),
        status=status,
        error="invalid_request" if description is not None else None,
        description=_scrub(description, secret) if description else None,
        correlation_id=correlation_id,
        response=response,
    )


def parse_token_response(response: HttpResponse, *, secret: str | tuple[str, ...] = "") -> IssuedToken:
    """Read an ``/oauth/token`` answer.

    Args:
        response: The login service's response (its body read).
        secret: A value (or several: :attr:`TokenRequest.scrubbed`) to scrub from any text quoted in
            error messages.

    Returns:
        The issued token, from a 200 answer with an ``access_token`` (and its ``refresh_token``, when the
        grant gives one).

    Raises:
        TokenRequestError: For any other answer; the message carries the status, the OAuth error,
            its description and the correlation id, never the secret.
    """
    status = response.status_code
    correlation_id = response.headers.get(CORRELATION_HEADER)
    body = json_object(response)
    if status == 200 and body is not None:
        access_token = body.get("access_token")
        if isinstance(access_token, str) and access_token.strip():
            try:
                # No ``date``: the flow took this response's clock sample when it arrived.
                return IssuedToken(
                    access_token=access_token.strip(),
                    expires_in=_expires_in(body.get("expires_in")),
                    token_type=str(body.get("token_type") or "bearer").strip(),
                    minted_now=True,
                    refresh_token=_text(body.get("refresh_token")),
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
        problem = f"HTTP {status} with a non-JSON body ({kind})"
    elif status == 200:
        problem = "HTTP 200 without an access_token"
    else:
        problem = f"HTTP {status}"
    message = f"Token request failed: {problem}"
    if error:
        message += f" {error}"
    if description:
        message += f": {description}"
    if correlation_id:
        message += f" (correlation id {correlation_id})"
    if throttled:
        message += ". The login service is throttling token requests: try again later, and reuse tokens."
    elif error in ("invalid_client", "unauthorized_client") or status == 401:
        message += ". Check the client id and secret (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET) and the region."
    elif error == "invalid_grant":
        message += ". The code, refresh token or assertion was refused (used, expired or revoked)."
    raise TokenRequestError(
        _scrub(message, secret),
        status=status,
        error=error,
        description=_scrub(description, secret) if description else description,
        correlation_id=correlation_id,
        response=response,
    )


def _throttle_description(body: Mapping[str, Any] | None) -> str | None:
    """The description that marks a login error body as the throttle, or None when it is not one."""
    if body is None:
        return None
    error = _text(body.get("error"))
    for key in ("error_description", "description"):
        description = _text(body.get(key))
        if is_login_throttle(error, description):
            return description
    return None


def json_object(response: HttpResponse) -> Mapping[str, Any] | None:
    """The response's body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text_of(response: HttpResponse) -> str:
    return (response.content or b"").decode("utf-8", "replace")


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


def _scrub(text: str, secret: str | tuple[str, ...]) -> str:
    for value in (secret,) if isinstance(secret, str) else secret:
        if value:
            text = text.replace(value, "***")
    return text
