"""The cross-process fetch of a user grant: :class:`SharedFetch` whose token request is a refresh-token rotation.

The shared fetch is the same as a client's (the access token shared through the store, one process making
the request while the others wait for the lock and take what it stored); what it calls to get a token is
:meth:`~._sync.rotation.Rotation.grant` (and ``grant_ahead`` ahead of expiry), which reads, uses and replaces
the refresh token under the refresh entry's own lock. Entries are keyed and bound by the source's
:meth:`store_identity` (the client, its secret or the public client's binding).
"""

from __future__ import annotations

from typing import Any, Callable

from ..engine.state import TokenState
from ..engine.token import IssuedToken
from ._async.rotation import AsyncRotation
from ._sync.rotation import Rotation
from .base import AsyncTokenStore, TokenStore
from .lineage import AsyncInfo, AsyncPost, Info, Post
from .logins import default_login_store, is_user_grant, seed_login
from .shared import AsyncSharedFetch, SharedFetch, shared_fetch


def user_shared_fetch(
    store: TokenStore, source: Any, state: TokenState, *, post: Post, post_ahead: Post, info: Info | None
) -> SharedFetch:
    """The thread form: ``post`` sends a token request (``post_ahead`` the quick one), ``info`` reads
    ``GET /api/v2/tokens/me?preserveIdleTTL=true`` for an access token."""
    identity = source.store_identity()
    rotation = Rotation(store, source, identity, state, post, post_ahead, info)
    return SharedFetch(store, identity.key, state, rotation.grant, rotation.grant_ahead, binding=identity.binding())


def async_user_shared_fetch(
    store: AsyncTokenStore,
    source: Any,
    state: TokenState,
    *,
    post: AsyncPost,
    post_ahead: AsyncPost,
    info: AsyncInfo | None,
) -> AsyncSharedFetch:
    """The asyncio form of :func:`user_shared_fetch` (on the store's asyncio form)."""
    identity = source.store_identity()
    rotation = AsyncRotation(store, source, identity, state, post, post_ahead, info)
    return AsyncSharedFetch(
        store, identity.key, state, rotation.grant, rotation.grant_ahead, binding=identity.binding()
    )


def login_store(store: TokenStore | None, source: Any) -> TokenStore | None:
    """``store``, or for a user grant given none the process's own store (rotation happens in a store)."""
    return default_login_store() if store is None and is_user_grant(source) else store


def any_shared_fetch(
    store: TokenStore | None,
    source: Any,
    state: TokenState,
    fetch: Callable[[], IssuedToken],
    fetch_ahead: Callable[[], IssuedToken],
    *,
    post: Post,
    post_ahead: Post,
    info: Info | None,
) -> SharedFetch | None:
    """A front end's cross-process fetch: a user grant's (its login put into the store first, when it is
    newer than the store's), or a client's (:func:`~.shared.shared_fetch`), or None without a store."""
    if store is not None and is_user_grant(source):
        shared = user_shared_fetch(store, source, state, post=post, post_ahead=post_ahead, info=info)
        seed_login(store, source)
        return shared
    return shared_fetch(store, source, state, fetch, fetch_ahead)
