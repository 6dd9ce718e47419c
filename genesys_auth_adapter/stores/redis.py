"""``RedisTokenStore`` and ``AsyncRedisTokenStore``: one token shared by every process on every host.

Layout under a prefix (default ``genesys-auth-adapter``): ``<prefix>:token:<key>`` holds a
:class:`~.base.StoredToken` as JSON with a TTL a little past its expiry; ``<prefix>:lock:<key>`` is the
fetch lock, a lease (``SET NX PX`` with a random value) so a crashed or killed holder blocks the others
for at most the lease. Releasing the lease and deleting a rejected token are compare-and-delete Lua
scripts: neither ever removes another holder's lease or a newer token. Waiters poll the lease every
5-50 ms (bounded in count and time) rather than subscribe: a lease that simply expires sends no message.

Short socket timeouts (0.5 s connect, 1 s read) and no client-side retries keep a slow or dead Redis
from stalling requests; every Redis failure is a :class:`~.base.StoreError`, whose message names the
server as ``host:port/db`` and never carries the URL's user or password, or a token.

Needs the optional ``redis`` package: ``pip install '.[redis]'`` in a clone of this library, or
``pip install 'redis>=4.5.4'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qs, unquote, urlsplit

try:
    import redis
    import redis.asyncio
    import redis.asyncio.retry
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without redis
    raise ImportError(
        "the Redis token store needs the redis package (4.5.4 or later): pip install 'redis>=4.5.4', or "
        "pip install '.[redis]' in your clone of genesys-auth-adapter"
    ) from exc

from ..errors import ConfigurationError
from .base import StoredToken, StoreError

if TYPE_CHECKING:
    from .redis_budget import RedisBudgetStore

DEFAULT_PREFIX = "genesys-auth-adapter"

_SCHEMES = ("redis", "rediss", "unix")
#: host[:port][/db] without a scheme: what people write for a Redis server, and nothing secret.
_PLAIN_ADDRESS = re.compile(r"([A-Za-z0-9.-]+)(:[0-9]{1,5})?(?:/([0-9]{1,5}))?/?")
# Between two tries of a taken lock: doubling from the first pause up to the last.
_FIRST_PAUSE = 0.005
_LAST_PAUSE = 0.05

# KEYS[1]: the lock; ARGV[1]: this holder's lease value.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1]: the lock; ARGV[1]: this holder's lease value; ARGV[2]: the lease in milliseconds.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1]: the token entry; ARGV[1]: the access token that was rejected. Anything else stays,
# including an entry that is not our JSON (a later save replaces it).
_DELETE_IF = """
local stored = redis.call('GET', KEYS[1])
if not stored then
    return 0
end
local ok, entry = pcall(cjson.decode, stored)
if not ok or type(entry) ~= 'table' or entry['access_token'] ~= ARGV[1] then
    return 0
end
return redis.call('DEL', KEYS[1])
"""

_Failure = (redis.RedisError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class _Layout:
    """What the sync and async stores share: key names, TTLs, leases and safe error messages."""

    where: str
    prefix: str
    lease: float
    default_ttl: float
    ttl_margin: float
    max_ttl: float
    hidden: tuple[str, ...] = field(default=(), repr=False)

    def token_key(self, key: str) -> str:
        return f"{self.prefix}:token:{_checked_key(key)}"

    def lock_key(self, key: str) -> str:
        return f"{self.prefix}:lock:{_checked_key(key)}"

    @property
    def lease_ms(self) -> int:
        return max(1, round(self.lease * 1000))

    def ttl_ms(self, token: StoredToken) -> int:
        """How long Redis keeps an entry: its lifetime (both ends on the server clock) plus a margin."""
        if token.expires_at is None:
            ttl = self.default_ttl
        else:
            ttl = max(0.0, token.expires_at - token.issued_at) + self.ttl_margin
        return max(1000, round(min(ttl, self.max_ttl) * 1000))

    def failure(self, action: str, exc: BaseException, *extra_secrets: str) -> StoreError:
        """A StoreError for ``exc`` naming the server, without the URL's credentials or any token."""
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        # Redis quotes the first 128 characters of a refused command's arguments (a token, perhaps cut
        # short, or a lease): never pass them on.
        detail = detail.split(" with args beginning with", 1)[0]
        for secret in (*self.hidden, *extra_secrets):
            if secret:
                detail = detail.replace(secret, "***").replace(json.dumps(secret)[1:-1], "***")
        text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return StoreError(f"Redis token store at {self.where} could not {action} ({text})")

    def parse(self, data: object) -> StoredToken | None:
        if data is None:
            return None
        if not isinstance(data, (bytes, str)):
            raise StoreError(f"Redis token store at {self.where} holds an entry that is not a token")
        return StoredToken.from_json(data)

    def pauses(self, wait: float) -> Iterator[float]:
        """The pauses between tries of a taken lock, ending when ``wait`` seconds have passed."""
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not (math.isfinite(wait) and wait >= 0):
            raise ValueError(f"wait must be a finite number of seconds >= 0, not {wait!r}")
        return _pauses(time.monotonic() + wait, wait)


