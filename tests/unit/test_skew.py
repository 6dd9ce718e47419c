"""ClockOffset and parse_http_date: learning the server clock from timestamps."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import formatdate

import pytest

from genesys_auth_adapter.engine.skew import WARN_OFFSET, ClockOffset, parse_http_date

BASE = 1_700_000_000.0  # a whole second, so the Date headers below carry no rounding
SKEW_LOGGER = "genesys_auth_adapter.skew"


def http_date(seconds: float) -> str:
    """The RFC 7231 ``Date`` header a server whose clock reads ``seconds`` would send."""
    return formatdate(seconds, usegmt=True)


def sample(offset: ClockOffset, true_offset: float, sent: float, received: float) -> None:
    """Feed ``offset`` the Date header of a server ``true_offset`` seconds ahead, stamped mid-flight."""
    stamped_local = (sent + received) / 2
    offset.observe_date_header(http_date(stamped_local + true_offset), sent, received)


def warnings_from(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SKEW_LOGGER and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    "value",
    [
        "Fri, 01 Dec 2026 09:41:14 GMT",
        "Fri, 01 Dec 2026 10:41:14 +0100",
        "Friday, 01-Dec-26 09:41:14 GMT",
        "Fri Dec  1 09:41:14 2026",
    ],
)
def test_parse_http_date_reads_every_rfc_7231_form_and_zone(value: str) -> None:
    """Pins: IMF-fixdate, a numeric zone, RFC 850 and asctime dates all give the same instant."""
    expected = datetime(2026, 12, 1, 9, 41, 14, tzinfo=timezone.utc).timestamp()
    assert parse_http_date(value) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "0", "Fri, 99 Foo 2026 00:00:00 GMT"])
def test_parse_http_date_returns_none_for_garbage(value: str) -> None:
    """Pins: a bad Date header is not an exception on the hot path."""
    assert parse_http_date(value) is None


def test_estimate_is_none_before_any_sample() -> None:
    """Pins: no sample means no estimate, and server_time is the local time unchanged."""
    offset = ClockOffset()
    assert offset.estimate is None
    assert offset.server_time(BASE) == BASE


def test_one_date_sample_gives_the_interval_d_minus_t1_to_d_plus_1_minus_t0() -> None:
    """Pins the interval maths: Date D, sent t0, received t1 give server-local in [D - t1, D + 1 - t0]."""
    date = BASE + 3600.0
    t0, t1 = BASE - 0.25, BASE + 0.5
    offset = ClockOffset()
    offset.observe_date_header(http_date(date), t0, t1)
    estimate = offset.estimate
    assert estimate is not None
    assert estimate.low == pytest.approx(date - t1)
    assert estimate.high == pytest.approx(date + 1 - t0)
    assert estimate.offset == pytest.approx((date - t1 + date + 1 - t0) / 2)
    assert estimate.uncertainty == pytest.approx((1 + t1 - t0) / 2)
    assert estimate.samples == 1
    assert offset.server_time(BASE + 10) == pytest.approx(BASE + 10 + estimate.offset)


def test_several_samples_narrow_the_estimate_around_the_true_offset() -> None:
    """Pins: intervals are intersected, so uncertainty shrinks and the truth stays inside."""
    true_offset = 10.3
    offset = ClockOffset()
    widths = []
    for sent, received in [(BASE, BASE + 2.0), (BASE + 1000.5, BASE + 1000.6), (BASE + 2000.9, BASE + 2001.0)]:
        sample(offset, true_offset, sent, received)
        estimate = offset.estimate
        assert estimate is not None
        assert estimate.low <= true_offset <= estimate.high
        widths.append(estimate.uncertainty)
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.5  # below the one-second resolution of a single Date header
    assert offset.estimate is not None and offset.estimate.samples == 3


def test_a_wall_clock_step_re_anchors_the_estimate_to_the_new_offset() -> None:
    """Pins: after an NTP step the newest sample wins; older contradicting samples are dropped."""
    offset = ClockOffset()
    sample(offset, 10.3, BASE, BASE + 0.1)
    sample(offset, 10.3, BASE + 60, BASE + 60.1)
    # The local clock was set back by an hour: the server now looks 3610.3 s ahead.
    sample(offset, 3610.3, BASE + 120 - 3600, BASE + 120.1 - 3600)
    estimate = offset.estimate
    assert estimate is not None
    assert estimate.low <= 3610.3 <= estimate.high
    assert estimate.uncertainty <= 0.6
    assert estimate.samples == 1
    # Later samples build on the new anchor, not on the dropped ones.
    sample(offset, 3610.3, BASE + 180.45 - 3600, BASE + 180.5 - 3600)
    estimate = offset.estimate
    assert estimate is not None
    assert estimate.low <= 3610.3 <= estimate.high
    assert estimate.samples == 2


def test_a_wide_sample_that_contains_the_estimate_changes_nothing() -> None:
    """Pins: a slow round trip adds no information and must not widen the estimate."""
    offset = ClockOffset()
    sample(offset, 10.3, BASE, BASE + 0.1)
    before = offset.estimate
    sample(offset, 10.3, BASE + 100, BASE + 130)
    assert offset.estimate == before


@pytest.mark.parametrize("value", [None, "", "not a date"])
def test_missing_or_unparsable_date_headers_are_ignored(value: str | None) -> None:
    """Pins: a missing or garbled Date header neither raises nor creates an estimate."""
    offset = ClockOffset()
    offset.observe_date_header(value, BASE, BASE + 0.1)
    assert offset.estimate is None


def test_a_sample_received_before_it_was_sent_is_ignored() -> None:
    """Pins: a wall-clock step during a request (t1 < t0) cannot poison the estimate."""
    offset = ClockOffset()
    offset.observe_date_header(http_date(BASE), BASE + 5, BASE)
    assert offset.estimate is None


@pytest.mark.parametrize("true_offset", [WARN_OFFSET + 820, -(WARN_OFFSET + 820)])
def test_a_large_offset_is_logged_as_a_warning_exactly_once(
    caplog: pytest.LogCaptureFixture, true_offset: float
) -> None:
    """Pins: a badly set local clock is reported once, not on every response."""
    caplog.set_level(logging.DEBUG, logger=SKEW_LOGGER)
    offset = ClockOffset()
    for sent, received in [(BASE, BASE + 2.0), (BASE + 10.5, BASE + 10.6), (BASE + 20.9, BASE + 21.0)]:
        sample(offset, true_offset, sent, received)
    assert offset.estimate is not None and offset.estimate.samples == 3
    assert len(warnings_from(caplog)) == 1


def test_an_offset_below_the_warning_threshold_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Pins: ordinary skew (here 100 s, below WARN_OFFSET) is tracked silently."""
    caplog.set_level(logging.DEBUG, logger=SKEW_LOGGER)
    offset = ClockOffset()
    sample(offset, WARN_OFFSET - 80, BASE, BASE + 0.2)
    sample(offset, -(WARN_OFFSET - 80), BASE + 30, BASE + 30.2)
    assert offset.estimate is not None
    assert warnings_from(caplog) == []


def test_a_settled_estimate_skips_responses_within_the_same_server_second() -> None:
    """Pins: sampling every response on a busy session although only a new second can change a settled estimate."""
    offset = ClockOffset()
    date = http_date(BASE)
    assert offset.wants(date)  # nothing known yet
    offset.observe_date_header(date, BASE + 0.999, BASE + 0.9995)  # just before the server's second ticks
    offset.observe_date_header(http_date(BASE + 1), BASE + 1.0, BASE + 1.0005)  # just after it
    estimate = offset.estimate
    assert estimate is not None and estimate.high - estimate.low < 0.01
    assert not offset.wants(http_date(BASE + 1))  # the same second again: skipped
    assert offset.wants(http_date(BASE + 2))  # a new second: sampled (a clock step shows up here)


def test_samples_that_would_narrow_by_less_than_a_millisecond_change_nothing() -> None:
    offset = ClockOffset()
    offset.observe(BASE, 1.0, BASE - 0.5, BASE - 0.4)
    before = offset.estimate
    assert before is not None
    offset.observe(BASE, 1.0, BASE - 0.5002, BASE - 0.4002)  # 0.2 ms tighter at most
    assert offset.estimate == before
