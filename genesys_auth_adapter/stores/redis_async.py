"""``AsyncRedisTokenStore``: the asyncio form of :class:`~.redis.RedisTokenStore` (``redis.asyncio``).

Written by hand, not generated: it opens a connection for each call (so one store serves any number of
event loops) and awaits every command behind a shield, so a cancelled task loses neither its cancellation
nor a lock. The key layout, Lua scripts and safe messages are :mod:`.redis_layout`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar, cast

import redis.asyncio
import redis.asyncio.retry
from redis.backoff import NoBackoff

from ..errors import ConfigurationError
from .base import StoredToken, StoreError
from .redis_layout import (
    DEFAULT_PREFIX,
    DELETE_IF,
    FAILURES,
    RELEASE,
    RENEW,
    checked_by_redis,
    client_options,
    describe_client,
    describe_url,
    make_layout,
    translated,
)

_T = TypeVar("_T")


async def _kept_cancellable(command: Awaitable[_T]) -> _T:
    """Await one redis-py call so that a cancellation of the calling task is never lost.

    redis-py 5+ writes each command under ``asyncio.wait_for``, which before Python 3.12 returns the result and
    drops the cancellation when it arrives just as the write completes (CPython gh-86296): the task would carry
    on as if never cancelled, an ``acquire`` waiting out its whole ``wait`` (redis-py 4.5 shielded whole
    commands itself). Behind a shield the cancellation lands here instead; the call is then cancelled too and
    awaited, so its connection is idle when closed.
    """
    call = asyncio.ensure_future(command)
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        call.cancel()
        await asyncio.wait([call])  # short: the call ends at its next await, or failed with its connection
        raise


class _AsyncRedisLease:
    """The fetch lock held by a task until :meth:`release` or the lease runs out."""

    def __init__(self, store: AsyncRedisTokenStore, lock_key: str, value: str) -> None:
        self._store = store
        self._lock_key = lock_key
        self._value: str | None = value
        self.renew_every: float | None = store._layout.lease_ms / 3000

    async def renew(self) -> None:
        value = self._value
        if value is not None:
            async with self._store._connection("renew the fetch lock", value) as client:
                renew = client.register_script(RENEW)
                await _kept_cancellable(renew(keys=[self._lock_key], args=[value, self._store._layout.lease_ms]))

    async def release(self) -> None:
        value, self._value = self._value, None
        if value is not None:
            async with self._store._connection("release the fetch lock", value) as client:
                await _kept_cancellable(client.register_script(RELEASE)(keys=[self._lock_key], args=[value]))

    def __repr__(self) -> str:
        return f"<Redis lease {self._lock_key!r} {'held' if self._value else 'released'}>"


class AsyncRedisTokenStore:
    """The asyncio form of ``RedisTokenStore`` (``redis.asyncio``); same arguments and layout.

    A store built from a URL opens a connection for each call (an ``acquire`` keeps its one for its whole
    wait) and closes it before returning, so one store serves any number of event loops and a cancelled
    task leaves no connection or lock behind. The store is only called when the in-memory token is
    missing, stale or rejected, so the connection cost is paid about once per token lifetime. A given
    ``client`` belongs to its own event loop; it is used as it is and never closed here.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.asyncio.Redis | None = None,
        prefix: str = DEFAULT_PREFIX,
        lease: float = 30.0,
        connect_timeout: float = 0.5,
        read_timeout: float = 1.0,
        default_ttl: float = 24 * 3600.0,
        ttl_margin: float = 60.0,
        max_ttl: float = 7 * 24 * 3600.0,
    ) -> None:
        if (url is None) == (client is None):
            raise ConfigurationError(
                "AsyncRedisTokenStore: pass either a Redis URL or client=, not both and not neither"
            )
        hidden: tuple[str, ...] = ()
        if client is not None:
            where = describe_client(client)
        else:
            where, hidden = describe_url(url)
        self._url = url
        self._given = client
        self._options = client_options(connect_timeout, read_timeout, None)
        self._layout = make_layout(where, prefix, lease, default_ttl, ttl_margin, max_ttl, hidden)
        if client is None:
            checked_by_redis(cast(str, url), where, self._options)

    def _open(self) -> redis.asyncio.Redis:
        options = dict(self._options, retry=redis.asyncio.retry.Retry(NoBackoff(), 0))
        return redis.asyncio.Redis.from_url(cast(str, self._url), **options)

    @contextlib.asynccontextmanager
    async def _connection(self, action: str, *extra_secrets: str) -> AsyncIterator[redis.asyncio.Redis]:
        """A client for one call, with Redis failures turned into StoreError; closed afterwards if ours."""
        try:
            client = self._open() if self._given is None else self._given
        except ValueError:  # checked in __init__: only an option redis-py reads later could get here
            raise StoreError(f"Redis token store at {self._layout.where} could not {action} (unusable URL)") from None
        try:
            with translated(self._layout, action, *extra_secrets):
                yield client
        finally:
            if client is not self._given:
                with contextlib.suppress(*FAILURES):
                    await _kept_cancellable(client.connection_pool.disconnect())

    async def load(self, key: str) -> StoredToken | None:
        async with self._connection("read a token") as client:
            data = await _kept_cancellable(client.get(self._layout.token_key(key)))
        return self._layout.parse(data)

    async def save(self, key: str, token: StoredToken) -> None:
        async with self._connection("store a token", token.access_token) as client:
            await _kept_cancellable(
                client.set(self._layout.token_key(key), token.to_json(), px=self._layout.ttl_ms(token))
            )

    async def delete_if(self, key: str, access_token: str) -> bool:
        async with self._connection("delete a token", access_token) as client:
            script = client.register_script(DELETE_IF)
            deleted = await _kept_cancellable(script(keys=[self._layout.token_key(key)], args=[access_token]))
        return bool(deleted)

    async def acquire(self, key: str, *, wait: float) -> _AsyncRedisLease | None:
        lock_key, value = self._layout.lock_key(key), secrets.token_hex(16)
        pauses = self._layout.pauses(wait)
        async with self._connection("take the fetch lock", value) as client:
            while True:
                try:
                    taken = await _kept_cancellable(client.set(lock_key, value, nx=True, px=self._layout.lease_ms))
                except asyncio.CancelledError:
                    # The SET may have landed before the cancellation: give the lease back now, so a
                    # cancelled task leaves nothing held (at worst the lease runs out on its own).
                    with contextlib.suppress(*FAILURES):
                        await client.register_script(RELEASE)(keys=[lock_key], args=[value])
                    raise
                if taken:
                    return _AsyncRedisLease(self, lock_key, value)
                pause = next(pauses, None)
                if pause is None:
                    return None
                await asyncio.sleep(pause)

    async def aclose(self) -> None:
        """Nothing to release: a store built from a URL holds no connection between calls, and a given
        client is never closed here."""

    def __repr__(self) -> str:
        return f"AsyncRedisTokenStore({self._layout.where}, prefix={self._layout.prefix!r})"


__all__ = ["AsyncRedisTokenStore"]
