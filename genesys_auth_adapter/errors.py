"""The exception tree of genesys-auth-adapter.

Every exception the library raises on purpose derives from ``requests.RequestException``, so one
``except requests.RequestException`` still catches everything a ``requests`` call can raise::

    requests.RequestException
     └── GenesysError
          ├── ConfigurationError (also ValueError)    bad or missing settings, unknown region
          ├── TokenRequestError                       the login service refused or failed
          │    ├── TokenWaitTimeout                   another thread's token request took too long
          │    └── LoginRequiredError                 a user grant has no usable login: no refresh token
          │                                           stored, or it was refused (run genesys-auth login)
          ├── ApiError                                a Genesys error response from the API host
          │    └── RateLimitedError                   a 429 from the API host
          ├── UnreplayableBodyError                   a 401 came back and the body cannot be sent again
          │                                           (also requests.exceptions.UnrewindableBodyError)
          ├── RetryExhaustedError                     retries ran out of attempts or time
          ├── RateBudgetError                         no slot in the token's rate budget within the
          │                                           request's time budget (not sent)
          └── PaginationError                         a listing had too many pages, or a page was not JSON

Messages never contain an access token, a refresh token, a client secret, an authorization code, a PKCE
verifier, a SAML assertion or an Authorization header.

Every error pickles and copies with its fields (status, code, message, correlation id, details,
attempts, history...), so it crosses a ``multiprocessing`` or ``concurrent.futures`` process pool
intact. The ``response`` and ``request`` objects stay behind: they hold sockets, hooks and the auth
object; a copy made with ``copy.copy`` keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from .engine.retry import CORRELATION_HEADER as CORRELATION_HEADER  # one definition, shared with the engine
from .transport.outcomes import attempts

if TYPE_CHECKING:
    from .engine.paced import Refusal
    from .engine.retry import Attempt


class GenesysError(requests.RequestException):
    """Base class of every error raised by genesys-auth-adapter."""

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException's own reduce calls ``cls(*args)``, which cannot fill keyword-only fields
        # (one 403 in a multiprocessing.Pool worker would kill the pool's result thread).
        state = {k: v for k, v in self.__dict__.items() if k not in _LOCAL_ONLY}
        return _rebuild, (type(self), self.args, state)

    def __copy__(self) -> GenesysError:
        return _rebuild(type(self), self.args, dict(self.__dict__))


# Attributes that do not travel to another process: live objects with sockets, hooks and locks.
_LOCAL_ONLY = frozenset({"response", "request"})


def _rebuild(cls: type[GenesysError], args: tuple[Any, ...], state: dict[str, Any]) -> GenesysError:
    """Recreate an error without calling ``__init__`` (its fields come from ``state``)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update({"response": None, "request": None, **state})
    return error


class ConfigurationError(GenesysError, ValueError):
    """Settings are missing or invalid; the message says which and how to fix them."""


