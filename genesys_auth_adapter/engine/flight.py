"""A token request in progress, shared by every thread and task that needs its result.

A flight ends once, with a token or an error. Threads wait for it on a ``threading.Event``; asyncio
tasks wait on a future of their own event loop, woken thread-safely, so one flight serves threads and
tasks of any number of event loops at once. Nothing a waiter creates outlives its wait: a task
cancelled while waiting leaves no callback, lock or future behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Callable

from .token import Token


class Flight:
    """One token request; ``quick`` marks an ahead-of-expiry attempt (one try, short timeouts).

    Attributes:
        quick: An ahead-of-expiry attempt, which gives up sooner than a waiter would: a thread that
            needs a token does not inherit its failure.
        fresh: Its token must be minted by its own token request: a token store's is not taken (it may
            predate a revocation that a caller has seen).
        token: The token it obtained, once it succeeded.
        error: What it raised, once it failed.
    """

    def __init__(self, *, quick: bool, fresh: bool = False) -> None:
        self.quick = quick
        self.fresh = fresh
        self.token: Token | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()  # guards the callbacks only, for an instant
        self._callbacks: list[Callable[[], None]] = []

    @property
    def done(self) -> bool:
        """True once the flight has ended."""
        return self._done.is_set()

    def finish(self) -> None:
        """End the flight (its ``token`` or ``error`` is set) and wake every waiter; idempotent."""
        with self._lock:
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for wake in callbacks:
            wake()

    def wait(self, timeout: float) -> bool:
        """Block this thread until the flight ends; False when ``timeout`` seconds passed first."""
        return self._done.wait(min(timeout, threading.TIMEOUT_MAX))

    async def wait_async(self, timeout: float) -> bool:
        """Wait without blocking the event loop; False when ``timeout`` seconds passed first."""
        if self._done.is_set():
            return True
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            # A closed event loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, woken)

        with self._lock:
            if self._done.is_set():
                return True
            self._callbacks.append(wake)
        try:
            await asyncio.wait_for(woken, min(timeout, threading.TIMEOUT_MAX))
        except asyncio.TimeoutError:
            return self._done.is_set()
        finally:
            with self._lock:
                if wake in self._callbacks:
                    self._callbacks.remove(wake)
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
