"""The emulator's rate limits: fixed windows per token and per endpoint prefix, and the 429 they give.

The model, chosen to be simple and deterministic rather than to copy Genesys' undisclosed internals:

- A limit allows N requests per window of ``window`` seconds (60 by default: Genesys' limits are "per
  minute"; tests shorten it). Each counter's window opens at the first request it counts and closes
  ``window`` seconds later; the first request after that opens the next one. A clock set back (a new
  skew) also opens a new window, so none lasts longer than ``window``.
- A request is counted against every limit that applies to it, whether it is answered or refused: its
  token's limit (``client.credentials.token.rate.per.minute``, every token the emulator issues being a
  client-credentials token) and each endpoint limit whose path prefix it falls under. Endpoint limits
  are counted per organization (the emulator has one): all tokens together, so minting tokens does not
  get around them, as Genesys warns.
- Over any limit, the answer is a 429 whose ``Retry-After`` is the whole seconds (rounded up, at least 1)
  until the exceeded window closes, when its count starts again; when several are exceeded, the one that
  closes last, since retrying earlier would fail anyway.

The limit names are plausible, not observed: ``platform.api`` as the namespace of the per-token limit,
and for an endpoint prefix such as ``/api/v2/analytics/conversations/details/query`` the namespace
``analytics`` and the key ``analytics.conversations.details.query.rate.per.minute``.

:class:`RateLimiter` holds no lock: :class:`~.state.EmulatorState` calls it under its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import settings

#: The per-token limit's key and namespace, as a 429's ``limit`` object names them.
TOKEN_LIMIT_KEY = "client.credentials.token.rate.per.minute"
TOKEN_LIMIT_NAMESPACE = "platform.api"

#: Endpoint prefixes must be under the API; a limit can be set on this many at most.
ENDPOINT_ROOT = "/api/v2/"
MAX_ENDPOINT_LIMITS = 100


@dataclass(frozen=True)
class Limit:
    """One rate limit: its name in a 429's ``limit`` object and its size.

    Attributes:
        key: E.g. ``client.credentials.token.rate.per.minute``.
        namespace: E.g. ``platform.api``.
        value: Requests allowed per window.
    """

    key: str
    namespace: str
    value: int

    def as_json(self) -> dict[str, object]:
        """The ``limit`` object of a 429 body."""
        return {"key": self.key, "namespace": self.namespace, "value": self.value}


@dataclass(frozen=True)
class Refusal:
    """A request over a limit.

    Attributes:
        limit: The limit that was exceeded.
        retry_after: Whole seconds until its window closes (at least 1).
    """

    limit: Limit
    retry_after: int


@dataclass
class _Window:
    start: float
    count: int = 0


def endpoint_limit(prefix: str, value: int) -> Limit:
    """Names the limit of an endpoint prefix: namespace the first segment, key every segment.

    Args:
        prefix: A checked prefix under ``/api/v2/``.
        value: Requests allowed per window.

    Returns:
        The limit, e.g. ``analytics`` / ``analytics.conversations.details.query.rate.per.minute``.
    """
    segments = [segment for segment in prefix[len(ENDPOINT_ROOT) :].split("/") if segment]
    return Limit(".".join([*segments, "rate.per.minute"]), segments[0], value)


def check_endpoint_limits(limits: object, name: str = "endpoint_limits") -> dict[str, int]:
    """Checks endpoint limits: ``{"/api/v2/prefix": requests per window}``.

    Args:
        limits: The mapping given.
        name: The setting's name, as the caller spelled it.

    Returns:
        A copy, each prefix without a trailing slash.

    Raises:
        ValueError: Naming the setting (and the prefix) when the value is not such a mapping.
    """
    if not isinstance(limits, Mapping):
        raise ValueError(f'{name} must map path prefixes to request counts, e.g. {{"/api/v2/analytics": 60}}')
    if len(limits) > MAX_ENDPOINT_LIMITS:
        raise ValueError(f"{name} may set at most {MAX_ENDPOINT_LIMITS} prefixes, not {len(limits)}")
    checked: dict[str, int] = {}
    for prefix, value in limits.items():
        if (
            not isinstance(prefix, str)
            or not prefix.startswith(ENDPOINT_ROOT)
            or not prefix[len(ENDPOINT_ROOT) :].strip("/")
        ):
            raise ValueError(
                f"{name} prefixes must be paths below {ENDPOINT_ROOT}, e.g. /api/v2/analytics, not {prefix!r}"
            )
        checked[prefix.rstrip("/")] = settings.whole(value, f"{name}[{prefix!r}]", 1, settings.MAX_RATE_LIMIT)
    return checked


class RateLimiter:
    """Counts requests against the per-token and per-endpoint limits. Not thread-safe: lock around it.

    Args:
        per_token: Requests per window per token; 0 turns the per-token limit off.
        window: The window, in seconds.
        endpoints: Requests per window per organization, by path prefix (checked).
    """

    def __init__(self, per_token: int, window: float, endpoints: Mapping[str, int]) -> None:
        self._window = window
        self._token_limit = Limit(TOKEN_LIMIT_KEY, TOKEN_LIMIT_NAMESPACE, per_token) if per_token else None
        self._endpoints = [(prefix, endpoint_limit(prefix, value)) for prefix, value in endpoints.items()]
        self._by_token: dict[str, _Window] = {}
        self._by_prefix: dict[str, _Window] = {}

    def count(self, token: str, path: str, now: float) -> Refusal | None:
        """Counts one request with ``token`` for ``path`` at server time ``now``.

        Returns:
            The refusal when a limit is exceeded (the one whose window closes last), else None.
        """
        refusal: Refusal | None = None
        if self._token_limit is not None:
            refusal = self._count(self._by_token, token, self._token_limit, now)
        for prefix, limit in self._endpoints:
            if path == prefix or path.startswith(prefix + "/"):
                exceeded = self._count(self._by_prefix, prefix, limit, now)
                if exceeded is not None and (refusal is None or exceeded.retry_after > refusal.retry_after):
                    refusal = exceeded
        return refusal

    def _count(self, windows: dict[str, _Window], name: str, limit: Limit, now: float) -> Refusal | None:
        window = windows.get(name)
        if window is None or not window.start <= now < window.start + self._window:
            window = windows[name] = _Window(now)
        window.count += 1
        if window.count <= limit.value:
            return None
        return Refusal(limit, max(1, math.ceil(window.start + self._window - now)))

    def forget(self, token: str) -> None:
        """Drops a token's window (the token was revoked or has expired)."""
        self._by_token.pop(token, None)

    def clear_tokens(self) -> None:
        """Drops every token's window."""
        self._by_token.clear()
