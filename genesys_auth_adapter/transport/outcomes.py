"""What the requests front ends tell the request flow: outcomes of responses and of failures.

The retry loop itself is the request flow's (:mod:`genesys_auth_adapter.engine.flow`), the same for
every front end; here a ``requests`` response or exception becomes an :class:`~..engine.retry.Outcome`.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.models import PreparedRequest
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ..engine.retry import Failure, Outcome
from ..engine.retry import response_outcome as describe

#: Name of the attribute set on a response that took more than one send: how many it took.
ATTEMPTS_ATTRIBUTE = "genesys_attempts"


def attempts(response: Any) -> int:
    """How many sends a response took, a 401 re-send included (1 when it was sent once).

    Works for the responses of every front end (``requests`` and ``httpx``).
    """
    return int(getattr(response, ATTEMPTS_ATTRIBUTE, 1))


def classify(exc: BaseException) -> Failure | None:
    """Whether a requests exception happened before the request left, after, or is not retryable."""
    if isinstance(exc, requests.exceptions.SSLError):
        return None  # a certificate problem does not go away by waiting
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.NOT_SENT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure.MAYBE_SENT
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return Failure.NOT_SENT
        return Failure.MAYBE_SENT
    return None


def response_outcome(
    response: requests.Response, sent_wall: float, received_wall: float, authorization: str | None
) -> Outcome:
    """Describe a ``requests`` API response for the request flow (see :func:`..engine.retry.response_outcome`).

    ``authorization``: the value the flow sent the request with, compared (for a 401 only) with what the
    answered request carried.
    """
    status = response.status_code
    carried = status != 401 or _carried(response.request, authorization)
    return describe(status, response.headers, lambda: response.text, sent_wall, received_wall, carried)


def _carried(request: PreparedRequest | None, authorization: str | None) -> bool:
    return request is None or request.headers.get("Authorization") == authorization
