"""Which refresh token to present: the store's, or the one a login object carries (no I/O here).

A user login is a *lineage*: the refresh token its login got, then each one that replaced it. The store
keeps one entry per client (:attr:`~.base.StoreIdentity.refresh_key`), apart from the access token's so that
forgetting a rejected access token never forgets the login. The entry is a :class:`~.base.StoredToken` whose
``access_token`` field holds the refresh token, ``token_type`` says what it is, and ``issued_at`` is when its
lineage's login happened. Rules, applied under the fetch lock:

- a login object's own refresh token is presented only when the store holds nothing of its lineage or a
  later one (else that token may already have been rotated by another process): the store's entry of the
  same or a later login wins;
- a refused refresh token (``invalid_grant``) and a logout leave a *tombstone* in the entry: logins made
  before it are not tried again (no process loops on a dead refresh token), a later login replaces it.

:class:`~._async.rotation.AsyncRotation` (and the ``Rotation`` generated from it) does the I/O.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Callable, Union

from ..engine.token import IssuedToken
from ..oauth import TokenRequest
from ..tokeninfo import TokenInfo
from .base import StoredToken

#: ``token_type`` of an entry that holds a refresh token.
REFRESH = "refresh_token"
#: ``token_type`` of a tombstone: the user logged out.
LOGGED_OUT = "logged_out"
#: ``token_type`` of a tombstone: the login service refused the lineage's refresh token.
REFUSED = "refused"
#: ``token_type`` of a tombstone: a later login got no refresh token (its access token is the whole login).
NO_REFRESH = "no_refresh_token"
#: How long a store that expires entries keeps a login nobody refreshes (Redis caps it at its ``max_ttl``).
KEEP_LOGIN = 30 * 24 * 3600.0

#: Sends a token request and parses the answer (threads), or the same awaited (asyncio).
Post = Callable[[TokenRequest], IssuedToken]
AsyncPost = Callable[[TokenRequest], Awaitable[IssuedToken]]
#: Reads what the API says of an access token (``GET /api/v2/tokens/me?preserveIdleTTL=true``).
Info = Callable[[str], TokenInfo]
AsyncInfo = Callable[[str], Awaitable[TokenInfo]]


@dataclass(frozen=True)
class Presented:
    """The refresh token to present, and the lineage it belongs to.

    Attributes:
        refresh_token: The token (never shown in ``repr``).
        login_at: When its lineage's login happened (Unix seconds).
        stored: True when it came from the store, False when it is the login object's own (a seed).
    """

    refresh_token: str = field(repr=False)
    login_at: float
    stored: bool


@dataclass(frozen=True)
class Ended:
    """The lineage was ended by a tombstone (a logout, or a refused refresh token) at or after its login."""

    kind: str
    at: float


def choose(stored: StoredToken | None, binding: str, own: str | None, own_login_at: float) -> Presented | Ended | None:
    """The refresh token to present under the fetch lock, a tombstone that ends the lineage, or None.

    Args:
        stored: The store's refresh entry, or None.
        binding: This process's binding; an entry with another is someone else's and is not used.
        own: The login object's own refresh token, or None.
        own_login_at: When the login object's login happened (0 for a source without one).
    """
    ours = stored is not None and hmac.compare_digest(stored.binding.encode(), binding.encode())
    if stored is not None and ours and stored.issued_at >= own_login_at:
        if stored.token_type == REFRESH:
            return Presented(stored.access_token, stored.issued_at, stored=True)
        if stored.token_type in (LOGGED_OUT, REFUSED, NO_REFRESH):
            return Ended(stored.token_type, stored.issued_at)
    if own:
        return Presented(own, own_login_at, stored=False)
    return None


def refresh_entry(refresh_token: str, login_at: float, binding: str) -> StoredToken:
    """The store entry of a lineage's current refresh token."""
    return StoredToken(refresh_token, REFRESH, login_at + KEEP_LOGIN, login_at, binding)


def tombstone(kind: str, at: float, binding: str) -> StoredToken:
    """The store entry that ends every lineage whose login happened at or before ``at``."""
    return StoredToken("-", kind, at + KEEP_LOGIN, at, binding)


#: What :func:`choose` returns.
Choice = Union[Presented, Ended, None]
