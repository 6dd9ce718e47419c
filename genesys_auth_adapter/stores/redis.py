"""``RedisTokenStore``: one token shared by every process on every host (redis-py, synchronous).

The key layout, Lua scripts and safe messages are :mod:`.redis_layout`'s; the asyncio form,
``AsyncRedisTokenStore``, is in :mod:`.redis_async` and exported here too.

Needs the optional ``redis`` package: ``pip install '.[redis]'`` in a clone of this library, or
``pip install 'redis>=4.5.4'``.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import TYPE_CHECKING, Any, cast

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without redis
    raise ImportError(
        "the Redis token store needs the redis package (4.5.4 or later): pip install 'redis>=4.5.4', or "
        "pip install '.[redis]' in your clone of genesys-auth-adapter"
    ) from exc

from ..errors import ConfigurationError
from .base import StoredToken
from .redis_async import AsyncRedisTokenStore
from .redis_layout import (
    DEFAULT_PREFIX,
    DELETE_IF,
    RELEASE,
    RENEW,
    checked_by_redis,
    client_options,
    describe_client,
    describe_url,
    make_layout,
    translated,
)

if TYPE_CHECKING:
    from .redis_budget import RedisBudgetStore


class _RedisLease:
    """The fetch lock held by this process until :meth:`release` or the lease runs out."""

    def __init__(self, store: RedisTokenStore, lock_key: str, value: str) -> None:
        self._store = store
        self._lock_key = lock_key
        self._value: str | None = value
        self.renew_every: float | None = store._layout.lease_ms / 3000

    def renew(self) -> None:
        value = self._value
        if value is not None:
            self._store._renew(self._lock_key, value)

    def release(self) -> None:
        value, self._value = self._value, None
        if value is not None:
            self._store._release(self._lock_key, value)

    def __repr__(self) -> str:
        return f"<Redis lease {self._lock_key!r} {'held' if self._value else 'released'}>"


class RedisTokenStore:
    """Tokens shared by every process and host that reaches one Redis server (redis-py, synchronous).

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS, or
            ``unix:///path/redis.sock?db=0``. Percent-encode special characters in the password.
        client: A ``redis.Redis`` to use instead of a URL; its own timeouts apply and it is never closed here.
        prefix: The first part of every key, so several applications can share one database.
        lease: How long the fetch lock is held at most when its holder never gives it back (seconds).
        connect_timeout: Seconds to wait for a connection (URL only).
        read_timeout: Seconds to wait for an answer (URL only).
        default_ttl: How long an entry without an expiry is kept (seconds).
        ttl_margin: How long an entry is kept past its token's expiry (seconds).
        max_ttl: The longest any entry is kept (seconds).

    Raises:
        ConfigurationError: Neither or both of ``url`` and ``client``, a URL that is not a Redis URL,
            or a setting out of range (the message never quotes the URL).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.Redis | None = None,
        prefix: str = DEFAULT_PREFIX,
        lease: float = 30.0,
        connect_timeout: float = 0.5,
        read_timeout: float = 1.0,
        default_ttl: float = 24 * 3600.0,
        ttl_margin: float = 60.0,
        max_ttl: float = 7 * 24 * 3600.0,
    ) -> None:
        if (url is None) == (client is None):
            raise ConfigurationError("RedisTokenStore: pass either a Redis URL or client=, not both and not neither")
        hidden: tuple[str, ...] = ()
        if client is not None:
            where = describe_client(client)
            self._client, self._owned = client, False
        else:
            where, hidden = describe_url(url)
            options = client_options(connect_timeout, read_timeout, Retry(NoBackoff(), 0))
            checked_by_redis(cast(str, url), where, options)
            self._client = redis.Redis.from_url(cast(str, url), **options)
            self._owned = True
        self._layout = make_layout(where, prefix, lease, default_ttl, ttl_margin, max_ttl, hidden)
        self._release_script = self._client.register_script(RELEASE)
        self._renew_script = self._client.register_script(RENEW)
        self._delete_script = self._client.register_script(DELETE_IF)

    def load(self, key: str) -> StoredToken | None:
        with self._translated("read a token"):
            data = self._client.get(self._layout.token_key(key))
        return self._layout.parse(data)

    def save(self, key: str, token: StoredToken) -> None:
        with self._translated("store a token", token.access_token):
            self._client.set(self._layout.token_key(key), token.to_json(), px=self._layout.ttl_ms(token))

    def delete_if(self, key: str, access_token: str) -> bool:
        with self._translated("delete a token", access_token):
            deleted = self._delete_script(keys=[self._layout.token_key(key)], args=[access_token])
        return bool(deleted)

    def acquire(self, key: str, *, wait: float) -> _RedisLease | None:
        lock_key, value = self._layout.lock_key(key), secrets.token_hex(16)
        pauses = self._layout.pauses(wait)
        while True:
            with self._translated("take the fetch lock", value):
                taken = self._client.set(lock_key, value, nx=True, px=self._layout.lease_ms)
            if taken:
                return _RedisLease(self, lock_key, value)
            pause = next(pauses, None)
            if pause is None:
                return None
            time.sleep(pause)

    def _release(self, lock_key: str, value: str) -> None:
        with self._translated("release the fetch lock", value):
            self._release_script(keys=[lock_key], args=[value])

    def _renew(self, lock_key: str, value: str) -> None:
        with self._translated("renew the fetch lock", value):
            self._renew_script(keys=[lock_key], args=[value, self._layout.lease_ms])

    def close(self) -> None:
        """Close the connections this store opened (a given client is left alone)."""
        if self._owned:
            self._client.connection_pool.disconnect()

    def _translated(self, action: str, *extra_secrets: str) -> contextlib.AbstractContextManager[None]:
        return translated(self._layout, action, *extra_secrets)

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._layout.where}, prefix={self._layout.prefix!r})"

    def budgets(self, **options: Any) -> RedisBudgetStore:
        """The pacing shared through this Redis (same client, prefix and safe messages); ``options`` go to it."""
        from .redis_budget import RedisBudgetStore

        lay = self._layout
        return RedisBudgetStore(self._client, prefix=lay.prefix, where=lay.where, failure=lay.failure, **options)


__all__ = ["DEFAULT_PREFIX", "AsyncRedisTokenStore", "RedisTokenStore"]
