"""The pacer on an injected clock: learning from 429s, pacing, probing up, sharing, the budget error."""

from __future__ import annotations

import math

import pytest

from genesys_auth_adapter.engine.budget import HOLD, Budget, Counted, Rate, Source, Told
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.gcra import Lesson, LocalBudgets
from genesys_auth_adapter.engine.limits import fingerprint, limit_lane
from genesys_auth_adapter.engine.pacer import TOKEN_BUDGET, Pacer
from genesys_auth_adapter.engine.pacing import PacingPolicy
from genesys_auth_adapter.engine.retry import Outcome

from .pacing_sim import AUTH, PATH, TOKEN_KEY, Server, client, fleet, run, throttle_body

ANALYTICS = "/api/v2/analytics/conversations/details/query"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall=1_700_000_000.0, monotonic=1000.0)


def throttle(clock: ManualClock, retry_after: float | None, limit: int | None = None, key: str = TOKEN_KEY) -> Outcome:
    wall = clock.wall()
    return Outcome(
        status=429,
        retry_after=None if retry_after is None else str(retry_after),
        body=throttle_body(limit, key) if limit is not None else throttle_body(None),
        sent_wall=wall,
        received_wall=wall,
    )


def test_nothing_is_paced_before_a_429_and_without_a_configured_budget(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    for _ in range(1000):
        pacer.answered(AUTH, clock.wall())
        assert pacer.plan(AUTH, PATH, clock.monotonic()) is None
        clock.advance(0.001)
    assert not pacer.engaged


def test_a_configured_budget_paces_from_the_first_request_and_is_never_probed(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=300))
    lanes = pacer.plan(AUTH, PATH, clock.monotonic())
    assert lanes is not None and len(lanes) == 1
    assert lanes[0].rate == Rate.of(Budget(300), jitter=1.0)
    assert lanes[0].name == f"t.{fingerprint(AUTH)}"
    assert "300 requests per 60 s (configured)" in lanes[0].cause
    sim = client(clock, budget=300)
    run([sim], Server(300), clock, clock.wall() + 1800)
    assert sim.throttled == []
    assert sim.pacer.budget() == Budget(300)


def test_a_429_stating_the_tokens_limit_teaches_it_and_holds_the_token_until_its_window_ends(
    clock: ManualClock,
) -> None:
    pacer = Pacer(clock)
    lesson = pacer.throttled(AUTH, PATH, throttle(clock, 42, limit=300), now=clock.monotonic(), server_now=clock.wall())
    print_ = fingerprint(AUTH)
    assert [(hold.lane, hold.seconds) for hold in lesson.holds] == [(f"t.{print_}", 42.0)]
    assert lesson.events == ((TOKEN_BUDGET, Told(300, 60.0, TOKEN_KEY, None, clock.wall() + 42)),)
    assert "client.credentials.token.rate.per.minute=300" in lesson.cause
    pacer.learned(pacer.local.learn(pacer.scope, lesson), clock.monotonic())
    budget = pacer.budget()
    assert budget is not None and (budget.requests, budget.source) == (300, Source.LIMIT)
    lanes = pacer.plan(AUTH, PATH, clock.monotonic())
    assert lanes is not None
    reservation = pacer.local.reserve(pacer.scope, lanes, max_wait=60)
    assert reservation.wait == pytest.approx(42.0)
    assert pacer.explain(lanes, reservation) == (
        f"waiting 42.00 s for a slot on token {print_}, paced at 300 requests per 60 s (learned from limit {TOKEN_KEY})"
    )


