"""A user's login in a token store: whether there is one, putting one there, ending one.

What the command line's ``login``, ``logout`` and ``api`` do with a store, and what an auth made from a
fresh login does first. The refresh token's own lifecycle (read, used, replaced) is
:class:`~._sync.rotation.Rotation`'s, under the refresh entry's fetch lock, which these helpers take too.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..engine.clock import SYSTEM_CLOCK
from ..engine.state import TokenState, WaitTimeout
from ..engine.token import IssuedToken
from ..errors import TokenRequestError
from ..oauth import TokenRequest
from ..tokeninfo import TokenInfo
from ._sync.rotation import Rotation
from .base import StoreError, StoreIdentity, TokenStore
from .lineage import LOGGED_OUT, REFRESH, REFUSED
from .memory import MemoryTokenStore

_log = logging.getLogger("genesys_auth_adapter.store")

#: How long these helpers wait for another process's refresh to finish (it holds the fetch lock).
LOCK_WAIT = 30.0

_default: MemoryTokenStore | None = None
_default_guard = threading.Lock()


def is_user_grant(source: object) -> bool:
    """Whether ``source`` is a grant whose refresh tokens the store keeps and rotates (a login, a code or
    PKCE client, SAML2 bearer)."""
    return callable(getattr(source, "refresh_request", None)) and callable(getattr(source, "store_identity", None))


def default_login_store() -> MemoryTokenStore:
    """The store of a user grant given no ``store=``: one per process, so every auth of the process made from
    one login shares (and rotates) its refresh token."""
    global _default
    with _default_guard:
        if _default is None:
            _default = MemoryTokenStore()
        return _default


def has_login(store: TokenStore, source: Any) -> bool:
    """Whether ``store`` holds a login for ``source``'s client: a refresh token, or an access token not yet
    expired (a PKCE login without refresh tokens), bound to this client.

    Raises:
        StoreError: The store cannot be read.
    """
    identity: StoreIdentity = source.store_identity()
    binding = identity.binding()
    kept = store.load(identity.refresh_key)
    if kept is not None and kept.binding == binding:
        if kept.token_type == REFRESH:
            return True
        if kept.token_type in (LOGGED_OUT, REFUSED):
            return False  # the login ended; a login without a refresh token is its access token alone
    access = store.load(identity.key)
    alive = access is not None and (access.expires_at is None or access.expires_at > time.time() + 1.0)
    return access is not None and alive and access.binding == binding


def save_login(store: TokenStore, login: Any) -> bool:
    """Put a fresh login (a :class:`~..grants.RefreshToken`) into ``store``, unless the store holds a later one.

    Returns:
        True when stored.

    Raises:
        StoreError: The store failed.
        TokenRequestError: The store's lock cannot be taken.
        WaitTimeout: Another process's refresh held the lock for :data:`LOCK_WAIT` seconds.
    """
    seeded: bool = _rotation(store, login).seed(login.initial_token(), time.time())
    return seeded


def seed_login(store: TokenStore | None, source: Any) -> None:
    """Put a login object's tokens into ``store`` when they are newer than the store's (a fresh
    :func:`~..grants.login_with_browser`), so that other processes sharing the store use them at once.

    Any failure is only logged: the first refresh puts them there anyway (under the lock).
    """
    if store is None or not hasattr(source, "login_at") or not is_user_grant(source):
        return
    if source.initial_refresh_token() is None and source.initial_token() is None:
        return
    try:
        save_login(store, source)
    except (StoreError, TokenRequestError, WaitTimeout) as error:
        _log.warning("The login could not be put into the token store yet (%s); its first refresh will.", error)


def forget_login(store: TokenStore, source: Any, access_token: str | None) -> None:
    """End ``source``'s login in ``store`` (after ``DELETE /api/v2/tokens/me``): no process uses it again.

    Raises:
        StoreError: The store failed.
        TokenRequestError: The store's lock cannot be taken.
        WaitTimeout: Another process's refresh held the lock for :data:`LOCK_WAIT` seconds.
    """
    _rotation(store, source).forget(access_token)


def _rotation(store: TokenStore, source: Any) -> Rotation:
    def unused(request: TokenRequest) -> IssuedToken:
        raise AssertionError("no token request is made here")

    def no_info(token: str) -> TokenInfo:
        return TokenInfo(alive=None)

    state = TokenState(clock=SYSTEM_CLOCK, wait_timeout=2 * LOCK_WAIT)  # the rotation waits half of it
    return Rotation(store, source, source.store_identity(), state, unused, unused, no_info)
