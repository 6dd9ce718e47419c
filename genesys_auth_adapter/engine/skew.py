"""Estimating the offset between the local wall clock and the Genesys server clock.

Each server timestamp gives an interval, not a point: a ``Date`` header of ``D`` (whole seconds) on a
response to a request sent at local time ``t0`` and received at ``t1`` was stamped at a server time in
``[D, D + 1)`` and a local time in ``[t0, t1]``, so ``server - local`` lies in ``[D - t1, D + 1 - t0]``.
A short round trip gives a narrow interval. Intersecting the intervals of several samples, taken at
different points of the server's second, pins the offset far below one second; two samples, the one
with the highest lower bound and the one with the lowest upper bound, carry that intersection.

A sample that contradicts the estimate (its interval misses the intersection) is either a stray (a
proxy's error page, a cached response with an old ``Date``) or the first sign of a clock step. It is
set aside, not trusted: the estimate is replaced only once samples stamped in ``AGREEMENT`` different
server seconds contradict it and agree with each other, as a stepped clock does on every later
response while a cached ``Date`` drifts away from itself second by second. A sample that agrees with
the estimate and not with the samples set aside shows they were strays, and they are dropped. A busy
session samples every new server second, so a real step is followed within about ``AGREEMENT``
seconds. Samples that agree with the estimate and would narrow it by less than a millisecond are
checked with a few comparisons and no lock while nothing is set aside.
"""

from __future__ import annotations

import logging
import threading
from calendar import monthrange, timegm
from dataclasses import dataclass
from email.utils import parsedate_tz

_log = logging.getLogger("genesys_auth_adapter.skew")

#: Offsets larger than this (seconds) are logged once as a warning.
WARN_OFFSET = 180.0
#: A sample that narrows the estimate by less than this (seconds) is skipped, so a busy session rarely
#: takes the lock; a sample that contradicts the estimate (a clock step) is never skipped.
MIN_GAIN = 0.001
#: Contradicting samples from this many different server seconds, agreeing with each other, replace the
#: estimate (a clock step); fewer are set aside as strays.
AGREEMENT = 3
#: The furthest a real time zone lies from UTC (UTC+14, Kiribati), in seconds.
_MAX_ZONE = 14 * 3600
#: An estimate narrower than this (seconds) is settled: only a new server second can still change it.
_SETTLED = 0.01


@dataclass(frozen=True)
class OffsetEstimate:
    """The estimated ``server - local`` clock offset.

    Attributes:
        offset: Best estimate in seconds; positive when the server clock is ahead of the local one.
        uncertainty: Half-width of the interval the true offset lies in, in seconds.
        samples: How many samples narrowed the estimate since it was last anchored.
    """

    offset: float
    uncertainty: float
    samples: int

    @property
    def low(self) -> float:
        return self.offset - self.uncertainty

    @property
    def high(self) -> float:
        return self.offset + self.uncertainty


@dataclass(frozen=True)
class _Interval:
    low: float
    high: float


# An intersection of intervals, carried by the sample with the highest lower bound and the one with
# the lowest upper bound.
_Pair = tuple[_Interval, _Interval]


def _misses(sample: _Interval, pair: _Pair) -> bool:
    """Whether ``sample`` contradicts the intersection ``pair`` carries."""
    return sample.high < pair[0].low or sample.low > pair[1].high


def _narrowed(pair: _Pair, sample: _Interval) -> _Pair:
    """The pair carrying the intersection of ``pair``'s and ``sample``, which must not miss it."""
    return (sample if sample.low > pair[0].low else pair[0], sample if sample.high < pair[1].high else pair[1])


@dataclass(frozen=True)
class _SetAside:
    """Samples that contradict the estimate and agree with each other: strays or a clock step."""

    pair: _Pair
    count: int
    stamps: frozenset[float]  # the server timestamps they carry


def parse_http_date(value: str) -> float | None:
    """Parse an RFC 7231 date (``Tue, 01 Dec 2026 09:41:14 GMT``) into Unix seconds, or None.

    Impossible dates give None rather than being normalised into another instant: an hour of 24 or
    more, a minute of 60 or more, a second above 60, a day the month does not have, a month outside
    1-12, a year outside 1-9999, or a zone further than 14 hours from UTC. A second of 60 (a leap
    second, which RFC 5322 allows) is read as the first instant of the next minute, as POSIX time has
    no leap seconds.
    """
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    # parsedate_tz gives a 10-tuple whose last item is the zone offset in seconds; it checks none of
    # the fields' ranges, and timegm would turn "99:99:99" into a time on the next day.
    year, month, day, hour, minute, second = parsed[:6]
    zone = parsed[9] or 0
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second <= 60):
        return None
    if not 1 <= day <= monthrange(year, month)[1] or abs(zone) > _MAX_ZONE:
        return None
    return float(timegm((year, month, day, hour, minute, second, 0, 1, 0)) - zone)


