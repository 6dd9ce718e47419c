"""The request and response values that pass between the HTTP plumbing and the routes.

Routes are plain functions from :class:`Request` to :class:`Response`: they never touch a socket, so the
plumbing alone decides how bytes reach the wire (and how a dropped connection looks to a client).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

JsonObject = dict[str, Any]

JSON = "application/json"


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request.

    Attributes:
        method: The request method, upper case.
        path: The path without its query string, as sent (not percent-decoded).
        query: The raw query string, without the leading ``?``.
        headers: Header values keyed by lower-cased name.
        body: The full body, de-chunked.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Returns a header value by case-insensitive name, or None."""
        return self.headers.get(name.lower())

    def params(self) -> dict[str, str]:
        """Returns the query parameters, keeping the first value of a repeated one."""
        return {key: values[0] for key, values in parse_qs(self.query, keep_blank_values=True).items()}


@dataclass(frozen=True)
class Response:
    """What a route wants sent back.

    Attributes:
        status: The HTTP status code.
        body: The body bytes (not sent for HEAD, but still measured for Content-Length).
        content_type: The Content-Type header, if any.
        headers: Extra headers, in order.
        correlation_id: The ININ-Correlation-Id to send; the plumbing makes a fresh one when None.
        drop: Close the connection without sending anything (the request has been read in full).
    """

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    correlation_id: str | None = None
    drop: bool = False


App = Callable[[Request], Response]

DROP = Response(status=0, drop=True)


def json_response(
    status: int,
    payload: object,
    headers: Iterable[tuple[str, str]] = (),
    correlation_id: str | None = None,
) -> Response:
    """Builds a JSON response.

    Args:
        status: The HTTP status code.
        payload: Anything ``json.dumps`` accepts.
        headers: Extra headers.
        correlation_id: The ININ-Correlation-Id to send, when it must match something in the body.

    Returns:
        The response, with Content-Type application/json.
    """
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON, tuple(headers), correlation_id)


def parse_json_object(body: bytes) -> JsonObject | None:
    """Parses a JSON object body; returns None when the body is not one."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
