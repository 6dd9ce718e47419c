"""Budgets as values and the one rule that combines what a fleet learns (engine/budget.py)."""

from __future__ import annotations

import bisect
import json
from dataclasses import replace

import pytest

from genesys_auth_adapter.engine.budget import (
    EPISODE_TOLERANCE,
    Budget,
    Counted,
    Probe,
    Rate,
    Source,
    Told,
    apply,
)
from genesys_auth_adapter.engine.gcra import Lane, reserve

KEY = "client.credentials.token.rate.per.minute"
END = 1_700_000_060.0  # when the window of the episode ends, on the server's clock


def told(requests: int, episode: float = END) -> Told:
    return Told(requests, 60.0, KEY, None, episode)


def counted(count: int, recent: int = 0, episode: float = END) -> Counted:
    return Counted(count, recent, 60.0, None, None, episode)


@pytest.mark.parametrize("requests", [0, -1, 1.5, True, "300", None])
def test_a_budget_refuses_a_count_that_is_not_a_whole_number_of_requests(requests: object) -> None:
    with pytest.raises(ValueError, match="whole number of requests >= 1"):
        Budget(requests)  # type: ignore[arg-type]


@pytest.mark.parametrize("window", [0, -60, float("inf"), float("nan"), "60"])
def test_a_budget_refuses_a_window_that_is_not_a_finite_positive_number(window: object) -> None:
    with pytest.raises(ValueError, match="finite number of seconds > 0"):
        Budget(300, window)  # type: ignore[arg-type]


def test_a_budget_says_what_it_allows_and_where_it_came_from() -> None:
    assert str(Budget(300)) == "300 requests per 60 s (configured)"
    assert str(Budget(300, source=Source.LIMIT, key=KEY)) == f"300 requests per 60 s (learned from limit {KEY})"
    assert str(Budget(120, source=Source.COUNT)) == "120 requests per 60 s (learned from count)"
    assert str(Budget(360, source=Source.PROBING, floor=300)) == "360 requests per 60 s (probing above 300)"


def test_a_budget_goes_through_json_and_back_unchanged() -> None:
    budget = Budget(
        360, 60.0, Source.PROBING, KEY, "users", revision=7, episode=END, counted=3, recent=4, floor=300, step=60
    )
    assert Budget.from_dict(json.loads(json.dumps(budget.to_dict()))) == budget


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"window": 60, "source": "LIMIT"},
        {"requests": 300, "window": 60, "source": "NOPE"},
        {"requests": "300", "window": 60, "source": "LIMIT"},
        {"requests": 300, "window": 60, "source": "LIMIT", "revision": -1},
        {"requests": 300, "window": 60, "source": "LIMIT", "key": 5},
    ],
)
def test_a_stored_budget_that_is_not_one_is_a_value_error(raw: object) -> None:
    with pytest.raises(ValueError, match="stored budget"):
        Budget.from_dict(raw)


@pytest.mark.parametrize(
    ("requests", "burst", "jitter"), [(300, 1, 1.0), (300, 30, 1.0), (5, 1, 0.0), (5, 5, 0.0), (7, 3, 0.5)]
)
def test_a_rate_admits_at_most_the_budget_in_any_window_even_with_transit_jitter(
    requests: int, burst: int, jitter: float
) -> None:
    rate = Rate.of(Budget(requests, 60.0), burst=burst, jitter=jitter)
    # The densest schedule the GCRA allows: everyone asks at once, each takes the next slot.
    lane, state, slots = Lane("t.x", rate, 60.0), None, []
    for _ in range(3 * requests):
        slot = reserve(0.0, [state], [lane], max_wait=1e9)
        assert slot.states is not None
        state = slot.states[0]
        slots.append(slot.at)
    span = 60.0 + jitter - 1e-9  # a window that ends a rounding error short of the next slot
    most = max(bisect.bisect_left(slots, start + span) - i for i, start in enumerate(slots))
    assert most == requests
    assert rate.tolerance == pytest.approx((min(burst, requests) - 1) * rate.interval)


def test_a_stated_limit_replaces_whatever_was_known() -> None:
    learned = apply(Budget(500, source=Source.COUNT, revision=3), told(300))
    assert learned == Budget(300, 60.0, Source.LIMIT, KEY, revision=4, episode=END)


def test_the_same_429_reported_by_several_processes_changes_nothing() -> None:
    first = apply(None, told(300))
    assert apply(first, told(300, END + EPISODE_TOLERANCE / 2)) is first


def test_counts_of_one_window_add_up_across_a_fleet_and_a_new_window_starts_over() -> None:
    one = apply(None, counted(100))
    two = apply(one, counted(120, episode=END + 1))  # another process, the same window (Retry-After rounding)
    assert two is not None and (two.requests, two.counted, two.revision) == (220, 220, 2)
    later = apply(two, counted(150, episode=END + 60))
    assert later is not None and (later.requests, later.counted, later.revision) == (150, 150, 3)


def test_a_count_is_never_more_than_the_server_allowed_half_the_recent_count_being_a_floor() -> None:
    # Dense bursts: too few since the window's uncertain start, but 300 answered in the 60 s before the 429,
    # which a limiter with fixed windows may have split over two windows: at least 150 per window.
    learned = apply(None, counted(2, recent=300))
    assert learned is not None and learned.requests == 150
    # Two processes: the sums are halved, never each process's share (1.5x the limit otherwise).
    fleet = apply(apply(None, counted(300, recent=300)), counted(0, recent=300))
    assert fleet is not None and fleet.requests == 300


def test_a_count_with_nothing_in_it_teaches_nothing() -> None:
    assert apply(None, counted(0, recent=1)) is None
    known = Budget(300, source=Source.COUNT, revision=2)
    assert apply(known, counted(0, recent=1)) is known


def test_a_count_never_overrides_a_stated_limit() -> None:
    limit = apply(None, told(300))
    assert apply(limit, counted(50)) is limit


def test_a_probe_applies_only_to_the_revision_it_was_computed_from() -> None:
    limit = apply(None, told(300))
    assert limit is not None
    raised = apply(limit, Probe(limit.revision, 360, 60))
    assert raised is not None
    assert (raised.requests, raised.source, raised.floor, raised.step) == (360, Source.PROBING, 300, 60)
    assert apply(raised, Probe(limit.revision, 420, 60)) is raised  # another process's, from the old revision
    assert apply(None, Probe(0, 360, 60)) is None
    assert apply(limit, Probe(limit.revision, 300, 0)) is limit  # not a raise


def test_a_429_while_probing_falls_back_to_the_budget_that_held_and_counts_a_setback() -> None:
    limit = apply(None, told(300))
    assert limit is not None
    probing = apply(limit, Probe(limit.revision, 360, 60))
    fallback = apply(probing, counted(40, episode=END + 120))  # a 429 without a limit object
    assert fallback is not None
    assert (fallback.requests, fallback.source, fallback.setbacks) == (300, Source.COUNT, 1)
    stated = apply(probing, told(330, episode=END + 120))  # a 429 that states the limit
    assert stated is not None and (stated.requests, stated.setbacks) == (330, 1)


def test_a_probe_that_follows_a_probe_that_held_clears_the_setbacks() -> None:
    probing = Budget(360, source=Source.PROBING, floor=300, step=60, setbacks=2, revision=5)
    again = apply(probing, Probe(5, 480, 120))
    assert again is not None and (again.floor, again.setbacks) == (360, 0)
    from_limit = apply(replace(probing, source=Source.LIMIT), Probe(5, 432, 72))
    assert from_limit is not None and from_limit.setbacks == 2
