"""Token stores: one token per lifetime for a whole fleet (processes on a host, hosts of a service).

``store=`` (on :class:`~genesys_auth_adapter.GenesysAuth`, ``session()``, the httpx front end) or the
``GENESYS_TOKEN_STORE`` setting takes ``"none"`` (each process its own tokens, the default), ``"file"``
(this user's cache directory, shared by the processes of one host), ``"file:/some/dir"``, a Redis URL
(``redis://host:6379/0``, ``rediss://...``: shared by hosts), or a store object.
"""

from __future__ import annotations

import pickle
from typing import Union

from ..errors import ConfigurationError
from .base import AsyncTokenStore, StoredToken, StoreError, TokenStore, store_key
from .memory import MemoryTokenStore
from .threaded import ThreadedAsyncStore

StoreSpec = Union[str, TokenStore, None]

__all__ = [
    "AsyncTokenStore",
    "MemoryTokenStore",
    "StoreError",
    "StoreSpec",
    "StoredToken",
    "TokenStore",
    "portable",
    "resolve_async_store",
    "resolve_store",
    "store_key",
]


def portable(options: dict[str, object]) -> dict[str, object]:
    """An auth's settings for a pickle: a store object that cannot be pickled is refused, saying what to pass.

    A store named by a string (``"file"``, a Redis URL) is built anew in the other process; a file store
    object pickles as its directory; a Redis store object holds a connection and does not pickle.

    Raises:
        TypeError: ``options["store"]`` is an object that cannot be pickled.
    """
    store = options.get("store")
    if store is not None and not isinstance(store, str):
        try:
            pickle.dumps(store)
        except Exception as exc:
            raise TypeError(
                f"This auth's token store ({type(store).__name__}) cannot be pickled ({type(exc).__name__}): "
                "give store= as a string ('file', 'file:/dir' or the Redis URL) so each process builds its own."
            ) from None
    return options


def resolve_store(spec: StoreSpec) -> TokenStore | None:
    """The store a ``store=`` value or ``GENESYS_TOKEN_STORE`` setting names (None: no shared store).

    Raises:
        ConfigurationError: An unknown name, or a store whose optional dependency is not installed.
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        return spec
    text = spec.strip()
    lowered = text.lower()
    if lowered in ("", "none", "memory", "off"):
        return None
    if lowered == "file" or lowered.startswith("file:"):
        from .file import FileTokenStore

        path = text[5:] or None
        return FileTokenStore(path=path)
    if lowered.startswith(("redis://", "rediss://", "unix://")):
        try:
            from .redis import RedisTokenStore
        except ImportError as exc:
            raise ConfigurationError(f"A Redis token store needs redis-py: {exc}") from None
        return RedisTokenStore(text)
    raise ConfigurationError(
        "Unknown token store: give 'none', 'file', 'file:/a/directory' or a Redis URL such as "
        "'redis://localhost:6379/0' (GENESYS_TOKEN_STORE or store=)."
    )


def resolve_async_store(spec: StoreSpec, sync_store: TokenStore | None) -> AsyncTokenStore | None:
    """The asyncio form of the same store: the native one for 'file' and Redis, else a threaded wrapper."""
    if sync_store is None:
        return None
    if isinstance(spec, str):
        lowered = spec.strip().lower()
        if lowered == "file" or lowered.startswith("file:"):
            from .file import AsyncFileTokenStore

            return AsyncFileTokenStore(path=spec.strip()[5:] or None)
        if lowered.startswith(("redis://", "rediss://", "unix://")):
            from .redis import AsyncRedisTokenStore

            return AsyncRedisTokenStore(spec.strip())
    return ThreadedAsyncStore(sync_store)
