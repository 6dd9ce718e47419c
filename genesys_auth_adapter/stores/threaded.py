"""Any sync :class:`~.base.TokenStore` for asyncio code, each call in a worker thread (a store object given
to ``store=`` that has no asyncio form of its own)."""

from __future__ import annotations

import asyncio

from .base import Lease, StoredToken, TokenStore


class ThreadedAsyncStore:
    """Any sync :class:`TokenStore` for asyncio code: each call runs in a worker thread."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    async def load(self, key: str) -> StoredToken | None:
        return await asyncio.to_thread(self.store.load, key)

    async def save(self, key: str, token: StoredToken) -> None:
        await asyncio.to_thread(self.store.save, key, token)

    async def delete_if(self, key: str, access_token: str) -> bool:
        return await asyncio.to_thread(self.store.delete_if, key, access_token)

    async def acquire(self, key: str, *, wait: float) -> _ThreadedLease | None:
        pending = asyncio.ensure_future(asyncio.to_thread(self.store.acquire, key, wait=wait))
        try:
            lease = await asyncio.shield(pending)
        except asyncio.CancelledError:
            # The worker thread may still take the lock: give it back then, or every process would wait.
            pending.add_done_callback(_release_late)
            raise
        return None if lease is None else _ThreadedLease(lease)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.store.close)

    def __repr__(self) -> str:
        return repr(self.store)


def _release_late(done: asyncio.Future[Lease | None]) -> None:
    if not done.cancelled() and done.exception() is None:
        lease = done.result()
        if lease is not None:
            lease.release()


class _ThreadedLease:
    def __init__(self, lease: Lease) -> None:
        self._lease = lease
        self.renew_every = lease.renew_every

    async def renew(self) -> None:
        await asyncio.to_thread(self._lease.renew)

    async def release(self) -> None:
        await asyncio.to_thread(self._lease.release)
