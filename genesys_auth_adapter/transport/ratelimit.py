"""Reading Genesys' ``inin-ratelimit-*`` response headers."""

from __future__ import annotations

from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit window a response reports.

    Attributes:
        allowed: Requests allowed in the window (``inin-ratelimit-allowed``).
        used: Requests counted so far in the window (``inin-ratelimit-count``).
        reset: Seconds until the window resets (``inin-ratelimit-reset``).
    """

    allowed: int
    used: int
    reset: float

    @property
    def remaining(self) -> int:
        """Requests left in the window (never negative)."""
        return max(0, self.allowed - self.used)


def rate_limit(response: requests.Response) -> RateLimit | None:
    """The rate-limit headers of a response, or None when it has none (or they are malformed)."""
    headers = response.headers
    try:
        return RateLimit(
            allowed=int(headers["inin-ratelimit-allowed"]),
            used=int(headers["inin-ratelimit-count"]),
            reset=float(headers["inin-ratelimit-reset"]),
        )
    except (KeyError, ValueError):
        return None