def _pauses(deadline: float, wait: float) -> Iterator[float]:
    pause = _FIRST_PAUSE
    # Each pause but the last is at least _FIRST_PAUSE, so this count is never what ends the wait.
    for _ in range(int(wait / _FIRST_PAUSE) + 2):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        yield min(pause, remaining)
        pause = min(pause * 2, _LAST_PAUSE)


def _checked_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError("a store key must be a non-empty string (see store_key)")
    return key


def _seconds(name: str, value: float, *, zero: bool = False) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigurationError(f"RedisTokenStore: {name} must be a finite number of seconds {bound}, not {value!r}")
    return float(value)


def _layout(
    where: str,
    prefix: str,
    lease: float,
    default_ttl: float,
    ttl_margin: float,
    max_ttl: float,
    secret_parts: tuple[str, ...],
) -> _Layout:
    if not isinstance(prefix, str) or not prefix or any(ch.isspace() for ch in prefix):
        raise ConfigurationError("RedisTokenStore: prefix must be a non-empty string without spaces")
    return _Layout(
        where=where,
        prefix=prefix,
        lease=_seconds("lease", lease),
        default_ttl=_seconds("default_ttl", default_ttl),
        ttl_margin=_seconds("ttl_margin", ttl_margin, zero=True),
        max_ttl=_seconds("max_ttl", max_ttl),
        hidden=tuple(part for part in secret_parts if part),
    )


def _describe_url(url: object) -> tuple[str, tuple[str, ...]]:
    """``host:port/db`` (or the socket path) of a Redis URL, and its user and password to keep out of messages.

    Raises:
        ConfigurationError: The URL is not a Redis URL; the message never quotes it.
    """
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            "RedisTokenStore: pass a Redis URL such as 'redis://host:6379/0' or 'rediss://:password@host:6380/0',"
            " or client=redis.Redis(...)"
        )
    if "://" not in url:
        # 'localhost:6379' reads as a URL of scheme 'localhost'. Only a plain host:port/db is quoted back:
        # anything else may hold a password.
        plain = _PLAIN_ADDRESS.fullmatch(url.strip())
        example = f"redis://{plain.group(1)}{plain.group(2) or ':6379'}/{plain.group(3) or '0'}" if plain else ""
        raise ConfigurationError(
            "RedisTokenStore: give a Redis URL with its scheme, "
            + (f"such as {example!r}" if example else "such as 'redis://localhost:6379/0'")
            + " (redis:// + host:port + /database; rediss:// for TLS, unix:///path/to/socket for a socket)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise ConfigurationError(
            "RedisTokenStore: the Redis URL is malformed (check the host, the port and any '@' or '[' in the"
            " password: percent-encode them)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"RedisTokenStore: the Redis URL must start with redis://, rediss:// (TLS) or unix://, not {scheme!r}://"
        )
    query = parse_qs(parts.query)
    # redis-py also takes a user and a password from the query string.
    credentials = (parts.username, parts.password, *query.get("username", []), *query.get("password", []))
    hidden = tuple(unquote(part) for part in credentials if part)
    # As redis-py reads it: ?db= first, then the path; but a database that is not a number is refused
    # here rather than silently replaced by database 0.
    db = query.get("db", [""])[0] or ("" if scheme == "unix" else unquote(parts.path).strip("/"))
    if not (db or "0").isdigit():
        raise ConfigurationError("RedisTokenStore: the database in the Redis URL must be a number, as in /0")
    db = str(int(db or "0"))
    if scheme == "unix":
        return f"unix:{parts.path}?db={db}", hidden
    if not host:
        raise ConfigurationError("RedisTokenStore: the Redis URL has no host, as in 'redis://host:6379/0'")
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port or 6379}/{db}{' (TLS)' if scheme == 'rediss' else ''}", hidden


