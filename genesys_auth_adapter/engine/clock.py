"""The one place the token engine reads time from.

A clock has two readings: ``monotonic()`` for durations and deadlines (immune to wall-clock jumps) and
``wall()`` for comparing with server timestamps (``Date`` headers, JWT claims). Everything in the engine
takes a clock, so tests drive time by hand with :class:`ManualClock`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the token engine needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; only differences are meaningful."""

    def wall(self) -> float:
        """Seconds since the Unix epoch on the local wall clock."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""


# time.sleep() turns its argument into an absolute deadline, which overflows (OSError, OverflowError)
# well before threading.TIMEOUT_MAX; half of it is still far beyond any retry budget.
_LONGEST_SLEEP = threading.TIMEOUT_MAX / 2


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.time`` and ``time.sleep`` (at most ``TIMEOUT_MAX / 2``)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:  # also skips NaN
            time.sleep(min(seconds, _LONGEST_SLEEP))

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to, for tests and simulations.

    ``sleep`` advances the clock instead of blocking, so code that waits runs instantly.

    Args:
        wall: The initial wall-clock reading.
        monotonic: The initial monotonic reading.
    """

    def __init__(self, wall: float = 1_700_000_000.0, monotonic: float = 1000.0) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def wall(self) -> float:
        with self._lock:
            return self._wall

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move both readings forward by ``seconds``."""
        with self._lock:
            self._wall += seconds
            self._monotonic += seconds

    def jump_wall(self, seconds: float) -> None:
        """Move only the wall clock (an NTP step or a user changing the time)."""
        with self._lock:
            self._wall += seconds

    def __getstate__(self) -> dict[str, float]:
        return {"wall": self._wall, "monotonic": self._monotonic}

    def __setstate__(self, state: dict[str, float]) -> None:
        self.__init__(**state)  # type: ignore[misc]  # a fresh lock; the readings carry over

    def __repr__(self) -> str:
        return f"ManualClock(wall={self._wall!r}, monotonic={self._monotonic!r})"


SYSTEM_CLOCK = SystemClock()
