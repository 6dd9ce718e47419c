"""The fast path the flow hands out: who may take it, which answers need the flow after all, and the flow
started from a request already sent (``first=Sent(...)``), driven by hand with a manual clock."""

from __future__ import annotations

from collections.abc import Generator
from email.utils import formatdate

import pytest

from genesys_auth_adapter import RetryPolicy
from genesys_auth_adapter.engine.budget import Counted
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.flow import (
    DELIVERED,
    REWIND,
    Authorize,
    Command,
    Send,
    SendKind,
    Sent,
    Verdict,
    VerdictKind,
    fast_header,
    needs_decision,
    request_flow,
    settle,
)
from genesys_auth_adapter.engine.paced import Learn
from genesys_auth_adapter.engine.pacer import TOKEN_BUDGET, Pacer
from genesys_auth_adapter.engine.pacing import PacingPolicy
from genesys_auth_adapter.engine.retry import Failure, Outcome
from genesys_auth_adapter.engine.skew import ClockOffset
from genesys_auth_adapter.engine.state import TokenState
from genesys_auth_adapter.engine.token import IssuedToken, Token

from .pacing_sim import AUTH, PATH, throttle_body

Flow = Generator[Command, object, Verdict]
POLICY = RetryPolicy()
#: Every status class the flow may meet, and a connection failure (None).
STATUSES = [200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 429, 500, 501, 502, 503, 504, 599, None]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall=1_700_000_000.0, monotonic=1000.0)


def answer(status: int | None, clock: ManualClock, **fields: object) -> Outcome:
    """An outcome as a front end describes it, timed and dated on ``clock``."""
    if status is None:
        return Outcome(failure=Failure.NOT_SENT, detail="connection refused")
    wall = clock.wall()
    date = formatdate(wall, usegmt=True)
    return Outcome(status=status, date=date, sent_wall=wall - 0.01, received_wall=wall, **fields)  # type: ignore[arg-type]


def started_from(
    first: Sent, clock: ManualClock, *, policy: RetryPolicy | None = POLICY, pacer: Pacer | None = None
) -> tuple[Flow, ClockOffset]:
    """A flow started from ``first``, and the clock-offset estimate it feeds."""
    offset = ClockOffset()
    made = request_flow(
        "GET",
        policy=policy,
        clock=clock,
        offset=offset,
        what=lambda: "GET /api/v2/users",
        pacer=pacer,
        path=lambda: PATH,
        first=first,
    )
    return made, offset


def first_step(made: Flow) -> Command | Verdict:
    """The flow's first command, or its verdict when it ends without one."""
    try:
        return next(made)
    except StopIteration as stop:
        verdict: Verdict = stop.value
        return verdict


def state_with(clock: ManualClock, issued: IssuedToken) -> TokenState:
    return TokenState(clock=clock, initial=issued)


# Which answers need the flow.


@pytest.mark.parametrize("policy", [POLICY, None], ids=["policy", "no-policy"])
@pytest.mark.parametrize("status", STATUSES, ids=[str(s) for s in STATUSES])
def test_an_answer_that_needs_no_decision_is_one_the_flow_would_deliver_at_once(
    clock: ManualClock, status: int | None, policy: RetryPolicy | None
) -> None:
    """The fast path delivers what ``needs_decision`` lets pass: the flow, given the same send, must end there
    with the same verdict and no command at all (no re-send, no retry, nothing learned)."""
    if needs_decision(status, policy):
        return  # the flow decides (the next test): nothing to compare
    made, _ = started_from(Sent(AUTH, answer(status, clock), clock.monotonic()), clock, policy=policy)
    assert first_step(made) == DELIVERED


@pytest.mark.parametrize("status", [401, 429, 502, 503, 504, None])
def test_what_the_flow_acts_on_needs_a_decision(clock: ManualClock, status: int | None) -> None:
    """Pins the other way round: an answer the flow re-sends or retries never passes the fast path."""
    assert needs_decision(status, POLICY)
    made, _ = started_from(Sent(AUTH, answer(status, clock), clock.monotonic()), clock)
    assert not isinstance(first_step(made), Verdict)  # it acts: a rewind, then a new token or a retry


def test_without_a_policy_only_a_401_and_a_429_need_the_flow() -> None:
    assert [s for s in STATUSES if needs_decision(s, None)] == [401, 429, None]
    assert [s for s in STATUSES if needs_decision(s, POLICY)] == [401, 429, 502, 503, 504, None]
    assert needs_decision(500, RetryPolicy(retry_statuses=frozenset({500})))


# Who may take the fast path.


def test_a_fresh_token_and_an_idle_pacer_take_the_fast_path(clock: ManualClock) -> None:
    state = state_with(clock, IssuedToken("abc", expires_in=300))
    assert fast_header(state, Pacer(clock), clock.monotonic()) == "Bearer abc"
    assert fast_header(state, None, clock.monotonic()) == "Bearer abc"


def test_no_token_yet_means_the_flow(clock: ManualClock) -> None:
    assert fast_header(TokenState(clock=clock), None, clock.monotonic()) is None


def test_a_token_in_its_refresh_window_goes_through_the_flow(clock: ManualClock) -> None:
    """The flow's Authorize refreshes it ahead of expiry; the fast path would send it as it is."""
    state = state_with(clock, IssuedToken("abc", expires_in=300))
    token = state.current
    assert token is not None and token.refresh_at is not None
    assert fast_header(state, None, token.refresh_at - 0.001) == "Bearer abc"
    assert fast_header(state, None, token.refresh_at) is None
    clock.advance(token.refresh_at - clock.monotonic())
    assert state.fresh_header() is None  # the clock's own reading, by default


