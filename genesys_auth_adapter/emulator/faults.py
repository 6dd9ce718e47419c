"""Injected failures: a validated value describing one failure, and the response it produces."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

from . import settings
from .errors import oauth_error, rate_limited, server_error
from .messages import DROP, Response

#: A status code, or ``"drop"`` to close the connection without answering.
FaultStatus = Union[int, str]

#: Statuses a token fault may have; 400 is a login-service error, by default its throttle.
TOKEN_STATUSES = frozenset({400, 429, 500, 502, 503, 504})

#: The login service's throttle: HTTP 400, error ``invalid_request``, a description starting with this
#: (the rest of Genesys' wording is unknown).
THROTTLE_ERROR = "invalid_request"
THROTTLE_DESCRIPTION = "rate limit exceeded; too many token requests, try again later"


@dataclass(frozen=True)
class Fault:
    """One kind of failure, to be served a number of times.

    Attributes:
        status: 429, a 5xx code, 400 (a login-service OAuth error), or None to drop the connection.
        retry_after: Seconds for the Retry-After header; None omits the header.
        retry_after_date: Send Retry-After as an HTTP-date (server clock) instead of seconds.
        paths: Only requests whose path starts with one of these are hit; None hits every request.
        error: The OAuth ``error`` of a 400 (the throttle's ``invalid_request`` unless told otherwise).
        description: The ``description``/``error_description`` of a 400.
    """

    status: int | None
    retry_after: int | None = None
    retry_after_date: bool = False
    paths: tuple[str, ...] | None = None
    error: str = THROTTLE_ERROR
    description: str = THROTTLE_DESCRIPTION

    def applies_to(self, path: str) -> bool:
        """Whether a request for ``path`` should get this fault."""
        return self.paths is None or any(path.startswith(prefix) for prefix in self.paths)

    def response(self, now: float) -> Response:
        """Builds the failing response.

        Args:
            now: Server time, for a Retry-After date.

        Returns:
            The response, or :data:`DROP`.
        """
        if self.status is None:
            return DROP
        headers: list[tuple[str, str]] = []
        if self.retry_after is not None:
            value = (
                email.utils.formatdate(now + self.retry_after, usegmt=True)
                if self.retry_after_date
                else str(self.retry_after)
            )
            headers.append(("Retry-After", value))
        if self.status == 429:
            return rate_limited(self.retry_after, headers)
        if self.status == 400:
            return oauth_error(self.error, self.description, headers=headers)
        return server_error(self.status, headers)


def make_fault(
    status: FaultStatus,
    retry_after: float | None,
    *,
    retry_after_date: bool = False,
    paths: Iterable[str] | None = None,
    allowed: frozenset[int] | None = None,
    error: str | None = None,
    description: str | None = None,
) -> Fault:
    """Validates fault parameters and builds a :class:`Fault`.

    Args:
        status: 429, a 5xx code, ``"drop"``, or 400 where ``allowed`` has it (the login service).
        retry_after: Seconds from 0 to 86400 (rounded up, since Retry-After is an integer), or None for no
            header.
        retry_after_date: Send Retry-After as an HTTP-date.
        paths: Path prefixes the fault is limited to.
        allowed: The status codes permitted; None permits 429 and every 5xx.
        error: A 400's OAuth error; by default the throttle's ``invalid_request``.
        description: A 400's description; by default the throttle's "rate limit exceeded; ...".

    Returns:
        The fault.

    Raises:
        ValueError: On a status that is not permitted, a retry_after out of range (NaN and infinity
            included), or an error or description for a status other than 400.
    """
    if status == "drop":
        code: int | None = None
    elif isinstance(status, int) and not isinstance(status, bool) and _permitted(status, allowed):
        code = status
    else:
        raise ValueError(f"unsupported fault status: {status!r}")
    retry_after = settings.retry_after(retry_after)
    if (error is not None or description is not None) and code != 400:
        raise ValueError(f"error and description are for a 400 from the login service, not status {status!r}")
    for name, text in (("error", error), ("description", description)):
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"{name} must be a non-empty string, not {text!r}")
    seconds = None if retry_after is None else math.ceil(retry_after)
    # A lone string is one prefix, not a sequence of one-character prefixes.
    prefixes = (paths,) if isinstance(paths, str) else None if paths is None else tuple(paths)
    return Fault(
        code,
        seconds,
        retry_after_date,
        prefixes,
        error=THROTTLE_ERROR if error is None else error,
        description=THROTTLE_DESCRIPTION if description is None else description,
    )


def _permitted(status: int, allowed: frozenset[int] | None) -> bool:
    if allowed is not None:
        return status in allowed
    return status == 429 or 500 <= status <= 599
