"""Keeping a lease that runs out on its own (a Redis lease) alive while its holder's token request goes on.

A small primitive in both forms, side by side (as httpcore keeps its locks): the fetch's generated sync form
(``_sync/fetch.py``) calls :func:`renewing` where its asyncio source calls :func:`renewing_async`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

from .base import AsyncLease, Lease, StoreError


@contextlib.contextmanager
def renewing(lease: Lease | None) -> Iterator[None]:
    """Renew ``lease`` from a thread every ``lease.renew_every`` seconds until the block ends."""
    every = None if lease is None else lease.renew_every
    if lease is None or every is None:
        yield
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(every):
            try:
                lease.renew()
            except StoreError:  # the lease then runs out on its own; the fetch goes on
                return

    renewer = threading.Thread(target=renew, name="genesys-lease-renewal", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join(5)


@contextlib.asynccontextmanager
async def renewing_async(lease: AsyncLease | None) -> AsyncIterator[None]:
    """The asyncio form of :func:`renewing`: a task, cancelled when the block ends."""
    every = None if lease is None else lease.renew_every
    if lease is None or every is None:
        yield
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await lease.renew()
            except StoreError:
                return

    renewer = asyncio.ensure_future(renew())
    try:
        yield
    finally:
        renewer.cancel()
