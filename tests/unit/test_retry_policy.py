"""The retry policy as a value and a pure function: no HTTP, no clock, fixed random numbers."""

from __future__ import annotations

import dataclasses
import threading
from email.utils import formatdate

import pytest

from genesys_auth_adapter.engine.retry import (
    Attempt,
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


INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    "bad",
    [
        {"max_attempts": 0},
        {"max_attempts": -3},
        {"max_attempts": True},
        {"max_attempts": 2.5},
        {"max_attempts": "5"},
        {"max_time": -1},
        {"max_time": 0},
        {"max_time": INF},
        {"max_time": NAN},
        {"max_time": threading.TIMEOUT_MAX * 2},
        {"max_time": "60"},
        {"max_time": True},
        {"backoff": -0.1},
        {"backoff": NAN},
        {"backoff": INF},
        {"max_backoff": INF},
        {"max_backoff": NAN},
        {"max_backoff": -1},
    ],
)
def test_invalid_policies_are_refused_naming_the_setting(bad: dict[str, object]) -> None:
    """Pins: max_time=inf accepted, then every thread waiting for a token dies of OverflowError."""
    ((name, value),) = bad.items()
    with pytest.raises(ValueError) as caught:
        RetryPolicy(**bad)  # type: ignore[arg-type]
    message = str(caught.value)
    assert f"RetryPolicy {name} must be" in message
    assert repr(value) in message


def test_the_edges_of_the_valid_ranges_are_accepted() -> None:
    policy = RetryPolicy(max_attempts=1, max_time=0.001, backoff=0, max_backoff=0)
    assert (policy.max_attempts, policy.max_time, policy.backoff, policy.max_backoff) == (1, 0.001, 0, 0)
    assert RetryPolicy(max_time=threading.TIMEOUT_MAX).max_time == threading.TIMEOUT_MAX


def test_a_nan_wait_stops_instead_of_retrying() -> None:
    """Pins: a NaN wait slipping through the budget check (NaN compares False) into sleep()."""
    decision = _decide(RetryPolicy(), "GET", Outcome(status=503), random=NAN)
    assert not decision.retry and decision.exhausted


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
    assert not _decide(RetryPolicy(retry_429=False), "POST", Outcome(status=400, throttled=True)).retry


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_throttle_with_another_status_is_treated_as_a_429(method: str) -> None:
    """Pins: the login service's 400 "rate limit exceeded" failing at once instead of waiting."""
    told = _decide(RetryPolicy(), method, Outcome(status=400, throttled=True, retry_after="4"))
    assert told.retry and told.wait == 4.0
    hinted = Outcome(status=400, throttled=True, body="rate limit exceeded; Retry the request in [6] seconds")
    assert _decide(RetryPolicy(), method, hinted).wait == 6.0
    backoff = _decide(RetryPolicy(backoff=2.0), method, Outcome(status=400, throttled=True), random=0.0)
    assert backoff.retry and backoff.wait == 1.0  # equal jitter: half of 2 s at the first retry
    assert not _decide(RetryPolicy(), method, Outcome(status=400)).retry


def test_state_is_a_new_value_per_attempt() -> None:
    first = RetryState(started=1.0)
    outcome = Outcome(status=503, correlation_id="c-1")
    second = first.record(outcome, wait=0.5)
    third = second.record(outcome)
    assert (first.attempts, first.history) == (0, ())
    assert second.attempts == 1
    assert second.history == (Attempt(1, 503, "c-1", 0.5, "HTTP 503 (correlation id c-1)"),)
    assert str(second.history[0]) == "HTTP 503 (correlation id c-1), waited 0.5 s"
    assert (third.attempts, third.history) == (2, second.history)  # a retry that is not waited for is not kept
    assert [str(a) for a in third.ended(outcome)] == [
        "HTTP 503 (correlation id c-1), waited 0.5 s",
        "HTTP 503 (correlation id c-1)",
    ]


def test_a_string_of_methods_is_refused_not_split_into_letters() -> None:
    """Pins: RetryPolicy(methods="GET") becoming {'G', 'E', 'T'}."""
    with pytest.raises(ValueError, match="collections"):
        RetryPolicy(methods="GET")  # type: ignore[arg-type]
