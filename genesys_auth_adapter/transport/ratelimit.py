"""Reading the ``inin-ratelimit-*`` response headers: legacy, Genesys Cloud no longer sends them.

Genesys deprecated ``inin-ratelimit-allowed/-count/-reset`` in March 2019 and removed them after 5 June 2021:
they showed only one of the several limits applied to a request. Against Genesys Cloud today
:func:`rate_limit` returns None. It stays because it is public and harmless (nothing in the library reads
it, and code written against it keeps working); what tells a client to slow down now is a 429's
``Retry-After``, which the retry loop honours, and the optional ``limit`` object of its body.
"""

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
    """The legacy rate-limit headers of a response, or None when it has none (or they are malformed).

    Genesys Cloud stopped sending these headers in June 2021, so this is None for its responses; it reads
    them only from something that still sends them (an old proxy or mock).
    """
    headers = response.headers
    try:
        return RateLimit(
            allowed=int(headers["inin-ratelimit-allowed"]),
            used=int(headers["inin-ratelimit-count"]),
            reset=float(headers["inin-ratelimit-reset"]),
        )
    except (KeyError, ValueError):
        return None
