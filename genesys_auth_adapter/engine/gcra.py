"""The GCRA (generic cell rate algorithm, a leaky bucket as a meter) as a pure function, and its in-memory home.

A lane's whole state is one number, its *theoretical arrival time* ``tat``: when its next slot is due. A
request may go at ``t`` if ``t >= tat - tolerance``; taking the slot moves ``tat`` to ``max(tat, t) + interval``.
:func:`reserve` takes a slot on several lanes at once (a token and the limits of the request's endpoint
family): the request goes at the earliest time all of them allow, and every lane's slot is taken at that
time, so a lane is never charged for a time it did not pace. A reservation that would wait longer than
``max_wait`` is refused and changes nothing.

A *hold* (the window a 429 ends) is ``tat = max(tat, until)``: the lane lets nothing through before then.

:class:`LocalBudgets` keeps lanes and budgets in one process's memory, under a lock held only for the
arithmetic; it is the pacing of a process without a shared store, the fallback of one whose store fails,
and the reference implementation of the store protocol (``stores/budget.py``). The file store runs the same
:func:`reserve` under its file lock; the Redis store runs it as one Lua script.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from .budget import Budget, Event, Rate, apply
from .clock import Clock

#: A lane due further ahead than this is not believed (a record written before a reboot restarted the
#: monotonic clock, or a corrupt one): it starts afresh. Longer than any hold or wait a request accepts.
MAX_AHEAD = 2 * 3600.0
_PRUNE_AT = 256


@dataclass(frozen=True)
class Lane:
    """One lane to take a slot on: its name, its rate, and the budget the rate came from.

    Attributes:
        name: The lane (``t.<fingerprint>`` for a token, ``l.<hash>`` for a limit key and endpoint family).
        rate: Its GCRA parameters (:data:`~.budget.HOLD` when it only waits out a hold).
        window: The budget's window: slots are counted per window of this length (for probing).
        budget: The name of the budget it is paced by, if any: a store reports that budget's newer revision.
        revision: The revision of that budget the asker knows.
        cause: What the lane is, for people (``token 3fa9c2d1e0b4a7f6 (300 requests per 60 s, ...)``).
    """

    name: str
    rate: Rate
    window: float = 60.0
    budget: str | None = None
    revision: int = 0
    cause: str = field(default="", compare=False)


@dataclass(frozen=True)
class LaneState:
    """A lane's state: its theoretical arrival time, and the slots it gave in its current and last window.

    Attributes:
        tat: When the lane's next slot is due (before it by at most its tolerance).
        epoch: The window ``count`` is for (slot time // window).
        count: Slots given in window ``epoch``.
        previous: Slots given in the window before it (how busy the lane was: probing looks at it).
        window: The window's length in seconds (0 for a lane that only held).
    """

    tat: float
    epoch: int = 0
    count: int = 0
    previous: int = 0
    window: float = 0.0

    @property
    def expires(self) -> float:
        """When the state says no more than a lane never used (its slot due, its counts out of date)."""
        return max(self.tat, (self.epoch + 2) * self.window)


@dataclass(frozen=True)
class Slot:
    """The outcome of :func:`reserve`.

    Attributes:
        wait: Seconds until the slot (0 when it is now).
        at: When the slot is, on the clock ``now`` was read from.
        binding: Index of the lane that set the wait (None when nothing waited).
        states: The lanes' new states, or None when refused (nothing changes then).
        used: For each lane, the slots it gave in its last complete window before this one.
    """

    wait: float
    at: float
    binding: int | None
    states: tuple[LaneState, ...] | None
    used: tuple[int, ...] = ()

    @property
    def granted(self) -> bool:
        return self.states is not None


def reserve(now: float, states: Sequence[LaneState | None], lanes: Sequence[Lane], max_wait: float) -> Slot:
    """Take one slot on every lane at the earliest time they all allow, unless that is over ``max_wait`` away.

    Args:
        now: The current time, on the clock the lanes' states were written with.
        states: Each lane's state (None: a lane never used, or expired).
        lanes: The lanes, for their rates and windows.
        max_wait: The longest wait accepted (seconds); a longer one is refused.
    """
    start, binding = now, None
    tats = [_believed(now, state) for state in states]
    for index, (tat, lane) in enumerate(zip(tats, lanes)):
        earliest = tat - lane.rate.tolerance
        if earliest > start:
            start, binding = earliest, index
    wait = start - now
    if not wait <= max_wait:  # also refuses a NaN
        return Slot(wait, start, binding, None)
    taken = tuple(
        _taken(state, max(tat, start) + lane.rate.interval, lane.window, int(start // lane.window))
        for state, tat, lane in zip(states, tats, lanes)
    )
    return Slot(wait, start, binding, taken, tuple(state.previous for state in taken))


def _taken(state: LaneState | None, tat: float, window: float, epoch: int) -> LaneState:
    """The state of a lane that gave a slot in window ``epoch``."""
    if state is None or state.window != window or state.epoch > epoch or state.epoch < epoch - 1:
        return LaneState(tat, epoch, 1, 0, window)
    if state.epoch == epoch:
        return LaneState(tat, epoch, state.count + 1, state.previous, window)
    return LaneState(tat, epoch, 1, state.count, window)


def hold(now: float, state: LaneState | None, seconds: float) -> LaneState:
    """A lane's state after a hold of ``seconds`` from ``now`` (a later slot already due stays)."""
    tat = max(_believed(now, state), now + max(0.0, seconds))
    return LaneState(tat) if state is None else replace(state, tat=tat)


def _believed(now: float, state: LaneState | None) -> float:
    tat = now if state is None else state.tat
    if not tat <= now + MAX_AHEAD:  # also a NaN
        return now
    return tat


@dataclass(frozen=True)
class Reservation:
    """What a budget store answers to a reservation.

    Attributes:
        wait: Seconds to wait before sending (0: now).
        granted: False when the wait would pass ``max_wait``: nothing was reserved.
        binding: Index of the lane that set the wait, or None.
        at: When the slot is, on the store's clock (Redis' ``TIME``, the host's monotonic clock, or the
            injected one): only comparable between reservations of one store.
        used: For each lane, the slots it gave (to the whole fleet) in its last complete window.
        budgets: Budgets of the asked lanes whose stored revision differs from the one the asker knows.
    """

    wait: float
    granted: bool
    binding: int | None = None
    at: float = 0.0
    used: tuple[int, ...] = ()
    budgets: Mapping[str, Budget] = field(default_factory=dict)

    @classmethod
    def of(cls, slot: Slot, budgets: Mapping[str, Budget]) -> Reservation:
        """The answer for a slot computed by :func:`reserve`."""
        return cls(slot.wait, slot.granted, slot.binding, slot.at, slot.used, budgets)


@dataclass(frozen=True)
class Hold:
    """Let nothing through ``lane`` for ``seconds`` (the rest of the window a 429 ended)."""

    lane: str
    seconds: float


@dataclass(frozen=True)
class Lesson:
    """What to tell the budget store after a 429 or a probe: holds to place and events to apply.

    Attributes:
        holds: Lanes to hold.
        events: ``(budget name, event)`` pairs, applied in order with :func:`~.budget.apply`.
        cause: What happened, for the log line.
    """

    holds: tuple[Hold, ...] = ()
    events: tuple[tuple[str, Event], ...] = ()
    cause: str = ""


class LocalBudgets:
    """Lanes and budgets in this process's memory (the store protocol, with no I/O).

    Thread-safe, and safe for asyncio tasks: its lock is held for the arithmetic only and it never awaits.

    Args:
        clock: Where ``now`` comes from (its monotonic reading).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._lanes: dict[tuple[str, str], LaneState] = {}
        self._budgets: dict[str, dict[str, Budget]] = {}
        self._prune_at = _PRUNE_AT

    def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        """Take a slot on every lane of ``scope`` (see :func:`reserve`)."""
        keys = [(scope, lane.name) for lane in lanes]
        with self._lock:
            now = self._clock.monotonic()
            slot = reserve(now, [self._lanes.get(key) for key in keys], lanes, max_wait)
            if slot.states is not None:
                self._lanes.update(zip(keys, slot.states))
                self._forget_past(now)
            budgets = newer_budgets(self._budgets.get(scope, {}), lanes)
        return Reservation.of(slot, budgets)

    def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        """Place the lesson's holds, apply its events; the resulting budgets of the names it touched."""
        with self._lock:
            now = self._clock.monotonic()
            for item in lesson.holds:
                key = (scope, item.lane)
                self._lanes[key] = hold(now, self._lanes.get(key), item.seconds)
            known = self._budgets.setdefault(scope, {})
            for name, event in lesson.events:
                budget = apply(known.get(name), event)
                if budget is not None:
                    known[name] = budget
            return {name: known[name] for name, _ in lesson.events if name in known}

    def after_fork_in_child(self) -> None:
        """A forked child gets a fresh lock (a parent thread may have held this one at the fork)."""
        self._lock = threading.Lock()

    def budgets(self, scope: str) -> dict[str, Budget]:
        """Every budget known for ``scope``."""
        with self._lock:
            return dict(self._budgets.get(scope, {}))

    def close(self) -> None:
        """Forget everything."""
        with self._lock:
            self._lanes.clear()
            self._budgets.clear()

    def _forget_past(self, now: float) -> None:
        # Now and then, not every time, drop the lanes idle long enough to be the same as lanes never used.
        if len(self._lanes) > self._prune_at:
            self._lanes = {key: state for key, state in self._lanes.items() if state.expires > now}
            self._prune_at = 2 * len(self._lanes) + _PRUNE_AT

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._lanes)} lanes, {sum(map(len, self._budgets.values()))} budgets)"


def newer_budgets(known: Mapping[str, Budget], lanes: Sequence[Lane]) -> dict[str, Budget]:
    """The stored budgets of ``lanes`` whose revision the asker does not know."""
    newer: dict[str, Budget] = {}
    for lane in lanes:
        if lane.budget is not None:
            stored = known.get(lane.budget)
            if stored is not None and stored.revision != lane.revision:
                newer[lane.budget] = stored
    return newer
