"""The retry policy as a value and a pure function: no HTTP, no clock, fixed random numbers."""

from __future__ import annotations

import dataclasses
from email.utils import formatdate

import pytest

from genesys_auth_adapter.engine.retry import (
    Decision,
    Failure,
    Outcome,
    RetryPolicy,
    RetryState,
    decide,
    server_retry_after,
)

NOW = 1_800_000_000.0


def _decide(
    policy: RetryPolicy,
    method: str,
    outcome: Outcome,
    *,
    attempts: int = 1,
    elapsed: float = 0.0,
    server_now: float = NOW,
    random: float = 0.5,
) -> Decision:
    state = RetryState(started=100.0)
    for _ in range(attempts):
        state = state.record("x")
    return decide(policy, method, state, outcome, now=100.0 + elapsed, server_now=server_now, random=lambda: random)


def test_the_policy_is_frozen_and_copied_with_replace() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 9  # type: ignore[misc]
    other = dataclasses.replace(policy, max_attempts=9)
    assert (policy.max_attempts, other.max_attempts) == (5, 9)
    assert policy.with_methods("post").methods == policy.methods | {"POST"}


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"max_time": -1}, {"backoff": -0.1}])
def test_invalid_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_a_429_is_retried_for_every_method(method: str) -> None:
    decision = _decide(RetryPolicy(), method, Outcome(status=429, retry_after="7"))
    assert decision.retry and decision.wait == 7.0


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("PUT", True), ("POST", False), ("PATCH", False)])
def test_a_503_is_retried_only_for_idempotent_methods(method: str, retried: bool) -> None:
    assert _decide(RetryPolicy(), method, Outcome(status=503)).retry is retried


def test_the_method_set_is_configurable() -> None:
    policy = RetryPolicy(methods=frozenset({"post"}))
    assert _decide(policy, "POST", Outcome(status=502)).retry
    assert not _decide(policy, "GET", Outcome(status=502)).retry


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
def test_a_failure_after_sending_is_retried_only_when_idempotent(method: str, retried: bool) -> None:
    assert _decide(RetryPolicy(), method, Outcome(failure=Failure.MAYBE_SENT)).retry is retried


def test_a_failure_before_sending_is_retried_for_a_post() -> None:
    assert _decide(RetryPolicy(), "POST", Outcome(failure=Failure.NOT_SENT)).retry


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
def test_other_statuses_are_not_retried(status: int) -> None:
    decision = _decide(RetryPolicy(), "GET", Outcome(status=status))
    assert not decision.retry and not decision.exhausted


def test_retry_after_as_an_http_date_is_read_on_the_server_clock() -> None:
    """Pins: a client whose clock is 10 minutes off waiting 10 minutes (or not at all)."""
    server_now = NOW + 600  # the server is 10 minutes ahead of the local clock
    header = formatdate(server_now + 30, usegmt=True)
    assert server_retry_after(Outcome(status=429, retry_after=header), server_now) == 30.0
    assert server_retry_after(Outcome(status=429, retry_after=formatdate(server_now - 5, usegmt=True)), server_now) == 0


def test_the_body_hint_is_used_when_the_header_is_missing() -> None:
    body = '{"message": "Rate limit exceeded the maximum. Retry the request in [42] seconds", "status": 429}'
    assert server_retry_after(Outcome(status=429, body=body), NOW) == 42.0
    assert server_retry_after(Outcome(status=429, body="busy"), NOW) is None
    assert server_retry_after(Outcome(status=429, retry_after="junk", body=body), NOW) == 42.0


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    waits = [policy.delay(n, Outcome(status=503), server_now=NOW, random=lambda: 0.0) for n in (1, 2, 3, 4, 5)]
    assert waits == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert policy.delay(2, Outcome(status=503), server_now=NOW, random=lambda: 0.999) == pytest.approx(1.999)


def test_the_attempt_budget_stops_with_a_reason() -> None:
    decision = _decide(RetryPolicy(max_attempts=3), "GET", Outcome(status=503), attempts=3)
    assert not decision.retry and decision.exhausted
    assert "no attempts left" in decision.reason


def test_the_time_budget_counts_the_wait_ahead() -> None:
    policy = RetryPolicy(max_time=60)
    assert _decide(policy, "GET", Outcome(status=429, retry_after="20"), elapsed=39).retry
    decision = _decide(policy, "GET", Outcome(status=429, retry_after="20"), elapsed=41)
    assert decision.exhausted and "time budget" in decision.reason


def test_retrying_429_can_be_turned_off() -> None:
    assert not _decide(RetryPolicy(retry_429=False), "GET", Outcome(status=429, retry_after="1")).retry


def test_state_is_a_new_value_per_attempt() -> None:
    first = RetryState(started=1.0)
    second = first.record("HTTP 503")
    assert (first.attempts, first.history) == (0, ())
    assert (second.attempts, second.history) == (1, ("HTTP 503",))
