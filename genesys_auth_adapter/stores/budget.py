"""The budget store protocol: where a fleet shares its pacing (lanes' slots and learned budgets).

A budget store keeps, per *scope* (one OAuth client: its :func:`~.base.store_key`):

- **lanes**, one per token fingerprint (``t.<hash>``, never the token) and one per limit key and endpoint
  family (``l.<hash>``): each a GCRA state (:class:`~..engine.gcra.LaneState`) that expires with its window;
- **budgets** by name (``token`` for every token of the client, since the limit is the org's setting; a
  limit lane's own name otherwise), changed only by :func:`~..engine.budget.apply`.

Three operations, each atomic across the fleet: :meth:`BudgetStore.reserve` (one slot on several lanes at
once, or a refusal that changes nothing), :meth:`BudgetStore.learn` (holds and budget events after a 429 or
a probe), :meth:`BudgetStore.budgets` (everything known for a scope). Implementations: the memory store
here and :class:`~..engine.gcra.LocalBudgets` (one process), :class:`~.file_budget.FileBudgetStore` (one
host, one small record under a file lock), :class:`~.redis_budget.RedisBudgetStore` (many hosts, one Lua
script per reservation). :class:`FallbackBudgetStore` makes a failing shared store mean local pacing and
one warning. Pacing never holds a store's lock across a request: a reservation is arithmetic, and the
wait it answers is slept by the caller afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from ..engine.budget import Budget
from ..engine.clock import SYSTEM_CLOCK, Clock
from ..engine.gcra import Lane, Lesson, LocalBudgets, Reservation
from .base import StoreError

_log = logging.getLogger("genesys_auth_adapter.store")

#: After a shared store failed, how long this process paces locally before it asks the store again.
RETRY_SHARED_AFTER = 5.0


class BudgetStore(Protocol):
    """Pacing state shared by processes (and hosts). Every method raises :class:`~.base.StoreError` on failure."""

    def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        """Take one slot on every lane at the earliest time they all allow, or refuse past ``max_wait`` seconds.

        The answer carries the wait, which lane set it, each lane's use of its last window, and the stored
        budgets of the lanes whose revision differs from the one the caller knows (:attr:`Lane.revision`).
        """

    def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        """Place the lesson's holds and apply its events; the resulting budgets of the names it touched."""

    def budgets(self, scope: str) -> dict[str, Budget]:
        """Every budget stored for ``scope``."""

    def close(self) -> None:
        """Release connections and handles."""


class AsyncBudgetStore(Protocol):
    """The asyncio form of :class:`BudgetStore`."""

    async def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        """As :meth:`BudgetStore.reserve`, without blocking the event loop."""

    async def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        """As :meth:`BudgetStore.learn`."""

    async def budgets(self, scope: str) -> dict[str, Budget]:
        """As :meth:`BudgetStore.budgets`."""

    async def aclose(self) -> None:
        """Release connections and handles."""


class MemoryBudgetStore(LocalBudgets):
    """Pacing shared by the auth objects of one process (two sessions of one client, say).

    Args:
        clock: The clock slots are timed by (default the system's monotonic clock).
    """

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(clock)


class FallbackBudgetStore:
    """A shared budget store backed by this process's own pacing: a failure means local pacing, warned once.

    While the shared store fails, calls go to ``local`` (retrying the shared store every
    :data:`RETRY_SHARED_AFTER` seconds, so a dead server costs one timeout per interval, not one per
    request). One warning when it starts failing, one when it answers again.

    Args:
        shared: The fleet's store.
        local: Where to pace meanwhile (the pacer's :attr:`~..engine.pacer.Pacer.local`).
        clock: For the retry interval.
    """

    def __init__(self, shared: BudgetStore, local: BudgetStore, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.shared = shared
        self.local = local
        self._clock = clock
        self._guard = threading.Lock()
        self._down_until: float | None = None

    def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        store = self._choice()
        if store is self.local:
            return self.local.reserve(scope, lanes, max_wait=max_wait)
        try:
            answer = self.shared.reserve(scope, lanes, max_wait=max_wait)
        except StoreError as exc:
            self._failed(exc)
            return self.local.reserve(scope, lanes, max_wait=max_wait)
        self._worked()
        return answer

    def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        if self._choice() is self.shared:
            try:
                answer = self.shared.learn(scope, lesson)
            except StoreError as exc:
                self._failed(exc)
            else:
                self._worked()
                return answer
        return self.local.learn(scope, lesson)

    def budgets(self, scope: str) -> dict[str, Budget]:
        if self._choice() is self.shared:
            try:
                answer = self.shared.budgets(scope)
            except StoreError as exc:
                self._failed(exc)
            else:
                self._worked()
                return answer
        return self.local.budgets(scope)

    def close(self) -> None:
        self.shared.close()

    @property
    def down(self) -> bool:
        """Whether the shared store is being skipped after a failure."""
        return self._down_until is not None

    def _choice(self) -> BudgetStore:
        down_until = self._down_until
        if down_until is not None and self._clock.monotonic() < down_until:
            return self.local
        return self.shared

    def _failed(self, error: StoreError) -> None:
        with self._guard:
            first = self._down_until is None
            self._down_until = self._clock.monotonic() + RETRY_SHARED_AFTER
        if first:
            _log.warning(
                "The budget store %r is not usable (%s); this process paces on its own until it answers again.",
                self.shared,
                error,
            )

    def _worked(self) -> None:
        if self._down_until is None:
            return
        with self._guard:
            back = self._down_until is not None
            self._down_until = None
        if back:
            _log.warning("The budget store %r answers again; pacing is shared again.", self.shared)

    def __repr__(self) -> str:
        return f"FallbackBudgetStore({self.shared!r})"


class ThreadedAsyncBudgetStore:
    """The asyncio form of any :class:`BudgetStore`: blocking stores run in worker threads.

    A :class:`~..engine.gcra.LocalBudgets` (or :class:`MemoryBudgetStore`) never blocks, so it is called
    directly on the loop.
    """

    def __init__(self, store: BudgetStore) -> None:
        self.store = store
        self._direct = isinstance(store, LocalBudgets)

    async def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        if self._direct:
            return self.store.reserve(scope, lanes, max_wait=max_wait)
        return await asyncio.to_thread(lambda: self.store.reserve(scope, lanes, max_wait=max_wait))

    async def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        if self._direct:
            return self.store.learn(scope, lesson)
        return await asyncio.to_thread(self.store.learn, scope, lesson)

    async def budgets(self, scope: str) -> dict[str, Budget]:
        if self._direct:
            return self.store.budgets(scope)
        return await asyncio.to_thread(self.store.budgets, scope)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.store.close)

    def __repr__(self) -> str:
        return f"ThreadedAsyncBudgetStore({self.store!r})"


__all__ = [
    "RETRY_SHARED_AFTER",
    "AsyncBudgetStore",
    "BudgetStore",
    "FallbackBudgetStore",
    "MemoryBudgetStore",
    "ThreadedAsyncBudgetStore",
]
