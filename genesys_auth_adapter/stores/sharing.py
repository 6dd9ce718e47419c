"""What both forms of the cross-process fetch (``_async/fetch.py`` and the ``_sync/fetch.py`` generated from
it) share: reading a store's entries as the engine's tokens, and reporting a store's outages once.

Nothing here does I/O; see :mod:`.shared` for the fetch itself.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable
from typing import Callable, TypeVar

from ..engine.clock import Clock
from ..engine.skew import ClockOffset
from ..engine.state import TokenState
from ..engine.token import IssuedToken, refresh_margin
from .base import StoredToken

_log = logging.getLogger("genesys_auth_adapter.store")

T = TypeVar("T")

#: Makes a token request (threads), or the same awaited (asyncio); the generator maps one to the other.
Fetch = Callable[[], IssuedToken]
AsyncFetch = Callable[[], Awaitable[IssuedToken]]
#: One store call, wrapped so that a store failure becomes a miss.
Call = Callable[[], T]
AsyncCall = Callable[[], Awaitable[T]]

#: A stored token with less than this many seconds left is never handed out, whatever its lifetime.
MIN_REMAINING = 1.0
#: Before this process has read the server's clock (no Date sample yet), a stored token's remaining
#: lifetime cannot be known, only guessed from the local clock: it is trusted for this long at most, and
#: looked at again (with the server's clock by then) when that runs out. Such a token is never handed
#: out of the library as it is: ``token()`` first verifies it with one request (see
#: ``TokenManager.verified``).
PROVISIONAL = 60.0


class Outage:
    """Warns once when a store starts failing and says when it answers again."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.down = False

    def failed(self, error: BaseException) -> None:
        if not self.down:
            self.down = True
            _log.warning(
                "The token store %r is not usable (%s); this process uses its own tokens until it answers again.",
                self._store,
                error,
            )

    def worked(self) -> None:
        if self.down:
            self.down = False
            _log.warning("The token store %r answers again; tokens are shared again.", self._store)


class Conversions:
    """Between a store's entries (server-clock expiry) and the engine's tokens (lifetimes)."""

    def __init__(self, state: TokenState, key: str, binding: str) -> None:
        self.state = state
        self.key = key
        self.binding = binding

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def offset(self) -> ClockOffset:
        return self.state.offset

    def rejected_tokens(self) -> list[str]:
        return [header.split(" ", 1)[-1] for header in self.state.rejected]

    def usable(
        self, stored: StoredToken | None, *, later_than: float | None = None, not_token: str | None = None
    ) -> IssuedToken | None:
        """The stored token as the engine takes it, or None when it is missing, rejected or due for a refresh.

        A stored token is handed out only while it is fresh by its own schedule (before its refresh margin,
        the same margin each process refreshes its own token by): a token that is already due would only
        make every process that takes it refresh at once.
        """
        if stored is None or stored.access_token in self.rejected_tokens() or stored.access_token == not_token:
            return None
        if not hmac.compare_digest(stored.binding.encode(), self.binding.encode()):  # another secret's token
            return None
        try:
            if stored.expires_at is None:
                return IssuedToken(stored.access_token, token_type=stored.token_type, stored=True)
            left = stored.expires_at - self.offset.server_time(self.clock.wall())
            lifetime = stored.expires_at - stored.issued_at
            due = max(MIN_REMAINING, refresh_margin(lifetime)) if lifetime > 0 else MIN_REMAINING
            if left <= due or (later_than is not None and stored.expires_at <= later_than):
                return None
            provisional = self.offset.estimate is None
            if provisional:
                left = min(left, due + PROVISIONAL)
            return IssuedToken(
                stored.access_token,
                expires_in=left,
                token_type=stored.token_type,
                provisional=provisional,
                stored=True,
            )
        except ValueError as exc:  # a value no header can carry: the entry is unusable, never a crash
            _log.warning("The token store's entry for this client is unusable (%s); a new token replaces it.", exc)
            return None

    def current_token(self) -> str | None:
        """The token this process holds, unless its lifetime was only a guess (then taking it again from
        the store, with the server's clock known by now, is how it gets its true lifetime)."""
        token = self.state.current
        if token is None or token.provisional:
            return None
        return token.access_token

    def current_expiry(self) -> float | None:
        """When the token this process holds expires, on the server's clock (None: unknown or none)."""
        token = self.state.current
        if token is None or token.expires_at is None:
            return None
        left = token.expires_at - self.clock.monotonic()
        return self.offset.server_time(self.clock.wall()) + left

    def stored(self, issued: IssuedToken, sent_wall: float) -> StoredToken:
        """The entry for a token just obtained; its lifetime counts from when the request was sent."""
        issued_at = self.offset.server_time(sent_wall)
        expires_at = None if issued.expires_in is None else issued_at + issued.expires_in
        return StoredToken(issued.access_token, issued.token_type, expires_at, issued_at, self.binding)
