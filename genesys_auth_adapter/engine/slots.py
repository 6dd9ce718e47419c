"""What an auth object paces with: its :class:`~.pacer.Pacer` and the budget store the pacing commands go to.

One :class:`Pacing` per auth object. Drivers hand it the flow's pacing commands (:mod:`.paced`):
:meth:`Pacing.carry` in threads, :meth:`Pacing.acarry` in tasks (a blocking store runs in a worker thread,
so the event loop never waits on Redis or a file lock). It holds no lock across a request: a reservation
is arithmetic in the store, and the wait it answers is slept by the driver afterwards. With a token pool
(``token_pool``) it holds the :class:`~.pool.TokenPool` too, and answers :class:`~.paced.SlotToken`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Callable, Protocol

from .budget import Budget
from .clock import Clock
from .gcra import Lane, Lesson, Reservation
from .paced import Chosen, Learn, Refusal, Reload, Reserve, Sleep, SlotToken, pace
from .pacer import Pacer
from .pool import TokenPool

_log = logging.getLogger("genesys_auth_adapter.pacing")


class _Store(Protocol):
    def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation: ...

    def learn(self, scope: str, lesson: Lesson) -> Mapping[str, Budget]: ...

    def budgets(self, scope: str) -> Mapping[str, Budget]: ...


class _AsyncStore(Protocol):
    async def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation: ...

    async def learn(self, scope: str, lesson: Lesson) -> Mapping[str, Budget]: ...

    async def budgets(self, scope: str) -> Mapping[str, Budget]: ...


class Pacing:
    """An auth object's pacer and budget stores (sync, and asyncio).

    Args:
        pacer: What this auth object knows of its budgets.
        store: Where the fleet's slots and budgets are (the pacer's own :attr:`~.pacer.Pacer.local` alone).
        astore: Its asyncio form.
        pool: The auth's token pool, when it has one of more than one slot (set by the front end).
    """

    def __init__(self, pacer: Pacer, store: _Store, astore: _AsyncStore, pool: TokenPool | None = None) -> None:
        self.pacer = pacer
        self.store = store
        self.astore = astore
        self.pool = pool

    def carry(self, command: object) -> object:
        """Carry out one pacing command with the sync store (and token pool)."""
        scope = self.pacer.scope
        if isinstance(command, SlotToken):
            return self._slot_token(command)
        if isinstance(command, Reserve):
            return self.store.reserve(scope, command.lanes, max_wait=command.max_wait)
        if isinstance(command, Learn):
            return self.store.learn(scope, command.lesson)
        assert isinstance(command, Reload), f"not a pacing command: {type(command).__name__}"
        return self.store.budgets(scope)

    async def acarry(self, command: object) -> object:
        """Carry out one pacing command with the asyncio store (and token pool)."""
        scope = self.pacer.scope
        if isinstance(command, SlotToken):
            pool = self._pool()
            if command.rejected is not None and not command.drop:
                return await pool.arejected(command.slot, command.rejected, command.after)
            if command.drop or not command.open:
                return self._slot_token(command)  # no I/O
            try:
                return await pool.aheader(command.slot)
            except Exception as exc:
                _not_opened(command.slot, exc)
                return None
        if isinstance(command, Reserve):
            return await self.astore.reserve(scope, command.lanes, max_wait=command.max_wait)
        if isinstance(command, Learn):
            return await self.astore.learn(scope, command.lesson)
        assert isinstance(command, Reload), f"not a pacing command: {type(command).__name__}"
        return await self.astore.budgets(scope)

    def _slot_token(self, command: SlotToken) -> object:
        pool = self._pool()
        if command.drop:
            assert command.rejected is not None
            pool.discard(command.slot, command.rejected)
            return None
        if command.rejected is not None:
            return pool.rejected(command.slot, command.rejected, command.after)
        if not command.open:
            return pool.held(command.slot)
        try:
            return pool.header(command.slot)
        except Exception as exc:
            _not_opened(command.slot, exc)
            return None

    def _pool(self) -> TokenPool:
        assert self.pool is not None, "a SlotToken command needs a token pool"
        return self.pool

    def due(self, now: float) -> bool:
        """Whether a request sent now has pacing to do (a budget known, or a reload of the fleet's due)."""
        pacer = self.pacer
        return pacer.engaged or now >= pacer.reload_at

    def before_send(
        self, header: str, path: str, clock: Clock, within: float, what: Callable[[], str]
    ) -> Chosen | Refusal | None:
        """Pace one send made outside the flow (the ``auth=`` hook's first one), sleeping in this thread.

        A :class:`~.paced.Chosen` that waited asks for its slot's token again (it may have been refreshed).
        """
        steps = pace(self.pacer, header, path, clock, clock.monotonic() + within, what)
        result: object = None
        while True:
            try:
                command = steps.send(result)
            except StopIteration as stop:
                outcome: Chosen | Refusal | None = stop.value
                return outcome
            if isinstance(command, Sleep):
                clock.sleep(command.seconds)
                result = None
            else:
                result = self.carry(command)

    def __repr__(self) -> str:
        return f"Pacing({self.pacer!r}, {self.store!r})"


def _not_opened(slot: int, error: Exception) -> None:
    """A pool slot whose first token could not be had: the request waits for the tokens already open."""
    _log.warning(
        "Could not open token %d of the token pool (%s); the open tokens carry the load meanwhile.", slot, error
    )