def _describe_client(client: object) -> str:
    """``host:port/db`` of a client someone else built, read from its pool's connection settings."""
    kwargs: Any = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return f"a given {type(client).__name__}"
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


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
            where = _describe_client(client)
            self._client, self._owned = client, False
        else:
            where, hidden = _describe_url(url)
            options = _client_options(connect_timeout, read_timeout, Retry(NoBackoff(), 0))
            _checked_by_redis(cast(str, url), where, options)
            self._client = redis.Redis.from_url(cast(str, url), **options)
            self._owned = True
        self._layout = _layout(where, prefix, lease, default_ttl, ttl_margin, max_ttl, hidden)
        self._release_script = self._client.register_script(_RELEASE)
        self._renew_script = self._client.register_script(_RENEW)
        self._delete_script = self._client.register_script(_DELETE_IF)

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
        return _translated(self._layout, action, *extra_secrets)

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._layout.where}, prefix={self._layout.prefix!r})"

    def budgets(self, **options: Any) -> RedisBudgetStore:
        """The pacing shared through this Redis (same client, prefix and safe messages); ``options`` go to it."""
        from .redis_budget import RedisBudgetStore

        lay = self._layout
        return RedisBudgetStore(self._client, prefix=lay.prefix, where=lay.where, failure=lay.failure, **options)


def _checked_by_redis(url: str, where: str, options: dict[str, Any]) -> None:
    """Refuse now what redis-py would refuse at the first call (builds a pool; connects to nothing)."""
    try:
        redis.ConnectionPool.from_url(url, **options)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"RedisTokenStore: redis-py refused the URL for {where} (check its port, database number and query options)"
        ) from None


@contextlib.contextmanager
def _translated(layout: _Layout, action: str, *extra_secrets: str) -> Iterator[None]:
    """Turn every Redis failure inside into a StoreError without credentials or tokens in it."""
    try:
        yield
    except _Failure as exc:
        raise layout.failure(action, exc, *extra_secrets) from None


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


def _client_options(connect_timeout: float, read_timeout: float, retry: object) -> dict[str, Any]:
    return {
        "socket_connect_timeout": _seconds("connect_timeout", connect_timeout),
        "socket_timeout": _seconds("read_timeout", read_timeout),
        # No client-side retries: one slow or refused try is already the most a request should wait.
        "retry": retry,
    }


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
                renew = client.register_script(_RENEW)
                await _kept_cancellable(renew(keys=[self._lock_key], args=[value, self._store._layout.lease_ms]))

    async def release(self) -> None:
        value, self._value = self._value, None
        if value is not None:
            async with self._store._connection("release the fetch lock", value) as client:
                await _kept_cancellable(client.register_script(_RELEASE)(keys=[self._lock_key], args=[value]))

    def __repr__(self) -> str:
        return f"<Redis lease {self._lock_key!r} {'held' if self._value else 'released'}>"


class AsyncRedisTokenStore:
    """The asyncio form of :class:`RedisTokenStore` (``redis.asyncio``); same arguments and layout.

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
            where = _describe_client(client)
        else:
            where, hidden = _describe_url(url)
        self._url = url
        self._given = client
        self._options = _client_options(connect_timeout, read_timeout, None)
        self._layout = _layout(where, prefix, lease, default_ttl, ttl_margin, max_ttl, hidden)
        if client is None:
            _checked_by_redis(cast(str, url), where, self._options)

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
            with _translated(self._layout, action, *extra_secrets):
                yield client
        finally:
            if client is not self._given:
                with contextlib.suppress(*_Failure):
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
            script = client.register_script(_DELETE_IF)
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
                    with contextlib.suppress(*_Failure):
                        await client.register_script(_RELEASE)(keys=[lock_key], args=[value])
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


__all__ = ["DEFAULT_PREFIX", "AsyncRedisTokenStore", "RedisTokenStore"]
