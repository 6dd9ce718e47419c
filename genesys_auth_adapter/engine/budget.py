"""Rate budgets as values, and the one rule by which what a fleet learns about them is combined.

A :class:`Budget` is "at most ``requests`` per ``window`` seconds", with where it came from (:class:`Source`)
and the bookkeeping a fleet needs to share it. Budgets change only by events, folded in by :func:`apply`:

- :class:`Told`: a 429 whose ``limit`` stated a rate (``"value": 300`` for a key ending ``.per.minute``).
  The server's word replaces whatever was known.
- :class:`Counted`: a 429 that stated none. One process reports two counts of the requests the server
  answered on the token: those sent since the window the 429 ends began (``Retry-After`` says when it ends),
  and those sent in the window's length before the 429. All of the first fit in one window, so the limit
  is at least their number; the second span at most two windows of a limiter with fixed windows (one of a
  sliding one), so the limit is at least half their number: that one still teaches something when a dense
  burst makes the first uncertain (``Retry-After`` is whole seconds). Counts of one *episode* (the same
  window, identified by when it ends on the server's clock, to within :data:`EPISODE_TOLERANCE`) add up
  across the processes of a fleet, each process counting only its own requests, so the budget learned,
  ``max(sum of the first, sum of the second / 2)``, is never above what the server allowed. A count never
  overrides a stated limit.
- :class:`Probe`: a raise on trial, proposed by a process whose budget held for a while and kept it waiting.
  It applies only to the revision it was computed from (compare-and-set), so a fleet raises once per step.
  A 429 while probing falls back to the budget that held (:attr:`Budget.floor`), or to what the 429 states.

Every store applies events with this function (the memory and file stores directly, Redis in a WATCH
transaction), so the rule exists once.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any, Union

#: Two episode ends closer than this (seconds) are one window (Retry-After is whole seconds; clocks differ).
EPISODE_TOLERANCE = 2.0


class Source(enum.Enum):
    """Where a budget came from."""

    CONFIGURED = "configured"
    LIMIT = "learned from limit"  # the 429 body's limit.value
    COUNT = "learned from count"  # requests answered in the window the 429 ended
    PROBING = "probing"  # raised above the budget that held, on trial


@dataclass(frozen=True)
class Budget:
    """At most ``requests`` per ``window`` seconds on one lane (a token, or a limit key and endpoint family).

    Attributes:
        requests: Requests allowed per window (at least 1).
        window: The window in seconds.
        source: Where the budget came from.
        key: The 429's limit key it was learned from, if it named one.
        family: For a limit that is not the token's: the endpoint family it was met on.
        revision: Bumped by every change a store applies (0: never stored).
        episode: When the window that taught it ended, in Unix seconds on the server's clock.
        counted: For a count: the requests the fleet reported answered since the episode's window began.
        recent: For a count: the requests the fleet reported answered in the window's length before its 429s.
        floor: For a probe: the budget that held before it (a 429 falls back to it).
        step: For a probe: how much it added (the next one adds twice as much, at most half the budget).
        setbacks: Probes that failed in a row (each doubles the wait before the next probe).
    """

    requests: int
    window: float = 60.0
    source: Source = Source.CONFIGURED
    key: str | None = None
    family: str | None = None
    revision: int = 0
    episode: float | None = None
    counted: int = 0
    recent: int = 0
    floor: int = 0
    step: int = 0
    setbacks: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, int) or self.requests < 1:
            raise ValueError(f"a rate budget allows a whole number of requests >= 1, not {self.requests!r}")
        if not (isinstance(self.window, (int, float)) and math.isfinite(self.window) and self.window > 0):
            raise ValueError(f"a rate budget's window is a finite number of seconds > 0, not {self.window!r}")

    @property
    def learned(self) -> bool:
        """Learned from the server (and so probed upward now and then), not configured."""
        return self.source is not Source.CONFIGURED

    def __str__(self) -> str:
        origin = self.source.value + (f" {self.key}" if self.key and self.source is Source.LIMIT else "")
        if self.source is Source.PROBING:
            origin += f" above {self.floor}"
        return f"{self.requests} requests per {self.window:g} s ({origin})"

    def to_dict(self) -> dict[str, Any]:
        """The budget as a JSON-ready dict (what stores keep)."""
        return {
            "requests": self.requests,
            "window": self.window,
            "source": self.source.name,
            "key": self.key,
            "family": self.family,
            "revision": self.revision,
            "episode": self.episode,
            "counted": self.counted,
            "recent": self.recent,
            "floor": self.floor,
            "step": self.step,
            "setbacks": self.setbacks,
        }

    @classmethod
    def from_dict(cls, raw: object) -> Budget:
        """Read :meth:`to_dict`'s output.

        Raises:
            ValueError: Not such a dict (the message says which field is wrong).
        """
        if not isinstance(raw, dict):
            raise ValueError("a stored budget is not an object")
        try:
            return cls(
                requests=_whole(raw["requests"], "requests"),
                window=float(raw["window"]),
                source=Source[raw["source"]],
                key=_text(raw.get("key")),
                family=_text(raw.get("family")),
                revision=_whole(raw.get("revision", 0), "revision"),
                episode=None if raw.get("episode") is None else float(raw["episode"]),
                counted=_whole(raw.get("counted", 0), "counted"),
                recent=_whole(raw.get("recent", 0), "recent"),
                floor=_whole(raw.get("floor", 0), "floor"),
                step=_whole(raw.get("step", 0), "step"),
                setbacks=_whole(raw.get("setbacks", 0), "setbacks"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a stored budget lacks or garbles {exc}") from None


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a stored budget's {name} is not a whole number >= 0")
    return value


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError("a stored budget's key or family is not text")


@dataclass(frozen=True)
class Rate:
    """A budget as the GCRA sees it: one slot every ``interval`` seconds, ``tolerance`` seconds early at most.

    ``Rate(0, 0)`` paces nothing; a lane with it only waits out a hold (the window a 429 ends).
    """

    interval: float
    tolerance: float = 0.0

    @classmethod
    def of(cls, budget: Budget, *, burst: int = 1, jitter: float = 0.0) -> Rate:
        """The GCRA parameters that keep ``budget`` in every window, whatever its alignment.

        With ``B = min(burst, requests)`` requests let through at once, a slot every
        ``(window + jitter) / (requests - B + 1)`` seconds and a tolerance of ``(B - 1)`` slots admit at most
        ``requests`` in any span of ``window + jitter`` seconds: so at most ``requests`` reach the server in any
        window even when their transit times differ by up to ``jitter`` seconds.
        """
        allowed = min(max(1, burst), budget.requests)
        interval = (budget.window + jitter) / (budget.requests - allowed + 1)
        return cls(interval, (allowed - 1) * interval)


HOLD = Rate(0.0, 0.0)


@dataclass(frozen=True)
class Told:
    """A 429 stated its limit: ``requests`` per ``window`` seconds."""

    requests: int
    window: float
    key: str | None
    family: str | None
    episode: float | None


@dataclass(frozen=True)
class Counted:
    """A 429 stated no rate: this process's requests answered since its window began, and in the length before."""

    count: int
    recent: int
    window: float
    key: str | None
    family: str | None
    episode: float | None


