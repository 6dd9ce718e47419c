"""``AsyncFileTokenStore``: the asyncio form of :class:`~.file.FileTokenStore`.

Not a twin of the sync store but a wrapper around it: every file operation runs in a worker thread, never
on the event loop, and the fetch lock is tried in a thread and waited for on the loop, so that a cancelled
task never leaves a lock behind.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .base import AsyncLease, Lease, StoredToken

if TYPE_CHECKING:
    from .file import FileTokenStore

_POLL = 0.02  # seconds between attempts on a contended lock, as the sync store's


class _AsyncFileLease:
    renew_every: float | None = None

    async def renew(self) -> None:
        pass

    def __init__(self, lease: Lease) -> None:
        self._lease = lease

    async def release(self) -> None:
        # Unlocking is one system call that never waits; done here, a cancelled task cannot skip it.
        self._lease.release()


class AsyncFileTokenStore:
    """The asyncio form of :class:`FileTokenStore`: file I/O runs in worker threads, never on the loop.

    Args:
        path: As for :class:`FileTokenStore`.
        entry_lock_timeout: As for :class:`FileTokenStore`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, entry_lock_timeout: float = 10.0) -> None:
        from .file import FileTokenStore  # here: the file module imports this one to export both forms

        self._store: FileTokenStore = FileTokenStore(path, entry_lock_timeout=entry_lock_timeout)

    @property
    def path(self) -> Path:
        """The directory the tokens are kept in."""
        return self._store.path

    async def load(self, key: str) -> StoredToken | None:
        return await asyncio.to_thread(self._store.load, key)

    async def save(self, key: str, token: StoredToken) -> None:
        await asyncio.to_thread(self._store.save, key, token)

    async def delete_if(self, key: str, access_token: str) -> bool:
        return await asyncio.to_thread(self._store.delete_if, key, access_token)

    async def acquire(self, key: str, *, wait: float) -> AsyncLease | None:
        """Take the fetch lock, trying in a worker thread and sleeping on the loop between tries."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait if wait > 0 else None
        while True:
            lease = await _cancel_safe(lambda: self._store.acquire(key, wait=0))
            if lease is not None:
                return _AsyncFileLease(lease)
            remaining = 0.0 if deadline is None else deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(_POLL, remaining))

    async def aclose(self) -> None:
        self._store.close()

    def __repr__(self) -> str:
        return f"AsyncFileTokenStore({str(self._store.path)!r})"


class _Attempt:
    """One lock attempt run in a worker thread, whose lease is released if its task was cancelled.

    A cancelled ``await`` does not stop the thread: whichever of the thread (finishing) and the task
    (abandoning) comes second releases a lease the first one left, exactly once, under ``_guard``.
    """

    def __init__(self, try_once: Callable[[], Lease | None]) -> None:
        self._try_once = try_once
        self._guard = threading.Lock()
        self._abandoned = False
        self._lease: Lease | None = None

    def run(self) -> Lease | None:
        lease = self._try_once()
        with self._guard:
            if not self._abandoned:
                self._lease = lease
                return lease
        if lease is not None:
            lease.release()
        return None

    def abandon(self) -> None:
        with self._guard:
            self._abandoned = True
            lease, self._lease = self._lease, None
        if lease is not None:
            lease.release()


async def _cancel_safe(try_once: Callable[[], Lease | None]) -> Lease | None:
    attempt = _Attempt(try_once)
    try:
        return await asyncio.to_thread(attempt.run)
    except asyncio.CancelledError:
        attempt.abandon()
        raise


__all__ = ["AsyncFileTokenStore"]