def test_a_429_without_a_limit_teaches_the_count_answered_in_the_window_it_ends(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    start = clock.wall()
    for _ in range(50):  # 4 answered per second for 50 s, then a 429 that says "10 s left"
        for _ in range(4):
            pacer.answered(AUTH, clock.wall())
            clock.advance(0.25)
    assert clock.wall() == start + 50
    lesson = pacer.throttled(AUTH, PATH, throttle(clock, 10), now=clock.monotonic(), server_now=clock.wall())
    # The window ends at start + 60: it began at start; the first count_margin (1 s) is left out.
    assert lesson.events == ((TOKEN_BUDGET, Counted(196, 200, 60.0, None, None, start + 60)),)


def test_the_429s_of_one_window_report_their_count_once(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    for _ in range(100):
        pacer.answered(AUTH, clock.wall())
        clock.advance(0.1)
    first = pacer.throttled(AUTH, PATH, throttle(clock, 50), now=clock.monotonic(), server_now=clock.wall())
    clock.advance(1.0)
    second = pacer.throttled(AUTH, PATH, throttle(clock, 49), now=clock.monotonic(), server_now=clock.wall())
    assert len(first.events) == 1
    assert second.events == () and len(second.holds) == 1  # held all the same


def test_a_429_with_nothing_answered_to_count_holds_but_teaches_nothing(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    lesson = pacer.throttled(AUTH, PATH, throttle(clock, 30), now=clock.monotonic(), server_now=clock.wall())
    assert lesson.events == ()
    pacer.learned(pacer.local.learn(pacer.scope, lesson), clock.monotonic())
    lanes = pacer.plan(AUTH, PATH, clock.monotonic())
    assert lanes is not None and lanes[0].rate == HOLD  # held, not paced
    assert pacer.local.reserve(pacer.scope, lanes, max_wait=60).wait == pytest.approx(30.0)
    clock.advance(30.0)
    assert pacer.plan(AUTH, PATH, clock.monotonic()) is None  # the hold is over: nothing to pace by


def test_another_limit_paces_only_its_endpoint_family_not_the_token(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    outcome = throttle(clock, 20, limit=12, key="analytics.details.query.rate.per.minute")
    lesson = pacer.throttled(AUTH, ANALYTICS, outcome, now=clock.monotonic(), server_now=clock.wall())
    lane = limit_lane("analytics.details.query.rate.per.minute", "analytics/conversations/details/query")
    assert [hold.lane for hold in lesson.holds] == [lane]
    assert [name for name, _ in lesson.events] == [lane]
    pacer.learned(pacer.local.learn(pacer.scope, lesson), clock.monotonic())
    assert pacer.plan(AUTH, "/api/v2/users", clock.monotonic()) is None  # other families go at once
    lanes = pacer.plan(AUTH, ANALYTICS + "?x=1", clock.monotonic())
    assert lanes is not None and [x.name for x in lanes] == [lane]
    assert lanes[0].rate == Rate.of(Budget(12), jitter=1.0)
    assert "limit analytics.details.query.rate.per.minute on analytics/conversations/details/query" in lanes[0].cause
    assert pacer.budget() is None  # the token learned nothing


def test_another_limit_without_a_rate_holds_its_family_until_its_window_ends(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    outcome = throttle(clock, 15, limit=5, key="analytics.concurrent.jobs")
    lesson = pacer.throttled(AUTH, ANALYTICS, outcome, now=clock.monotonic(), server_now=clock.wall())
    assert lesson.events == () and len(lesson.holds) == 1
    pacer.learned(pacer.local.learn(pacer.scope, lesson), clock.monotonic())
    lanes = pacer.plan(AUTH, ANALYTICS, clock.monotonic())
    assert lanes is not None and lanes[0].rate == HOLD
    clock.advance(15.0)
    assert pacer.plan(AUTH, ANALYTICS, clock.monotonic()) is None


def test_a_new_token_shares_the_budget_but_not_the_old_tokens_hold(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    lesson = pacer.throttled(AUTH, PATH, throttle(clock, 40, limit=300), now=clock.monotonic(), server_now=clock.wall())
    pacer.learned(pacer.local.learn(pacer.scope, lesson), clock.monotonic())
    lanes = pacer.plan("Bearer a-new-token", PATH, clock.monotonic())
    assert lanes is not None and lanes[0].name == f"t.{fingerprint('a-new-token')}"
    assert lanes[0].rate == Rate.of(Budget(300), jitter=1.0)
    assert pacer.local.reserve(pacer.scope, lanes, max_wait=60).wait == 0.0


def test_budgets_the_fleet_learned_are_adopted_and_older_reports_ignored(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    newer = Budget(250, source=Source.LIMIT, revision=4)
    pacer.adopt({TOKEN_BUDGET: newer}, clock.monotonic())
    assert pacer.engaged and pacer.budget() == newer
    pacer.adopt({TOKEN_BUDGET: Budget(400, source=Source.LIMIT, revision=3)}, clock.monotonic())  # a late answer
    assert pacer.budget() == newer
    family = Budget(10, source=Source.LIMIT, key="user.rate.per.minute", family="users", revision=1)
    pacer.adopt({limit_lane("user.rate.per.minute", "users"): family}, clock.monotonic())
    lanes = pacer.plan(AUTH, "/api/v2/users", clock.monotonic())
    assert lanes is not None and len(lanes) == 2  # the token, and the limit another process met on /users


def test_a_refused_reservation_says_which_budget_and_how_long(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=60, window=60.0, jitter=0.0))
    lanes = pacer.plan(AUTH, PATH, clock.monotonic())
    assert lanes is not None
    for _ in range(30):
        pacer.local.reserve(pacer.scope, lanes, max_wait=100)
    refused = pacer.local.reserve(pacer.scope, lanes, max_wait=10)
    assert not refused.granted
    assert pacer.refusal(lanes, refused, 10.0) == (
        f"no slot on token {fingerprint(AUTH)}, paced at 60 requests per 60 s (configured) within the 10.0 s left "
        "of this request's time budget (RetryPolicy max_time): the next is 30.0 s away"
    )


def test_the_fleet_budgets_are_reloaded_once_per_interval(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(reload_every=60.0), shared=True)
    now = clock.monotonic()
    assert pacer.reload_due(now)
    assert not pacer.reload_due(now + 59.0)
    assert pacer.reload_due(now + 60.0)


def test_without_a_shared_store_there_is_nothing_to_reload(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(reload_every=60.0))
    assert not pacer.reload_due(clock.monotonic())
    assert not pacer.reload_due(clock.monotonic() + 3600.0)


def test_the_pacer_never_shows_a_token(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=300))
    lanes = pacer.plan(AUTH, PATH, clock.monotonic())
    assert "token-of-the-simulation" not in repr(pacer) + repr(lanes)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget": 0}, "budget/window: a rate budget allows a whole number of requests >= 1"),
        ({"burst": 0}, "burst must be a whole number >= 1"),
        ({"probe_after": 1}, "probe_after must be a whole number >= 2"),
        ({"jitter": -1}, "jitter must be a number >= 0"),
        ({"window": 0}, "window must be a number > 0"),
        ({"busy": 1.5}, "busy must be a number > 0 and <= 1"),
        ({"probe_step": float("nan")}, "probe_step must be a number > 0"),
    ],
)
def test_a_policy_out_of_range_is_refused_saying_what_is_allowed(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        PacingPolicy(**options)  # type: ignore[arg-type]


# -- Against a simulated limiter ------------------------------------------------------------------------


@pytest.mark.parametrize("sliding", [True, False], ids=["sliding window", "fixed windows"])
@pytest.mark.parametrize("states_limit", [True, False], ids=["429 states the limit", "429 states none"])
def test_after_the_first_window_no_429_comes_again(clock: ManualClock, sliding: bool, states_limit: bool) -> None:
    sim = client(clock, probe=False)
    server = Server(300, sliding=sliding, states_limit=states_limit)
    start = clock.wall()
    run([sim], server, clock, start + 1800)
    assert [at - start for at, _ in sim.throttled if at > start + 60] == []
    budget = sim.pacer.budget()
    assert budget is not None and budget.requests <= 300  # never above what the server allowed
    assert server.between(start + 1700, start + 1760) >= budget.requests * 0.95  # and it is used


@pytest.mark.parametrize("sliding", [True, False], ids=["sliding window", "fixed windows"])
def test_a_fleet_sharing_a_store_learns_from_the_sum_of_its_counts(clock: ManualClock, sliding: bool) -> None:
    fleet = LocalBudgets(clock)
    clients = [client(clock, fleet, probe=False) for _ in range(3)]
    server = Server(300, sliding=sliding, states_limit=False)
    start = clock.wall()
    run(clients, server, clock, start + 600)
    learned = {c.pacer.budget() for c in clients}
    assert len(learned) == 1
    budget = learned.pop()
    assert budget is not None and budget.source is Source.COUNT
    assert 150 <= budget.requests <= 300  # each process counted about a third of what the server admitted
    assert [at for c in clients for at, _ in c.throttled if at > start + 60] == []


def test_a_raised_limit_is_found_within_minutes_by_probing(clock: ManualClock) -> None:
    sim = client(clock)
    server = Server(300)
    start = clock.wall()
    run([sim], server, clock, start + 900)
    before = sim.pacer.budget()
    assert before is not None and 300 <= before.requests <= 360  # the limit, or a probe just above it
    server.limit = 600  # the org's limit is raised
    run([sim], server, clock, start + 900 + 10 * 60)
    after = sim.pacer.budget()
    assert after is not None and after.requests >= 600
    # Every 429 after the first window met a probe (the budget in force was on trial), or came in the window
    # after one: a sliding window still holds the probe's faster requests when the budget falls back.
    probes = [at for at, budget in sim.throttled if budget is not None and budget.source is Source.PROBING]
    assert [at for at, _ in sim.throttled[1:] if not any(0 <= at - probe <= 60 for probe in probes)] == []


def test_failed_probes_come_less_and_less_often(clock: ManualClock) -> None:
    sim = client(clock, max_probe_pause=8)
    start = clock.wall()
    run([sim], Server(300), clock, start + 2 * 3600)
    probes = [at for at, budget in sim.throttled if budget is not None]
    gaps = [round((later - earlier) / 60) for earlier, later in zip(probes, probes[1:])]
    # probe_after (3) windows doubled per failure, at most max_probe_pause (8), plus the window the probe fails in.
    assert gaps[:3] == [7, 9, 9]
    assert all(gap == 9 for gap in gaps[3:]) and len(probes) >= 8


@pytest.mark.parametrize("sliding", [True, False], ids=["sliding window", "fixed windows"])
@pytest.mark.parametrize("step", [0.02, 0.2], ids=["default step", "large step"])
def test_a_failed_probe_costs_the_fleet_one_429(clock: ManualClock, sliding: bool, step: float) -> None:
    # 4 processes x 4 threads on one store: every slot taken ahead of a probe's failure is taken again.
    clients, _, _ = fleet(clock, 4, 4, gap=0.005, probe_step=step)
    server = Server(300, sliding=sliding)
    start = clock.wall()
    run(clients, server, clock, start + 40 * 60)
    late = sorted(at - start for c in clients for at, _ in c.throttled if at > start + 60)
    assert len(late) >= 5  # the probes failed (the limit did not change)...
    assert [round(b - a) for a, b in zip(late, late[1:]) if b - a < 120] == []  # ...each with one 429
    assert server.between(start + 60, start + 40 * 60) >= 0.95 * 300 * 39


def test_no_429_comes_for_probe_after_windows_once_a_budget_is_learned(clock: ManualClock) -> None:
    clients, _, _ = fleet(clock, 4, 4, gap=0.005)
    server = Server(300, sliding=False)
    start = clock.wall()
    run(clients, server, clock, start + 185)
    assert [at - start for c in clients for at, _ in c.throttled if at > start + 60] == []
    assert server.between(start + 65, start + 185) >= 0.95 * 300 * 2


def test_a_budget_that_is_not_used_is_not_probed(clock: ManualClock) -> None:
    sim = client(clock, gap=0.5)  # 120 requests a minute against a budget of 300: never busy
    told = Lesson(events=((TOKEN_BUDGET, Told(300, 60.0, TOKEN_KEY, None, clock.wall())),))
    sim.pacer.learned(sim.store.learn(sim.pacer.scope, told), clock.monotonic())
    learned = sim.pacer.budget()
    run([sim], Server(300), clock, clock.wall() + 3600)
    assert sim.pacer.budget() == learned
    assert sim.throttled == []
    assert math.isclose(max(sim.waits), 0.0, abs_tol=1e-6)
