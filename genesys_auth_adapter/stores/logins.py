"""A user's login in a token store: whether there is one, putting one there, ending one.

What the command line's ``login``, ``logout`` and ``api`` do with a store, and what an auth made from a
fresh login does first. The refresh token's own lifecycle (read, used, replaced) is
:class:`~._sync.rotation.Rotation`'s, under the fetch lock; these helpers take the same lock.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..engine.clock import SYSTEM_CLOCK
from ..engine.state import TokenState
from ..engine.token import IssuedToken
from ..errors import TokenRequestError
from ..oauth import TokenInfo, TokenRequest
from ._sync.rotation import Rotation
from .base import StoreError, StoreIdentity, TokenStore
from .lineage import REFRESH
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
        return kept.token_type == REFRESH  # else a tombstone: logged out, or refused
    access = store.load(identity.key)
    alive = access is not None and (access.expires_at is None or access.expires_at > time.time() + 1.0)
    return access is not None and alive and access.binding == binding


def save_login(store: TokenStore, login: Any) -> bool:
    """Put a fresh login (a :class:`~..grants.RefreshToken`) into ``store``, unless the store holds a later one.

    Returns:
        True when stored.

    Raises:
        StoreError: The store failed.
        TokenRequestError: The fetch lock stayed taken for :data:`LOCK_WAIT` seconds.
    """
    rotation = _rotation(store, login)
    lease = _lock(store, rotation.identity)
    try:
        seeded: bool = rotation.seed(login.initial_token(), time.time())
        return seeded
    finally:
        lease.release()


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
    except (StoreError, TokenRequestError) as error:
        _log.warning("The login could not be put into the token store yet (%s); its first refresh will.", error)


def forget_login(store: TokenStore, source: Any, access_token: str | None) -> None:
    """End ``source``'s login in ``store`` (after ``DELETE /api/v2/tokens/me``): no process uses it again.

    Raises:
        StoreError: The store failed.
        TokenRequestError: The fetch lock stayed taken for :data:`LOCK_WAIT` seconds.
    """
    rotation = _rotation(store, source)
    lease = _lock(store, rotation.identity)
    try:
        rotation.forget(access_token)
    finally:
        lease.release()


def _rotation(store: TokenStore, source: Any) -> Rotation:
    def unused(request: TokenRequest) -> IssuedToken:
        raise AssertionError("no token request is made here")

    def no_info(token: str) -> TokenInfo:
        return TokenInfo(alive=None)

    state = TokenState(clock=SYSTEM_CLOCK)
    return Rotation(store, source, source.store_identity(), state, unused, unused, no_info)


def _lock(store: TokenStore, identity: StoreIdentity) -> Any:
    lease = store.acquire(identity.key, wait=LOCK_WAIT)
    if lease is None:
        raise TokenRequestError(
            f"Waited {LOCK_WAIT:.0f} s for the token store's lock, held by another process refreshing this "
            "login; try again, or look for a stuck process."
        )
    return lease
