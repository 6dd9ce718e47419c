"""Error bodies shaped as Genesys Cloud sends them (API host) and as its login service sends them.

The API body always has ``message, code, status, contextId, details, errors``; ``contextId`` equals the
response's ``ININ-Correlation-Id``, so a client that quotes either quotes the same value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from .messages import JsonObject, Response, json_response

_SERVER_ERRORS = {
    500: ("internal.server.error", "The server encountered an internal error."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: ("service.unavailable", "The service is currently unavailable. Please try again later."),
    504: ("gateway.timeout", "The server did not receive a timely response from an upstream server."),
}


def genesys_error(
    status: int,
    code: str,
    message: str,
    details: Sequence[JsonObject] = (),
    headers: Iterable[tuple[str, str]] = (),
    limit: JsonObject | None = None,
) -> Response:
    """Builds a Genesys-shaped API error response.

    Args:
        status: The HTTP status, repeated in the body.
        code: The Genesys error code, e.g. ``bad.credentials``.
        message: The human-readable message.
        details: Entries such as ``{"errorCode": ..., "fieldName": ...}``.
        headers: Extra headers (Retry-After).
        limit: The ``limit`` object of a 429 (``key``, ``namespace``, ``value``); None leaves it out.

    Returns:
        The JSON response.
    """
    context_id = str(uuid.uuid4())
    body = {
        "message": message,
        "code": code,
        "status": status,
        "contextId": context_id,
        "details": list(details),
        "errors": [],
    }
    if limit is not None:
        body["limit"] = limit
    return json_response(status, body, headers, correlation_id=context_id)


def bad_credentials() -> Response:
    """The 401 every missing, unknown, revoked or expired token gets."""
    return genesys_error(401, "bad.credentials", "Invalid login credentials.")


def not_found(path: str) -> Response:
    """The 404 for a path (or method on a path) the emulator does not serve."""
    return genesys_error(404, "not.found", f"The requested resource {path} was not found.")


def bad_request(message: str, field: str | None = None, error_code: str = "INVALID_VALUE") -> Response:
    """A 400 ``bad.request``, naming the offending field in ``details`` when there is one."""
    details = [{"errorCode": error_code, "fieldName": field}] if field else []
    return genesys_error(400, "bad.request", message, details)


def rate_limited(
    retry_after: int | None, headers: Iterable[tuple[str, str]] = (), limit: JsonObject | None = None
) -> Response:
    """The normalized 429 (Genesys since November 2021).

    Args:
        retry_after: Seconds named in the message; None leaves the number out of the message.
        headers: Headers to send, Retry-After included when the caller wants one.
        limit: The limit that was hit (Genesys adds it at its discretion since June 2023), or None.

    Returns:
        The JSON response.
    """
    message = "Rate limit exceeded the maximum"
    message += f". Retry the request in [{retry_after}] seconds" if retry_after is not None else "."
    return genesys_error(429, "too.many.requests.retry.after", message, headers=headers, limit=limit)


def server_error(status: int, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A 5xx with a Genesys-shaped body."""
    code, message = _SERVER_ERRORS.get(status, ("server.error", "The server encountered an error."))
    return genesys_error(status, code, message, headers=headers)


def oauth_error(error: str, description: str, status: int = 400, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A login-service error: ``{"error", "description", "error_description"}``.

    Genesys' login service throttles with one of these too: 400 ``invalid_request``, "rate limit
    exceeded; ...".
    """
    body = {"error": error, "description": description, "error_description": description}
    return json_response(status, body, headers)


class RouteError(Exception):
    """Raised by a route helper to answer with ``response`` instead of the route's normal result."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response
