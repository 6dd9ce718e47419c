"""Cross-process single flight: a token request made through a store, so a fleet shares one token.

The in-process flight (:mod:`..engine.state`) already makes every thread and task of one process wait
for one leader. Its leader's fetch goes through :class:`SharedFetch` (threads) or
:class:`AsyncSharedFetch` (asyncio), which does the same across processes and hosts:

1. tell the store to forget any token this process saw rejected (compare-and-delete: only if the store
   still holds that very token);
2. use the stored token if it is usable and not one that was rejected;
3. otherwise take the store's fetch lock (waiting at most ``wait_timeout``), look again (another
   process may have stored a token meanwhile), and only then make the token request and store its
   answer.

Ahead of expiry, only one process refreshes: the others find the lock taken and keep their valid
token (:class:`~..engine.state.RefreshDeferred`), then pick up the new one from the store.

Every store failure (unreachable, slow, corrupt, unsafe) is a miss: the process makes its own token
request, warns once per outage, and returns to the store when it answers again. A request never fails
because of the cache. No store I/O happens while the in-memory token is fresh.

The fetch is written once, in its asyncio form (``_async/fetch.py``); the thread form (``_sync/fetch.py``) is
generated from it by ``python scripts/make_sync.py`` (see the development guide). This module is where both
are imported from, with what builds them.
"""

from __future__ import annotations

from typing import Callable

from ..engine.state import TokenState
from ..engine.token import IssuedToken
from ..errors import ConfigurationError
from ..oauth import TokenRequest
from ._async.fetch import AsyncSharedFetch
from ._sync.fetch import SharedFetch
from .base import TokenStore, secret_binding, store_key
from .sharing import MIN_REMAINING, PROVISIONAL
from .threaded import ThreadedAsyncStore

__all__ = [
    "AsyncSharedFetch",
    "MIN_REMAINING",
    "PROVISIONAL",
    "SharedFetch",
    "ThreadedAsyncStore",
    "shared_fetch",
    "source_binding",
    "source_key",
]


def _request_of(source: object) -> TokenRequest | None:
    request_of = getattr(type(source), "token_request", None)
    request: TokenRequest | None = request_of(source) if callable(request_of) else None
    return request


def _identity(request: TokenRequest) -> tuple[str, str, str, str]:
    """(login URL, client id, grant, secret) of a token request."""
    form = dict(request.form)
    client_id, secret = request.basic if request.basic else (form.get("client_id", ""), request.secret)
    return request.url, client_id, form.get("grant_type", ""), secret


def source_key(source: object) -> str | None:
    """The store key of a token source, or None for one that makes no token request (an AccessToken)."""
    request = _request_of(source)
    if request is None:
        return None
    url, client_id, grant, _ = _identity(request)
    return store_key(url, client_id, grant)


def source_binding(source: object) -> str:
    """The :func:`~.base.secret_binding` of a token source's secret ("" for a source without one)."""
    request = _request_of(source)
    if request is None:
        return ""
    url, client_id, grant, secret = _identity(request)
    return secret_binding(url, client_id, grant, secret=secret)


def shared_fetch(
    store: TokenStore | None,
    source: object,
    state: TokenState,
    fetch: Callable[[], IssuedToken],
    fetch_ahead: Callable[[], IssuedToken],
) -> SharedFetch | None:
    """The cross-process fetch for ``source`` through ``store``, or None without a store.

    Raises:
        ConfigurationError: ``source`` makes no token request (an AccessToken): there is nothing to share.
    """
    if store is None:
        return None
    key = source_key(source)
    if key is None:
        raise ConfigurationError(
            "A token store shares tokens that the library requests (ClientCredentials); a token you supply "
            "yourself (AccessToken) is not stored. Drop store=, or use ClientCredentials."
        )
    return SharedFetch(store, key, state, fetch, fetch_ahead, binding=source_binding(source))