class TokenRequestError(GenesysError):
    """The login service did not issue a token.

    Attributes:
        status: HTTP status of the token response, or None when no response arrived.
        error: The OAuth ``error`` code (``invalid_client``, ``unauthorized_client``...), if any.
        description: The login service's human-readable description, if any.
        correlation_id: The ``ININ-Correlation-Id`` of the response, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        correlation_id: str | None = None,
        response: Any | None = None,
        request: Any | None = None,
    ) -> None:
        super().__init__(message, response=response, request=request)
        self.status = status
        self.error = error
        self.description = description
        self.correlation_id = correlation_id

    @property
    def is_credential_error(self) -> bool:
        """True when retrying cannot help: the client id, secret or grant is wrong.

        False for the login service's throttle (a 400 ``invalid_request`` "rate limit exceeded"):
        waiting helps there.
        """
        if is_login_throttle(self.error, self.description):
            return False
        return self.error in _CREDENTIAL_ERRORS or self.status in (400, 401, 403)


_CREDENTIAL_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_grant", "unsupported_grant_type", "invalid_request"}
)

#: How Genesys' login service starts the description of its throttle (matched case-insensitively).
LOGIN_THROTTLE_PREFIX = "rate limit exceeded"


def is_login_throttle(error: str | None, description: str | None) -> bool:
    """Whether a login error is Genesys' throttle: ``invalid_request`` with "rate limit exceeded; ...".

    The login service sends it as HTTP 400, not 429; every other 400 is final.
    """
    return (error or "").strip().lower() == "invalid_request" and (description or "").strip().lower().startswith(
        LOGIN_THROTTLE_PREFIX
    )


class TokenWaitTimeout(TokenRequestError):
    """Waiting for a token request made by another thread took longer than allowed."""


class LoginRequiredError(TokenRequestError):
    """A user grant cannot get a token without the user: log in again (``genesys-auth login``).

    Raised when no refresh token is stored for the client, when the login service refused the refresh
    token (``invalid_grant``: it expired, was revoked, or the user logged out), or after a logout. Never
    retried: the message says how to log in again.
    """


class ApiError(GenesysError):
    """A Genesys Cloud API error response.

    Attributes:
        status: HTTP status code.
        code: Genesys error code such as ``bad.credentials`` or ``missing.permissions``.
        message: Genesys' message (``str(error)`` adds the status, code and correlation id, and for
            "This request requires a user context" what to do about it).
        context_id: The ``contextId`` of the error body.
        details: The ``details`` list of the error body.
        correlation_id: The ``ININ-Correlation-Id`` response header.
        body: The parsed JSON body, or None when it was not JSON.
        attempts: How many sends the answer took, a 401 re-send and retries included.
    """

    def __init__(
        self,
        text: str,
        *,
        status: int,
        code: str | None = None,
        message: str | None = None,
        context_id: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        correlation_id: str | None = None,
        body: Any | None = None,
        response: Any | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(text, response=response, request=getattr(response, "request", None))
        self.status = status
        self.code = code
        self.message = message
        self.context_id = context_id
        self.details = list(details)
        self.correlation_id = correlation_id
        self.body = body
        self.attempts = attempts


class RateLimitedError(ApiError):
    """The API answered 429: too many requests."""


class UnreplayableBodyError(GenesysError, requests.exceptions.UnrewindableBodyError):
    """A request was rejected with 401 and its body cannot be sent a second time.

    The rejected token has been dropped, so sending the request again (with a fresh body) gets a new
    token and succeeds. To make requests
    re-sendable automatically, pass the body as ``bytes``, ``str``, ``data=dict``, ``json=...`` or a
    seekable file opened in binary mode instead of a generator, iterator or pipe.
    """


class RetryExhaustedError(GenesysError):
    """Retries ran out of attempts or time.

    Attributes:
        attempts: How many times the request was sent, a 401 re-send included.
        history: One :class:`~genesys_auth_adapter.engine.retry.Attempt` per attempt (number, status,
            correlation id, wait, detail); ``str()`` of one is the line the message quotes.
        last_status: The status of the last response, or None when the last attempt failed to connect.
        correlation_id: The ``ININ-Correlation-Id`` of the last response, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        history: Sequence[Attempt],
        last_status: int | None = None,
        correlation_id: str | None = None,
        response: Any | None = None,
        request: Any | None = None,
    ) -> None:
        super().__init__(message, response=response, request=request)
        self.attempts = attempts
        self.history = list(history)
        self.last_status = last_status
        self.correlation_id = correlation_id


