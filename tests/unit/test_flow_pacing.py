"""The pacing steps of the request flow, driven by hand with a manual clock (no I/O)."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.flow import Authorize, Send, Verdict, VerdictKind, request_flow
from genesys_auth_adapter.engine.gcra import LocalBudgets
from genesys_auth_adapter.engine.paced import Learn, Reload, Reserve, Sleep, learn
from genesys_auth_adapter.engine.pacer import Pacer
from genesys_auth_adapter.engine.pacing import PacingPolicy
from genesys_auth_adapter.engine.retry import Outcome, RetryPolicy
from genesys_auth_adapter.engine.skew import ClockOffset

from .pacing_sim import AUTH, PATH, throttle_body


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall=1_700_000_000.0, monotonic=1000.0)


def drive(
    flow: Generator[object, object, Verdict], clock: ManualClock, store: LocalBudgets, answer: Outcome
) -> tuple[Verdict, list[object]]:
    """Carry out every command: the store for pacing, the clock for sleeps, ``answer`` for each send."""
    seen: list[object] = []
    result: object = None
    while True:
        try:
            command = flow.send(result)
        except StopIteration as stop:
            return stop.value, seen
        seen.append(command)
        if isinstance(command, Authorize):
            result = AUTH
        elif isinstance(command, Send):
            result = answer
        elif isinstance(command, Sleep):
            clock.advance(command.seconds)
            result = None
        elif isinstance(command, Reserve):
            result = store.reserve("s", command.lanes, max_wait=command.max_wait)
        elif isinstance(command, Learn):
            result = store.learn("s", command.lesson)
        elif isinstance(command, Reload):
            result = store.budgets("s")
        else:
            result = True


def flow(pacer: Pacer, clock: ManualClock, policy: RetryPolicy | None = None) -> Generator[object, object, Verdict]:
    return request_flow(
        "GET",
        policy=policy,
        clock=clock,
        offset=ClockOffset(),
        what=lambda: "GET /api/v2/users",
        pacer=pacer,
        path=lambda: PATH,
    )


def ok(clock: ManualClock) -> Outcome:
    return Outcome(status=200, sent_wall=clock.wall(), received_wall=clock.wall())


def test_an_unengaged_pacer_adds_no_command(clock: ManualClock) -> None:
    pacer = Pacer(clock)
    verdict, seen = drive(flow(pacer, clock), clock, pacer.local, ok(clock))
    assert verdict.kind is VerdictKind.DELIVER
    assert [type(c) for c in seen] == [Authorize, Send]


def test_a_configured_budget_spaces_sends_and_records_the_wait(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=2, window=10.0, jitter=0.0))
    waits = []
    for _ in range(3):
        verdict, seen = drive(flow(pacer, clock), clock, pacer.local, ok(clock))
        assert verdict.kind is VerdictKind.DELIVER
        waits.append(sum(c.seconds for c in seen if isinstance(c, Sleep)))
    assert waits == [0.0, pytest.approx(5.0), pytest.approx(5.0)]
    assert verdict.history and verdict.history[-1].paced is not None
    assert "paced 5.0 s for a slot on token" in str(verdict.history[-1])


def test_a_slot_beyond_the_time_budget_is_refused_unsent(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=1, window=60.0))
    drive(flow(pacer, clock), clock, pacer.local, ok(clock))
    verdict, seen = drive(flow(pacer, clock, RetryPolicy(max_time=5.0)), clock, pacer.local, ok(clock))
    assert verdict.kind is VerdictKind.REFUSED and verdict.sends == 0
    assert not any(isinstance(c, (Send, Sleep)) for c in seen)
    assert verdict.refusal is not None and "1 requests per 60 s (configured)" in verdict.refusal.message


def test_a_429_that_teaches_nothing_has_a_shared_pacer_reload_when_its_window_ends(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(), shared=True)
    assert pacer.reload_due(clock.monotonic())  # the first reload, done
    wall = clock.wall()
    outcome = Outcome(status=429, retry_after="7", body=throttle_body(None), sent_wall=wall, received_wall=wall)
    steps = learn(pacer, AUTH, PATH, outcome, clock, wall)  # nothing answered before: nothing to count
    command = next(steps)
    assert isinstance(command, Learn)
    with pytest.raises(StopIteration):
        steps.send({})
    assert pacer.reload_at == pytest.approx(clock.monotonic() + 7.0)
