"""What an auth object paces with: its :class:`~.pacer.Pacer` and the budget store the pacing commands go to.

One :class:`Pacing` per auth object. Drivers hand it the flow's pacing commands (:mod:`.paced`):
:meth:`Pacing.carry` in threads, :meth:`Pacing.acarry` in tasks (a blocking store runs in a worker thread,
so the event loop never waits on Redis or a file lock). It holds no lock across a request: a reservation
is arithmetic in the store, and the wait it answers is slept by the driver afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Callable, Protocol

from .budget import Budget
from .clock import Clock
from .gcra import Lane, Lesson, Reservation
from .paced import Learn, Refusal, Reload, Reserve, Sleep, pace
from .pacer import Pacer
from .retry import Paced


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
    """

    def __init__(self, pacer: Pacer, store: _Store, astore: _AsyncStore) -> None:
        self.pacer = pacer
        self.store = store
        self.astore = astore

    def carry(self, command: object) -> object:
        """Carry out one pacing command with the sync store."""
        scope = self.pacer.scope
        if isinstance(command, Reserve):
            return self.store.reserve(scope, command.lanes, max_wait=command.max_wait)
        if isinstance(command, Learn):
            return self.store.learn(scope, command.lesson)
        assert isinstance(command, Reload), f"not a pacing command: {type(command).__name__}"
        return self.store.budgets(scope)

    async def acarry(self, command: object) -> object:
        """Carry out one pacing command with the asyncio store."""
        scope = self.pacer.scope
        if isinstance(command, Reserve):
            return await self.astore.reserve(scope, command.lanes, max_wait=command.max_wait)
        if isinstance(command, Learn):
            return await self.astore.learn(scope, command.lesson)
        assert isinstance(command, Reload), f"not a pacing command: {type(command).__name__}"
        return await self.astore.budgets(scope)

    def due(self, now: float) -> bool:
        """Whether a request sent now has pacing to do (a budget known, or a reload of the fleet's due)."""
        pacer = self.pacer
        return pacer.engaged or now >= pacer.reload_at

    def before_send(
        self, header: str, path: str, clock: Clock, within: float, what: Callable[[], str]
    ) -> Paced | Refusal | None:
        """Pace one send made outside the flow (the ``auth=`` hook's first one), sleeping in this thread."""
        steps = pace(self.pacer, header, path, clock, clock.monotonic() + within, what)
        result: object = None
        while True:
            try:
                command = steps.send(result)
            except StopIteration as stop:
                outcome: Paced | Refusal | None = stop.value
                return outcome
            if isinstance(command, Sleep):
                clock.sleep(command.seconds)
                result = None
            else:
                result = self.carry(command)

    def __repr__(self) -> str:
        return f"Pacing({self.pacer!r}, {self.store!r})"
