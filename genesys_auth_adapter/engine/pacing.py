"""The pacing policy (a frozen value, like the retry policy) and the tally of answered requests."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .budget import Budget, Rate


@dataclass(frozen=True)
class PacingPolicy:
    """How a client paces; shared by any number of threads.

    Attributes:
        budget: Requests per ``window`` each token may make, as configured (None: learned from 429s only).
        window: The window of a configured budget and of budgets learned from a count, in seconds.
        burst: Requests let through back to back before spacing starts (the sustained rate is lowered so
            that no window ever holds more than the budget).
        jitter: Seconds by which transit times may differ: spacing leaves room for it.
        probe: Raise learned budgets on trial now and then, to find a raised limit (False: never, and so no
            429 once a budget is learned, but a raised limit is found only when configured).
        probe_after: Windows a learned budget must hold (no 429) before it is first raised on trial (at least
            2: the fleet's use of a whole window after the change must be seen).
        probe_step: The first raise, as a fraction of the budget (at least one request); the raises that follow
            one that held are four times the last.
        max_probe_pause: Most windows between probes after probes that failed.
        busy: Fraction of a window's slots given that counts as a budget in use (no use, no probe).
        reload_every: Seconds between reloads of the fleet's budgets from a shared store.
        count_margin: Seconds left out at the start of a counted window (``Retry-After`` is whole seconds).
        pool_after: With a token pool (``token_pool``): the longest wait for a slot on every open token that
            does not open another token (seconds). A pool opens a token only for demand its open tokens cannot
            serve.
        min_count: Fewest requests a process must have had answered in the window a 429 ends (or half of
            those in the window's length before it) to learn a budget from that count. A 429 met after a
            handful of requests says little of the token's budget (another limit, a one-off): it is waited
            out, and teaches nothing that would slow every later request.

    Raises:
        ValueError: A value out of range (the message names it and says what is allowed).
    """

    budget: int | None = None
    window: float = 60.0
    burst: int = 1
    jitter: float = 1.0
    probe: bool = True
    probe_after: int = 3
    probe_step: float = 0.02
    max_probe_pause: int = 5
    busy: float = 0.9
    reload_every: float = 60.0
    count_margin: float = 1.0
    min_count: int = 10
    pool_after: float = 1.0

    def __post_init__(self) -> None:
        if self.budget is not None:
            try:
                Budget(self.budget, self.window)
            except ValueError as exc:
                raise ValueError(f"PacingPolicy budget/window: {exc}") from None
        for name, low in (("burst", 1), ("probe_after", 2), ("max_probe_pause", 2), ("min_count", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"PacingPolicy {name} must be a whole number >= {low}, not {value!r}")
        limits = (("window", 86400.0), ("jitter", 60.0), ("reload_every", 86400.0), ("count_margin", 60.0))
        for name, top in (*limits, ("pool_after", 3600.0)):
            _check(name, getattr(self, name), 0.0, top, zero=name not in ("window", "reload_every"))
        _check("probe_step", self.probe_step, 0.0, 10.0, zero=False)
        _check("busy", self.busy, 0.0, 1.0, zero=False)

    def rate(self, budget: Budget) -> Rate:
        """The GCRA parameters of ``budget`` under this policy."""
        return Rate.of(budget, burst=self.burst, jitter=self.jitter)


def _check(name: str, value: object, low: float, top: float, *, zero: bool) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        inside = (low <= value if zero else low < value) and value <= top
        if inside:
            return
    bound = ">=" if zero else ">"
    raise ValueError(f"PacingPolicy {name} must be a number {bound} {low:g} and <= {top:g}, not {value!r}")


class Tally:
    """How many requests a token had answered, by when they were sent (wall clock), over ``horizon`` seconds.

    Counted in buckets of ``resolution`` seconds (a ring of integers), so :meth:`add`, which runs on every
    response, is a few integer operations. :meth:`count` leaves out a bucket that begins before ``since``, so it
    undercounts by at most one bucket: what is learned from it is only ever lower than the server allowed.
    Not locked: two threads adding at the same instant may lose one count (an undercount again).
    """

    def __init__(self, horizon: float, resolution: float = 0.1) -> None:
        self._scale = 1.0 / resolution
        self._size = int(horizon * self._scale) + 2
        self._stamps = [-1] * self._size
        self._counts = [0] * self._size

    def add(self, sent: float) -> None:
        bucket = int(sent * self._scale)
        index = bucket % self._size
        if self._stamps[index] == bucket:
            self._counts[index] += 1
        else:
            self._stamps[index] = bucket
            self._counts[index] = 1

    def count(self, since: float) -> int:
        """Requests sent at or after ``since`` (answered by now), but for those in ``since``'s own bucket."""
        first = math.ceil(since * self._scale - 1e-6)  # the first bucket that begins at or after ``since``
        return sum(count for stamp, count in zip(self._stamps, self._counts) if stamp >= first)
