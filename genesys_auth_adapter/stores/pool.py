"""The slots of a token pool (``token_pool=N``): each its own token state, its tokens shared under its own key.

Slot ``k`` (``k >= 1``) of a client's pool keeps its token under ``<client key>-pool<k>`` in the token store,
so a fleet sharing a store holds one token per slot, N in all: the process that opens a slot first makes
its token request (through :class:`~.shared.SharedFetch`: the store's fetch lock, the login service's
throttle handled by the same login client and retry policy as the main token); every other process takes
that token from the store. Without a store each process has its own N tokens.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Callable

from ..engine.aio import AsyncTokens
from ..engine.manager import TokenManager
from ..engine.pool import MAX_POOL, PoolSlot
from ..engine.state import TokenState
from ..engine.token import IssuedToken
from ..errors import ConfigurationError
from .base import AsyncTokenStore, TokenStore
from .shared import AsyncSharedFetch, SharedFetch

Fetch = Callable[[], IssuedToken]
AsyncFetch = Callable[[], Awaitable[IssuedToken]]


def pool_key(key: str, slot: int) -> str:
    """The store key of slot ``slot`` of the pool of the client whose key is ``key`` (slot 0: ``key`` itself)."""
    return key if slot == 0 else f"{key}-pool{slot}"


def pool_size(token_pool: object, *, paced: bool, source: object) -> int:
    """The checked ``token_pool`` option: how many tokens one client may hold (1 by default).

    Args:
        token_pool: The option as given.
        paced: Whether the auth paces (a pool opens tokens only when the paced ones cannot keep up).
        source: The auth's token source: a pool is for client credentials only.

    Raises:
        ConfigurationError: Not a whole number from 1 to 32, or a pool without pacing or for other credentials
            than client credentials.
    """
    if token_pool is None:
        return 1
    if isinstance(token_pool, bool) or not isinstance(token_pool, int) or not 1 <= token_pool <= MAX_POOL:
        raise ConfigurationError(
            f"token_pool is how many tokens one client may hold at once, a whole number from 1 (the default) "
            f"to {MAX_POOL}, such as 4; not {token_pool!r}"
        )
    if token_pool > 1 and not paced:
        raise ConfigurationError(
            "token_pool= needs pacing (a pool opens a token only when the paced ones cannot keep up): "
            "leave pacing= at its default (True)"
        )
    if token_pool > 1 and _grant(source) != "client_credentials":
        raise ConfigurationError(
            "token_pool= is for client credentials (ClientCredentials), whose tokens the library requests; a "
            "token you supply (AccessToken) or a user's token (one refresh token, rotated on each use) is one "
            "token"
        )
    return token_pool


def _grant(source: object) -> str | None:
    """The grant type of the token requests of ``source`` (None: it makes none)."""
    token_request = getattr(type(source), "token_request", None)
    request = token_request(source) if callable(token_request) else None
    return None if request is None else dict(request.form).get("grant_type")


def open_slot(
    slot: int,
    main: TokenState,
    fetch: Fetch,
    fetch_ahead: Fetch,
    *,
    store: TokenStore | None = None,
    shared: SharedFetch | None = None,
    async_store: AsyncTokenStore | None = None,
    afetch: AsyncFetch | None = None,
    afetch_ahead: AsyncFetch | None = None,
) -> PoolSlot:
    """The drivers of a new slot of a pool whose slot 0 is ``main`` (sharing its clock, offset and wait).

    Args:
        slot: The slot's number (1 or more).
        main: Slot 0's token state.
        fetch: Makes a token request (the front end's login client).
        fetch_ahead: Makes a quick one (ahead of expiry).
        store: The token store, when the main token is shared through it (``shared`` is its fetch).
        shared: The main token's shared fetch: the slot's is the same, under :func:`pool_key`.
        async_store: The store's asyncio form (with ``afetch`` and ``afetch_ahead``, for asyncio drivers).
        afetch: The asyncio token request; None for a front end without asyncio.
        afetch_ahead: Its quick form.
    """
    state = TokenState(clock=main.clock, offset=main.offset, wait_timeout=main.wait_timeout)
    tokens: AsyncTokens | None = None
    if store is None or shared is None:
        manager = TokenManager(fetch, fetch_ahead=fetch_ahead, state=state)
        if afetch is not None:
            tokens = AsyncTokens(state, afetch, afetch_ahead)
        return PoolSlot(manager, tokens)
    key = pool_key(shared.key, slot)
    own = SharedFetch(store, key, state, fetch, fetch_ahead, binding=shared.binding)
    manager = TokenManager(own.fetch, fetch_ahead=own.fetch_ahead, state=state, fetch_fresh=own.fetch_fresh)
    if afetch is not None:
        assert afetch_ahead is not None
        if async_store is None:
            tokens = AsyncTokens(state, afetch, afetch_ahead)
        else:
            ashared = AsyncSharedFetch(async_store, key, state, afetch, afetch_ahead, binding=shared.binding)
            tokens = AsyncTokens(state, ashared.fetch, ashared.fetch_ahead, ashared.fetch_fresh)
    return PoolSlot(manager, tokens)
