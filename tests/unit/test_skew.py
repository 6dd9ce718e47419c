"""ClockOffset and parse_http_date: learning the server clock from timestamps."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from email.utils import formatdate

import pytest

from genesys_auth_adapter.engine.skew import AGREEMENT, WARN_OFFSET, ClockOffset, parse_http_date

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


@pytest.mark.parametrize(
    "value",
    [
        "Tue, 01 Dec 2026 99:99:99 GMT",
        "Tue, 01 Dec 2026 24:00:00 GMT",
        "Tue, 01 Dec 2026 09:60:00 GMT",
        "Tue, 01 Dec 2026 09:41:61 GMT",
        "Tue, 32 Dec 2026 09:41:14 GMT",
        "Mon, 30 Feb 2026 09:41:14 GMT",
        "Tue, 01 Dec 2026 09:41:14 +9999",
        "Tue, 01 Dec 2026 09:41:14 -1500",
        "Tue, 01 Dec 99999 09:41:14 GMT",
    ],
)
def test_parse_http_date_rejects_impossible_times_instead_of_normalising_them(value: str) -> None:
    """Pins: "99:99:99" read as 04:40:39 the next day, a +99:99 zone as four days off."""
    assert parse_http_date(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 01 Dec 2026 23:59:60 GMT", datetime(2026, 12, 2, 0, 0, 0, tzinfo=timezone.utc)),
        ("Tue, 29 Feb 2028 09:41:14 GMT", datetime(2028, 2, 29, 9, 41, 14, tzinfo=timezone.utc)),
        ("Tue, 01 Dec 2026 23:41:14 +1400", datetime(2026, 12, 1, 9, 41, 14, tzinfo=timezone.utc)),
        ("Tue, 01 Dec 2026 00:00:00 -1200", datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)),
    ],
)
def test_parse_http_date_accepts_the_edges_of_the_possible(value: str, expected: datetime) -> None:
    """Pins: a leap second (read as the next minute's start), 29 February, and the widest real zones."""
    assert parse_http_date(value) == expected.timestamp()


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


def settled(true_offset: float, at: float = BASE) -> ClockOffset:
    """An estimator settled to a few milliseconds around ``true_offset`` by two samples either side of a tick."""
    offset = ClockOffset()
    tick = math.ceil(at + true_offset) - true_offset  # the local time at which the server's second changes
    sample(offset, true_offset, tick - 0.003, tick - 0.002)
    sample(offset, true_offset, tick + 0.002, tick + 0.003)
    estimate = offset.estimate
    assert estimate is not None and estimate.high - estimate.low < 0.01
    return offset


def test_a_wall_clock_step_re_anchors_the_estimate_once_samples_from_agreement_seconds_agree() -> None:
    """Pins: after an NTP step the new offset is taken from AGREEMENT agreeing samples, the old ones dropped."""
    offset = ClockOffset()
    sample(offset, 10.3, BASE, BASE + 0.1)
    sample(offset, 10.3, BASE + 60.5, BASE + 60.6)
    before = offset.estimate
    # The local clock was set back by an hour: the server now looks 3610.3 s ahead, on every response.
    for n in range(AGREEMENT - 1):
        sample(offset, 3610.3, BASE + 120 + n - 3600, BASE + 120.1 + n - 3600)
        assert offset.estimate == before
    sample(offset, 3610.3, BASE + 120 + AGREEMENT - 3600, BASE + 120.1 + AGREEMENT - 3600)
    estimate = offset.estimate
    assert estimate is not None
    assert estimate.low <= 3610.3 <= estimate.high
    assert estimate.uncertainty <= 0.6
    assert estimate.samples == AGREEMENT
    # Later samples build on the new anchor, not on the dropped ones.
    sample(offset, 3610.3, BASE + 180.45 - 3600, BASE + 180.5 - 3600)
    estimate = offset.estimate
    assert estimate is not None
    assert estimate.low <= 3610.3 <= estimate.high
    assert estimate.samples == AGREEMENT + 1


def test_one_stale_date_leaves_a_settled_estimate_unchanged() -> None:
    """Pins: a cached response with an hour-old Date threw away a settled estimate and took its -3600 s."""
    offset = settled(10.3)
    before = offset.estimate
    offset.observe_date_header(http_date(BASE - 3600), BASE + 5.0, BASE + 5.05)
    assert offset.estimate == before
    assert offset.server_time(BASE + 6) == pytest.approx(BASE + 6 + 10.3, abs=0.01)


def test_repeats_of_one_stale_date_do_not_count_as_agreement() -> None:
    """Pins: a cached page fetched again and again within a second looks like agreement but is one Date."""
    offset = settled(10.3)
    before = offset.estimate
    stale = http_date(BASE - 3600)
    for n in range(2 * AGREEMENT):
        sent = BASE + 5.0 + n * 0.05  # the repeats' intervals all overlap: only the stamp tells them apart
        offset.observe_date_header(stale, sent, sent + 0.01)
    assert offset.estimate == before


def test_contradicting_samples_that_disagree_with_each_other_do_not_re_anchor() -> None:
    """Pins: stray Dates from different sources (or a cached Date drifting away) replacing a good estimate."""
    offset = settled(10.3)
    before = offset.estimate
    stale = http_date(BASE - 3600)
    # The same cached Date seen once a second: each sample says the server is a second further behind,
    # so no two of them agree, however many there are.
    for n in range(3 * AGREEMENT):
        offset.observe_date_header(stale, BASE + 5.0 + 1.5 * n, BASE + 5.05 + 1.5 * n)
    # Strays with distinct offsets of their own.
    for n, stray in enumerate([-50.0, 400.0, -7000.0]):
        sample(offset, stray, BASE + 40 + n, BASE + 40.05 + n)
    assert offset.estimate == before


def test_a_sample_that_confirms_the_estimate_drops_the_samples_set_aside() -> None:
    """Pins: a proxy with its own wrong clock, answering now and then, re-anchoring the estimate to its clock.

    Its error pages agree with each other (a live clock 120 s off), but the API's responses between them
    agree with the estimate: those strays never gather AGREEMENT samples in a row.
    """
    offset = settled(10.3)
    before = offset.estimate
    for n in range(3 * AGREEMENT):
        sample(offset, 130.3, BASE + 10 + 2 * n, BASE + 10.05 + 2 * n)  # the proxy's error page
        sample(offset, 10.3, BASE + 11 + 2 * n, BASE + 11.05 + 2 * n)  # the API, agreeing with the estimate
    estimate = offset.estimate
    assert before is not None and estimate is not None
    assert before.low <= estimate.low <= 10.3 <= estimate.high <= before.high


def test_a_clock_step_is_followed_within_agreement_seconds_on_a_busy_session() -> None:
    """Pins: a real step is followed as soon as AGREEMENT server seconds have shown it, and not before.

    Ten responses a second, each going through wants() as the hooks do; the local clock is stepped back
    by 30 s at ``step``.
    """
    offset = settled(10.3)
    before = offset.estimate
    step = BASE + 20.25
    followed: tuple[float, str] | None = None
    for n in range(100):
        sent = BASE + 20.0 + n * 0.1  # true time
        local = sent - 30.0 if sent >= step else sent
        date = http_date(sent + 10.3)
        if not offset.wants(date):
            continue
        offset.observe_date_header(date, local, local + 0.02)
        if offset.estimate != before and followed is None:
            followed = (sent, date)
    estimate = offset.estimate
    assert estimate is not None and estimate.low <= 40.3 <= estimate.high
    assert followed is not None
    # The rest of the server second in which the clock was stepped was already sampled (wants() skips
    # it), so the first contradicting sample comes with the next second, and the AGREEMENT-th with the
    # first response of the AGREEMENT-th new second.
    followed_at, followed_date = followed
    assert followed_date == http_date(math.floor(step + 10.3) + AGREEMENT)
    assert followed_at - step <= AGREEMENT + 1


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