class ClockOffset:
    """Thread-safe estimator of the server clock offset from timestamped samples."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tightest: _Pair | None = None
        self._count = 0
        self._set_aside: _SetAside | None = None
        self._estimate: OffsetEstimate | None = None
        self._bounds: tuple[float, float] | None = None  # the estimate's interval, read without the lock
        self._warned = False
        self._last_date: tuple[str, float | None] = ("", None)

    @property
    def estimate(self) -> OffsetEstimate | None:
        """The current estimate, or None before the first sample."""
        return self._estimate

    def after_fork_in_child(self) -> None:
        """A forked child keeps the estimate (the clocks are the same) but not a lock held in the parent."""
        self._lock = threading.Lock()

    def server_time(self, local_wall: float) -> float:
        """Translate a local wall-clock reading into server time (unchanged before any sample)."""
        estimate = self._estimate
        return local_wall + (estimate.offset if estimate else 0.0)

    def wants(self, value: str) -> bool:
        """Whether a response with this ``Date`` header is worth a sample, decided before any clock read.

        Once the estimate is good to a few milliseconds, further responses within the same server
        second cannot improve it; the first response of each new second is still sampled, so a clock
        step is noticed within a second (and followed once ``AGREEMENT`` seconds have shown it).
        """
        bounds = self._bounds
        return not (value == self._last_date[0] and bounds is not None and bounds[1] - bounds[0] < _SETTLED)

    def observe_date_header(self, value: str | None, sent_wall: float, received_wall: float) -> None:
        """Add a sample from an HTTP ``Date`` header.

        Args:
            value: The header value; None or an unparsable value is ignored.
            sent_wall: Local wall time just before the request was sent.
            received_wall: Local wall time just after the response headers arrived.
        """
        if not value:
            return
        last_value, last_parsed = self._last_date
        if value == last_value:
            server = last_parsed
        else:
            server = parse_http_date(value)
            self._last_date = (value, server)
        if server is not None:
            self.observe(server, 1.0, sent_wall, received_wall)

    def observe(self, server: float, resolution: float, sent_wall: float, received_wall: float) -> None:
        """Add a sample: a server timestamp taken between two local wall-clock readings.

        Args:
            server: The server timestamp, truncated to ``resolution`` seconds.
            resolution: How coarse the server timestamp is (1.0 for HTTP dates and JWT claims).
            sent_wall: Local wall time before the request left.
            received_wall: Local wall time after the answer arrived.
        """
        if received_wall < sent_wall:
            return
        low, high = server - received_wall, server + resolution - sent_wall
        bounds = self._bounds
        if bounds is not None and self._set_aside is None:
            # A sample that agrees with the estimate and would narrow it by less than MIN_GAIN is not
            # worth the lock: the common case on a busy session, decided with a few comparisons.
            new_low, new_high = max(low, bounds[0]), min(high, bounds[1])
            if new_low <= new_high and (bounds[1] - bounds[0]) - (new_high - new_low) < MIN_GAIN:
                return
        with self._lock:
            self._add(_Interval(low, high), server)
            estimate = self._estimate
            warn = estimate is not None and abs(estimate.offset) > WARN_OFFSET and not self._warned
            if warn:
                self._warned = True
        if warn and estimate is not None:
            _log.warning(
                "The local clock is %.0f seconds %s the Genesys server clock; token expiry is tracked "
                "on the monotonic clock and is unaffected, but fix the local clock (NTP) for correct "
                "timestamps.",
                abs(estimate.offset),
                "behind" if estimate.offset > 0 else "ahead of",
            )

    def _add(self, sample: _Interval, stamp: float) -> None:
        # The estimate is the intersection of all samples since the last clock step, and an
        # intersection is fixed by two samples: the one with the highest lower bound and the one
        # with the lowest upper bound. Those are the best samples, and the only ones kept.
        tightest = self._tightest
        if tightest is None:
            self._keep((sample, sample), 1)
        elif _misses(sample, tightest):
            self._contradicted_by(sample, stamp)
        else:
            aside = self._set_aside
            if aside is not None and _misses(sample, aside.pair):
                self._set_aside = None  # the estimate holds: what was set aside were strays
            self._keep(_narrowed(tightest, sample), self._count + 1)

    def _contradicted_by(self, sample: _Interval, stamp: float) -> None:
        aside = self._set_aside
        if aside is None or _misses(sample, aside.pair):
            aside = _SetAside((sample, sample), 1, frozenset((stamp,)))
        else:
            aside = _SetAside(_narrowed(aside.pair, sample), aside.count + 1, aside.stamps | {stamp})
        if len(aside.stamps) < AGREEMENT:
            self._set_aside = aside
            return
        # Agreeing samples from several server seconds: the clock was stepped (the local one, or the
        # server's), so the older samples describe another offset.
        before = self._estimate
        self._set_aside = None
        self._keep(aside.pair, aside.count)
        after = self._estimate
        if before is not None and after is not None:
            _log.info(
                "The server clock offset moved from %+.3f s to %+.3f s (%d samples agree); a clock was stepped.",
                before.offset,
                after.offset,
                aside.count,
            )

    def _keep(self, tightest: _Pair, count: int) -> None:
        self._tightest = tightest
        self._count = count
        low, high = tightest[0].low, tightest[1].high
        self._estimate = OffsetEstimate((low + high) / 2, (high - low) / 2, count)
        self._bounds = (low, high)
