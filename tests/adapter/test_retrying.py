"""The retry loop with a manual clock and scripted attempts (no sockets)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from genesys_auth_adapter import GenesysAuth, ManualClock, RetryExhaustedError, RetryPolicy, attempts
from genesys_auth_adapter.engine.retry import Failure, Outcome
from genesys_auth_adapter.engine.skew import ClockOffset
from genesys_auth_adapter.session import DEFAULT_TIMEOUT
from genesys_auth_adapter.transport.retrying import (
    classify,
    effective_policy,
    outcome_of,
    retry_policy,
    send_with_retries,
)


def _response(status: int, headers: dict[str, str] | None = None, body: bytes = b"{}") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body
    return response


def _connection_error(reason: Exception) -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


class Script:
    """Plays back responses or exceptions, one per attempt."""

    def __init__(self, *steps: requests.Response | Exception) -> None:
        self._steps: Iterator[requests.Response | Exception] = iter(steps)
        self.calls = 0

    def __call__(self) -> requests.Response:
        self.calls += 1
        step = next(self._steps)
        if isinstance(step, Exception):
            raise step
        return step


def _run(
    script: Script, clock: ManualClock, method: str = "GET", policy: RetryPolicy | None = None, can_resend: bool = True
) -> requests.Response:
    return send_with_retries(
        script,
        method=method,
        what=lambda: f"{method} /api/v2/things",
        policy=policy or RetryPolicy(),
        clock=clock,
        offset=ClockOffset(),
        can_resend=lambda: can_resend,
        random=lambda: 0.0,
    )


def test_success_needs_no_bookkeeping() -> None:
    clock = ManualClock()
    response = _run(Script(_response(200)), clock)
    assert response.status_code == 200
    assert attempts(response) == 1


def test_a_429_then_success_waits_what_the_server_said(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock()
    start = clock.monotonic()
    script = Script(_response(429, {"Retry-After": "3", "ININ-Correlation-Id": "c-1"}), _response(200))
    response = _run(script, clock, method="POST")
    assert response.status_code == 200
    assert attempts(response) == 2
    assert clock.monotonic() - start == 3.0
    assert "Retrying POST /api/v2/things in 3.0 s (attempt 2 of 5): HTTP 429 (correlation id c-1)" in caplog.text


def test_exhaustion_lists_every_attempt() -> None:
    clock = ManualClock()
    script = Script(*[_response(503, {"ININ-Correlation-Id": f"c-{n}"}) for n in range(3)])
    with pytest.raises(RetryExhaustedError) as caught:
        _run(script, clock, policy=RetryPolicy(max_attempts=3, backoff=1.0))
    error = caught.value
    assert script.calls == 3
    assert error.attempts == 3 and error.last_status == 503 and error.correlation_id == "c-2"
    assert error.history == [
        "HTTP 503 (correlation id c-0), waited 0.5 s",
        "HTTP 503 (correlation id c-1), waited 1.0 s",
        "HTTP 503 (correlation id c-2)",
    ]
    assert "GET /api/v2/things gave up after 3 attempt(s)" in str(error)
    assert error.response is not None and error.response.status_code == 503


def test_a_connect_error_is_retried_even_for_a_post() -> None:
    clock = ManualClock()
    refused = _connection_error(NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    script = Script(refused, _response(201))
    assert _run(script, clock, method="POST").status_code == 201
    assert script.calls == 2


def test_a_dropped_post_is_not_retried() -> None:
    clock = ManualClock()
    dropped = requests.ConnectionError(ProtocolError("Connection aborted."))
    script = Script(dropped, _response(200))
    with pytest.raises(requests.ConnectionError):
        _run(script, clock, method="POST")
    assert script.calls == 1


def test_a_body_that_cannot_be_resent_gets_the_response_as_it_came() -> None:
    clock = ManualClock()
    script = Script(_response(429, {"Retry-After": "1"}), _response(200))
    response = _run(script, clock, can_resend=False)
    assert response.status_code == 429
    assert script.calls == 1


def test_classify() -> None:
    assert classify(requests.exceptions.ConnectTimeout()) is Failure.NOT_SENT
    assert classify(requests.exceptions.ReadTimeout()) is Failure.MAYBE_SENT
    assert classify(requests.exceptions.SSLError()) is None
    assert classify(requests.exceptions.InvalidURL()) is None


def test_a_per_request_policy_overrides_and_restores() -> None:
    default = RetryPolicy()
    override = RetryPolicy(max_attempts=1)
    with retry_policy(override):
        assert effective_policy(default) is override
    assert effective_policy(default) is default


def test_the_idempotent_methods_are_urllib3s() -> None:
    """Pins: our default method set drifting from urllib3's Retry, which requests users know."""
    from urllib3.util.retry import Retry

    from genesys_auth_adapter.engine.retry import IDEMPOTENT_METHODS

    assert frozenset(Retry.DEFAULT_ALLOWED_METHODS) == IDEMPOTENT_METHODS == RetryPolicy().methods


