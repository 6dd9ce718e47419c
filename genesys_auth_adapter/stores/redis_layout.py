"""What both forms of the Redis token store share: key layout, Lua scripts, URL checks and safe messages.

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

:mod:`.redis` holds the sync store (redis-py), :mod:`.redis_async` the asyncio one (``redis.asyncio``): not
twins, since the asyncio store opens a connection per call (one store serves any event loop) and guards
every command against a lost cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis

from ..errors import ConfigurationError
from .base import StoredToken, StoreError

DEFAULT_PREFIX = "genesys-auth-adapter"

_SCHEMES = ("redis", "rediss", "unix")
#: host[:port][/db] without a scheme: what people write for a Redis server, and nothing secret.
_PLAIN_ADDRESS = re.compile(r"([A-Za-z0-9.-]+)(:[0-9]{1,5})?(?:/([0-9]{1,5}))?/?")
# Between two tries of a taken lock: doubling from the first pause up to the last.
_FIRST_PAUSE = 0.005
_LAST_PAUSE = 0.05

# KEYS[1]: the lock; ARGV[1]: this holder's lease value.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1]: the lock; ARGV[1]: this holder's lease value; ARGV[2]: the lease in milliseconds.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1]: the token entry; ARGV[1]: the access token that was rejected. Anything else stays,
# including an entry that is not our JSON (a later save replaces it).
DELETE_IF = """
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

FAILURES = (redis.RedisError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Layout:
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


def make_layout(
    where: str,
    prefix: str,
    lease: float,
    default_ttl: float,
    ttl_margin: float,
    max_ttl: float,
    secret_parts: tuple[str, ...],
) -> Layout:
    if not isinstance(prefix, str) or not prefix or any(ch.isspace() for ch in prefix):
        raise ConfigurationError("RedisTokenStore: prefix must be a non-empty string without spaces")
    return Layout(
        where=where,
        prefix=prefix,
        lease=_seconds("lease", lease),
        default_ttl=_seconds("default_ttl", default_ttl),
        ttl_margin=_seconds("ttl_margin", ttl_margin, zero=True),
        max_ttl=_seconds("max_ttl", max_ttl),
        hidden=tuple(part for part in secret_parts if part),
    )


def describe_url(url: object) -> tuple[str, tuple[str, ...]]:
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


def describe_client(client: object) -> str:
    """``host:port/db`` of a client someone else built, read from its pool's connection settings."""
    kwargs: Any = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return f"a given {type(client).__name__}"
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def checked_by_redis(url: str, where: str, options: dict[str, Any]) -> None:
    """Refuse now what redis-py would refuse at the first call (builds a pool; connects to nothing)."""
    try:
        redis.ConnectionPool.from_url(url, **options)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"RedisTokenStore: redis-py refused the URL for {where} (check its port, database number and query options)"
        ) from None


@contextlib.contextmanager
def translated(layout: Layout, action: str, *extra_secrets: str) -> Iterator[None]:
    """Turn every Redis failure inside into a StoreError without credentials or tokens in it."""
    try:
        yield
    except FAILURES as exc:
        raise layout.failure(action, exc, *extra_secrets) from None


def client_options(connect_timeout: float, read_timeout: float, retry: object) -> dict[str, Any]:
    return {
        "socket_connect_timeout": _seconds("connect_timeout", connect_timeout),
        "socket_timeout": _seconds("read_timeout", read_timeout),
        # No client-side retries: one slow or refused try is already the most a request should wait.
        "retry": retry,
    }
