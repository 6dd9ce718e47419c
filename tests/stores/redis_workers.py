"""Functions run in spawned processes by the Redis store tests (importable by a fresh interpreter)."""

from __future__ import annotations

from typing import Any

import redis

from genesys_auth_adapter.stores.redis import RedisTokenStore

#: Longest a child waits for its siblings or the lock before giving up (the parent fails the test then).
CHILD_WAIT = 20.0


def count_under_lease(url: str, prefix: str, rounds: int, barrier: Any) -> None:
    """``rounds`` read-modify-write increments of ``<prefix>:counter``, each under the store's lease.

    Also counts, in ``<prefix>:overlaps``, every time it found another process inside the lock.
    """
    store = RedisTokenStore(url, prefix=prefix, read_timeout=5)
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        barrier.wait(CHILD_WAIT)  # every process starts contending at once
        for _ in range(rounds):
            lease = store.acquire("shared", wait=CHILD_WAIT)
            if lease is None:
                raise SystemExit(3)
            try:
                if client.incr(f"{prefix}:inside") != 1:
                    client.incr(f"{prefix}:overlaps")
                value = int(client.get(f"{prefix}:counter") or 0)
                client.set(f"{prefix}:counter", value + 1)
                client.decr(f"{prefix}:inside")
            finally:
                lease.release()
    finally:
        store.close()
        client.close()


def hold_until_killed(url: str, prefix: str, lease: float, holding: Any, never: Any) -> None:
    """Take the lock with a ``lease``-second lease, say so, and never give it back (the parent kills us)."""
    store = RedisTokenStore(url, prefix=prefix, lease=lease)
    if store.acquire("shared", wait=CHILD_WAIT) is None:
        raise SystemExit(3)
    holding.set()
    never.wait(CHILD_WAIT)