@pytest.mark.parametrize(
    ("method", "timeout", "policy"),
    [
        ("GET", DEFAULT_TIMEOUT, RetryPolicy()),
        # A token request under GenesysAuth's default timeout (a token request may be repeated).
        ("POST", inspect.signature(GenesysAuth).parameters["timeout"].default, RetryPolicy().with_methods("POST")),
    ],
    ids=["api-get", "token-request"],
)
def test_a_read_timeout_under_the_default_timeouts_is_retried(
    method: str, timeout: tuple[float, float], policy: RetryPolicy
) -> None:
    """Pins: the 60 s read timeout using up the whole 60 s budget, so the documented retry never happened."""
    clock = ManualClock()
    connect, read = timeout
    calls = 0

    def send() -> requests.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            clock.advance(connect + read)  # the slowest read timeout: a slow connect, then a silent server
            raise requests.exceptions.ReadTimeout("read timed out")
        return _response(200)

    response = send_with_retries(
        send,
        method=method,
        what=lambda: f"{method} /x",
        policy=policy,
        clock=clock,
        offset=ClockOffset(),
        random=lambda: 0.999,  # the longest first backoff
    )
    assert response.status_code == 200
    assert attempts(response) == 2


THROTTLE_BODY = b'{"error": "invalid_request", "description": "rate limit exceeded; slow down"}'


def _as_throttle(response: requests.Response) -> Outcome | None:
    return outcome_of(response, throttled=True) if response.status_code == 400 else None


def test_a_throttle_hook_retries_what_it_recognises() -> None:
    clock = ManualClock()
    start = clock.monotonic()
    script = Script(_response(400, {"Retry-After": "2"}, THROTTLE_BODY), _response(200))
    response = send_with_retries(
        script,
        method="POST",
        what=lambda: "POST /oauth/token",
        policy=RetryPolicy(),
        clock=clock,
        offset=ClockOffset(),
        throttle=_as_throttle,
    )
    assert response.status_code == 200
    assert script.calls == 2
    assert clock.monotonic() - start == 2.0


def test_without_a_throttle_hook_a_400_is_final_and_successes_never_reach_the_hook() -> None:
    """Pins: API requests (no hook) retrying a 400, and the hook costing anything on a success."""
    clock = ManualClock()
    script = Script(_response(400, {"Retry-After": "2"}, THROTTLE_BODY), _response(200))
    assert _run(script, clock).status_code == 400
    assert script.calls == 1

    def never(response: requests.Response) -> Outcome | None:
        raise AssertionError("the throttle hook was asked about a success")

    ok = send_with_retries(
        Script(_response(200)),
        method="POST",
        what=lambda: "POST /oauth/token",
        policy=RetryPolicy(),
        clock=clock,
        offset=ClockOffset(),
        throttle=never,
    )
    assert ok.status_code == 200
