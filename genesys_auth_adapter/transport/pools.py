"""Fresh connection pools for a forked child: keep-alive sockets are never shared by two processes."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


def reset_pools(adapter: HTTPAdapter) -> None:
    """Give ``adapter`` new, empty connection pools (the inherited sockets are left to the parent).

    The old pools are dropped, not closed: their connections are the parent's, still in use there.
    """
    adapter.init_poolmanager(
        adapter._pool_connections,  # type: ignore[attr-defined]
        adapter._pool_maxsize,  # type: ignore[attr-defined]
        block=adapter._pool_block,  # type: ignore[attr-defined]
    )
    adapter.proxy_manager = {}


def reset_session_pools(session: requests.Session) -> None:
    """Reset the pools of every ``HTTPAdapter`` mounted on a session the library made."""
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            reset_pools(adapter)