def test_a_provisional_token_goes_through_the_flow(clock: ManualClock) -> None:
    """A stored token taken before the server's clock was known: its lifetime is a guess."""
    state = state_with(clock, IssuedToken("abc", expires_in=300, provisional=True))
    token = state.current
    assert isinstance(token, Token) and token.provisional
    assert fast_header(state, None, clock.monotonic()) is None


def test_an_engaged_pacer_goes_through_the_flow(clock: ManualClock) -> None:
    state = state_with(clock, IssuedToken("abc", expires_in=300))
    assert fast_header(state, Pacer(clock, PacingPolicy(budget=300)), clock.monotonic()) is None
    learning = Pacer(clock)
    outcome = Outcome(status=429, retry_after="0", body=throttle_body(None), received_wall=clock.wall())
    learning.throttled(AUTH, PATH, outcome, now=clock.monotonic(), server_now=clock.wall())
    assert learning.engaged
    assert fast_header(state, learning, clock.monotonic()) is None


def test_a_due_reload_of_the_fleets_budgets_goes_through_the_flow(clock: ManualClock) -> None:
    state = state_with(clock, IssuedToken("abc", expires_in=300))
    shared = Pacer(clock, shared=True)
    assert fast_header(state, shared, clock.monotonic()) is None  # never reloaded yet
    assert shared.reload_due(clock.monotonic())
    assert fast_header(state, shared, clock.monotonic()) == "Bearer abc"
    clock.advance(shared.policy.reload_every)
    assert fast_header(state, shared, clock.monotonic()) is None


# What the fast path does with an answer, and the flow started from a send already made.


def test_settle_samples_the_clock_and_counts_the_answer(clock: ManualClock) -> None:
    """The two things the flow does with an answer that needs no decision."""
    offset = ClockOffset()
    pacer = Pacer(clock, PacingPolicy(min_count=1))
    start = clock.wall()
    for _ in range(12):
        wall = clock.wall()
        settle(offset, pacer, AUTH, formatdate(wall + 20, usegmt=True), wall - 0.01, wall)
        clock.advance(0.5)
    estimate = offset.estimate
    assert estimate is not None and 19 <= estimate.offset <= 21
    assert clock.wall() == start + 6
    outcome = Outcome(status=429, retry_after="0", body=throttle_body(None), received_wall=clock.wall())
    lesson = pacer.throttled(AUTH, PATH, outcome, now=clock.monotonic(), server_now=clock.wall())
    assert lesson.events == ((TOKEN_BUDGET, Counted(12, 12, 60.0, None, None, clock.wall())),)


def test_a_flow_started_from_a_401_resends_once_and_never_sends_the_first_again(clock: ManualClock) -> None:
    made, offset = started_from(Sent(AUTH, answer(401, clock), clock.monotonic()), clock)
    commands: list[Command] = []
    result: object = None
    outcomes = iter([answer(200, clock)])
    while True:
        try:
            command = made.send(result)
        except StopIteration as stop:
            verdict: Verdict = stop.value
            break
        commands.append(command)
        if isinstance(command, Authorize):
            result = Token("new", "Bearer new", 2, clock.monotonic(), None, None, minted_at=clock.monotonic())
        elif isinstance(command, Send):
            result = next(outcomes)
        else:
            result = True
    assert commands == [REWIND, Authorize(rejected=AUTH), Send("Bearer new", SendKind.RESEND)]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)
    assert [a.status for a in verdict.history] == [401, 200]
    assert offset.estimate is not None  # the first answer's Date was sampled by the flow


def test_a_flow_started_from_a_send_counts_its_time_budget_from_that_send(clock: ManualClock) -> None:
    """A 503 once the whole time budget went by since the first send: no retry."""
    made, _ = started_from(Sent(AUTH, answer(503, clock), clock.monotonic()), clock)
    assert first_step(made) == REWIND  # within the budget: a retry
    sent_at = clock.monotonic()
    clock.advance(POLICY.max_time + 1)
    made, _ = started_from(Sent(AUTH, answer(503, clock), sent_at), clock)
    verdict = first_step(made)
    assert isinstance(verdict, Verdict)
    assert (verdict.kind, verdict.sends) == (VerdictKind.EXHAUSTED, 1)


def test_a_flow_started_from_a_send_does_not_pace_it_but_counts_and_learns(clock: ManualClock) -> None:
    """The send was made (the auth= hook paced it before requests sent it): no Reserve for it afterwards,
    and its answer is counted; a 429 then teaches that count."""
    pacer = Pacer(clock, PacingPolicy(budget=300, min_count=1))
    made, _ = started_from(Sent(AUTH, answer(200, clock), clock.monotonic()), clock, pacer=pacer)
    assert first_step(made) == DELIVERED
    throttled = Outcome(status=429, retry_after="0", body=throttle_body(None), received_wall=clock.wall())
    made, _ = started_from(Sent(AUTH, throttled, clock.monotonic()), clock, pacer=pacer, policy=None)
    step = first_step(made)
    assert isinstance(step, Learn)
    assert [event for _, event in step.lesson.events] == [Counted(1, 1, 60.0, None, None, clock.wall())]