class RateBudgetError(GenesysError):
    """A request was not sent: the rate budget it is paced by has no slot within the request's time budget.

    Raised at once, instead of sleeping past the time budget (the ``max_time`` of the retry policy) or
    sending a request the server would refuse with a 429. Send fewer requests, raise ``max_time``, or, if
    your org's limit was raised, say so with ``rate_limit=``.

    Attributes:
        budget: The lane and budget that had no slot (``token 3fa9c2d1e0b4a7f6, paced at 300 requests
            per 60 s (learned from limit ...)``); a token appears only as its fingerprint.
        wait: Seconds until its next slot.
        time_left: Seconds that were left of the request's time budget.
        history: The attempts made before (empty when the first send was refused).
    """

    def __init__(
        self,
        message: str,
        *,
        budget: str,
        wait: float,
        time_left: float,
        history: Sequence[Attempt] = (),
        request: Any | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.budget = budget
        self.wait = wait
        self.time_left = time_left
        self.history = list(history)

    @classmethod
    def from_refusal(cls, refusal: Refusal, history: Sequence[Attempt], request: Any | None) -> RateBudgetError:
        """The error for a request the flow refused a slot (the verdict's :class:`~.engine.paced.Refusal`)."""
        return cls(
            refusal.message,
            budget=refusal.budget,
            wait=refusal.wait,
            time_left=refusal.left,
            history=history,
            request=request,
        )


class PaginationError(GenesysError):
    """A listing could not be paged safely.

    More than ``max_pages`` pages, a page that is not a JSON object, a ``nextUri`` to another origin, or
    a link, cursor or page number that comes back (a loop).
    """


def error_from_response(response: requests.Response) -> ApiError:
    """Build the typed error for a Genesys error response.

    Args:
        response: A response with a 4xx or 5xx status from the API host.

    Returns:
        An :class:`ApiError` (a :class:`RateLimitedError` for 429) carrying the Genesys error body.
    """
    body = _json_or_none(response)
    fields: Mapping[str, Any] = body if isinstance(body, dict) else {}
    code = _str_or_none(fields.get("code"))
    message = _str_or_none(fields.get("message"))
    if message is None and body is None:
        message = _snippet(response.text)
    correlation_id = response.headers.get(CORRELATION_HEADER)
    details = fields.get("details")
    parts = [f"HTTP {response.status_code}"]
    if code:
        parts.append(code)
    text = " ".join(parts) + (f": {message}" if message else "")
    if correlation_id:
        text += f" (correlation id {correlation_id})"
    if _needs_user_context(message):
        text += f". {_USER_CONTEXT_HINT}"
    kind = RateLimitedError if response.status_code == 429 else ApiError
    return kind(
        text,
        status=response.status_code,
        code=code,
        message=message,
        context_id=_str_or_none(fields.get("contextId")),
        details=details if isinstance(details, list) else (),
        correlation_id=correlation_id,
        body=body,
        response=response,
        attempts=attempts(response),
    )


# What the message of an error adds when Genesys says the endpoint needs a user behind the token.
_USER_CONTEXT_HINT = (
    "This endpoint needs a user's token; a client-credentials token cannot call it. Use a token from a "
    "user's login (authorization code or PKCE), e.g. through AccessToken(...), or an endpoint that needs "
    "no user, such as /api/v2/organizations/me instead of /api/v2/users/me"
)

# How Genesys words that refusal (HTTP 400): "This request requires a user context. Client credentials
# cannot be used for requests to this resource." Either phrase is enough, in any case or spacing.
_USER_CONTEXT_PHRASES = ("requires a user context", "client credentials cannot be used")


def _needs_user_context(message: str | None) -> bool:
    """Whether a Genesys error message says the endpoint needs a user, not a client-credentials token."""
    text = " ".join((message or "").lower().split())
    return any(phrase in text for phrase in _USER_CONTEXT_PHRASES)


def raise_for_genesys(response: requests.Response) -> requests.Response:
    """Raise :class:`ApiError` for a 4xx/5xx response; return the response otherwise.

    Args:
        response: Any response.

    Returns:
        The same response, when its status is below 400.

    Raises:
        ApiError: When the status is 400 or above.
    """
    if response.status_code >= 400:
        raise error_from_response(response)
    return response


def without_query(url: object) -> str:
    """A URL (or path) for messages and logs: its query string can carry ids and filters, so it goes."""
    return str(url).split("?", 1)[0]


def _json_or_none(response: requests.Response) -> Any | None:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _snippet(text: str, limit: int = 200) -> str | None:
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[:limit] + "..."
