"""``MemoryTokenStore``: a store for one process (the reference implementation of the protocol)."""

from __future__ import annotations

import threading

from ..engine import fork_safety
from .base import Lease, StoredToken


class _MemoryLease:
    renew_every: float | None = None  # held until released

    def __init__(self, lock: threading.Lock) -> None:
        self._lock: threading.Lock | None = lock

    def renew(self) -> None:
        pass

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


class MemoryTokenStore:
    """Tokens shared by the auth objects of one process (two sessions with the same client, say)."""

    def __init__(self) -> None:
        self._entries: dict[str, bytes] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        fork_safety.register(self)

    def load(self, key: str) -> StoredToken | None:
        data = self._entries.get(key)
        return None if data is None else StoredToken.from_json(data)

    def save(self, key: str, token: StoredToken) -> None:
        self._entries[key] = token.to_json()

    def delete_if(self, key: str, access_token: str) -> bool:
        with self._guard:
            data = self._entries.get(key)
            if data is None or StoredToken.from_json(data).access_token != access_token:
                return False
            del self._entries[key]
            return True

    def acquire(self, key: str, *, wait: float) -> Lease | None:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if lock.acquire(timeout=min(wait, threading.TIMEOUT_MAX)) if wait > 0 else lock.acquire(blocking=False):
            return _MemoryLease(lock)
        return None

    def close(self) -> None:
        self._entries.clear()

    def after_fork_in_child(self) -> None:
        """New locks in a forked child: a fetch lock the parent's leader held would never be released here.

        The entries stay (their tokens are valid in any process); a token request the parent had running
        goes on in the parent only, so the child's leader takes a fetch lock of its own at once.
        """
        self._guard = threading.Lock()
        self._locks = {}

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._entries)} entries)"
