"""Estimating the offset between the local wall clock and the Genesys server clock.

Each server timestamp gives an interval, not a point: a ``Date`` header of ``D`` (whole seconds) on a
response to a request sent at local time ``t0`` and received at ``t1`` was stamped at a server time in
``[D, D + 1)`` and a local time in ``[t0, t1]``, so ``server - local`` lies in ``[D - t1, D + 1 - t0]``.
A short round trip gives a narrow interval. Intersecting the intervals of several samples pins the
offset far below one second. When the newest sample contradicts older ones (the local clock was
stepped), the older ones are dropped.
"""

from __future__ import annotations

import logging
import threading
from calendar import timegm
from dataclasses import dataclass
from email.utils import parsedate_tz

_log = logging.getLogger("genesys_auth_adapter.skew")

#: Offsets larger than this (seconds) are logged once as a warning.
WARN_OFFSET = 180.0
_MAX_SAMPLES = 16


@dataclass(frozen=True)
class OffsetEstimate:
    """The estimated ``server - local`` clock offset.

    Attributes:
        offset: Best estimate in seconds; positive when the server clock is ahead of the local one.
        uncertainty: Half-width of the interval the true offset lies in, in seconds.
        samples: How many samples the estimate rests on.
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

    @property
    def width(self) -> float:
        return self.high - self.low


def parse_http_date(value: str) -> float | None:
    """Parse an RFC 7231 date (``Tue, 01 Dec 2026 09:41:14 GMT``) into Unix seconds, or None."""
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    # parsedate_tz gives a 10-tuple whose last item is the zone offset in seconds.
    year, month, day, hour, minute, second = parsed[:6]
    zone = parsed[9] or 0
    try:
        return float(timegm((year, month, day, hour, minute, second, 0, 1, 0)) - zone)
    except (OverflowError, ValueError):
        return None


class ClockOffset:
    """Thread-safe estimator of the server clock offset from timestamped samples."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[_Interval] = []
        self._estimate: OffsetEstimate | None = None
        self._warned = False
        self._last_date: tuple[str, float | None] = ("", None)

    @property
    def estimate(self) -> OffsetEstimate | None:
        """The current estimate, or None before the first sample."""
        return self._estimate

    def server_time(self, local_wall: float) -> float:
        """Translate a local wall-clock reading into server time (unchanged before any sample)."""
        estimate = self._estimate
        return local_wall + (estimate.offset if estimate else 0.0)

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
        sample = _Interval(server - received_wall, server + resolution - sent_wall)
        current = self._estimate
        # A sample that contains the current interval adds nothing and contradicts nothing: the
        # common case on a busy session, kept free of the lock.
        if current is not None and sample.low <= current.low and sample.high >= current.high:
            return
        with self._lock:
            self._add(sample)
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

    def _add(self, sample: _Interval) -> None:
        kept = [sample]
        low, high = sample.low, sample.high
        for older in sorted(self._samples, key=lambda s: s.width):
            new_low, new_high = max(low, older.low), min(high, older.high)
            if new_low <= new_high:
                low, high = new_low, new_high
                kept.append(older)
            # An older sample that contradicts the newest one predates a clock step: drop it.
        # Keep the narrowest samples: they carry the information.
        kept = [sample, *sorted(kept[1:], key=lambda s: s.width)[: _MAX_SAMPLES - 1]]
        self._samples = kept
        self._estimate = OffsetEstimate((low + high) / 2, (high - low) / 2, len(kept))