@dataclass(frozen=True)
class Probe:
    """Raise the budget of revision ``base`` to ``requests`` on trial (a raise of ``step``)."""

    base: int
    requests: int
    step: int


Event = Union[Told, Counted, Probe]


def apply(stored: Budget | None, event: Event) -> Budget | None:
    """The budget after ``event``: the one rule every store applies (see the module docstring)."""
    revision = (stored.revision if stored else 0) + 1
    if isinstance(event, Probe):
        if stored is None or stored.revision != event.base or event.requests <= stored.requests:
            return stored
        # A probe that follows a probe means the last one held: the failures in a row are over.
        setbacks = 0 if stored.source is Source.PROBING else stored.setbacks
        return replace(
            stored,
            requests=event.requests,
            source=Source.PROBING,
            revision=revision,
            floor=stored.requests,
            step=event.step,
            setbacks=setbacks,
            counted=0,
            recent=0,
        )
    # A 429 met while probing is a probe that failed: the next one waits longer.
    setbacks = 0 if stored is None else stored.setbacks + (stored.source is Source.PROBING)
    if isinstance(event, Told):
        if (
            stored is not None
            and stored.source is Source.LIMIT
            and stored.requests == event.requests
            and same_episode(stored.episode, event.episode)
        ):
            return stored  # another process's report of the same 429
        return Budget(
            event.requests,
            event.window,
            Source.LIMIT,
            key=event.key,
            family=event.family,
            revision=revision,
            episode=event.episode,
            setbacks=setbacks,
        )
    if stored is not None and stored.source is Source.LIMIT:
        return stored  # the server's stated limit stands; a count is only a lower bound of it
    if stored is not None and stored.source is Source.COUNT and same_episode(stored.episode, event.episode):
        counted, recent = stored.counted + event.count, stored.recent + event.recent
        requests = max(stored.floor, counted, recent // 2)
        return replace(stored, requests=requests, counted=counted, recent=recent, revision=revision)
    floor = stored.floor if stored is not None and stored.source is Source.PROBING else 0
    requests = max(floor, event.count, event.recent // 2)
    if requests < 1:
        return stored
    return Budget(
        requests,
        event.window,
        Source.COUNT,
        key=event.key,
        family=event.family,
        revision=revision,
        episode=event.episode,
        counted=event.count,
        recent=event.recent,
        floor=floor,
        setbacks=setbacks,
    )


def same_episode(one: float | None, other: float | None) -> bool:
    """Whether two window ends (server-clock seconds) are the same window."""
    return one is not None and other is not None and abs(one - other) <= EPISODE_TOLERANCE
