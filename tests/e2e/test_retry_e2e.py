"""Rate limits and transient faults over real sockets, driven by the emulator's fault injection."""

from __future__ import annotations

from typing import Callable

import pytest
import requests

from genesys_auth_adapter import (
    ClientCredentials,
    GenesysSession,
    RetryExhaustedError,
    RetryPolicy,
    TokenRequestError,
    attempts,
    rate_limit,
    retry_policy,
    session,
)
from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, RecordingClock, concurrent_gets, credentials_for

QUERY = "/api/v2/analytics/conversations/details/query"
INTERVAL = {"interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z"}


def test_a_429_with_retry_after_is_waited_out(emu: Emulator, gsession: GenesysSession, clock: RecordingClock) -> None:
    emu.fail_api_requests(1, status=429, retry_after=1)
    response = gsession.get("/api/v2/organizations/me")
    assert response.status_code == 200
    assert attempts(response) == 2
    assert clock.sleeps == [1.0]
    assert emu.counters()["api_429"] == 1


def test_a_429_on_a_post_is_retried_too(emu: Emulator, gsession: GenesysSession, clock: RecordingClock) -> None:
    """Genesys did not process a rate-limited request, whatever its method."""
    emu.fail_api_requests(1, status=429, retry_after=1, paths=[QUERY])
    response = gsession.post(QUERY, json=INTERVAL)
    assert response.status_code == 200
    assert attempts(response) == 2
    assert emu.counters()["requests_by_path"][QUERY] == 2


def test_a_429_without_any_hint_backs_off_briefly(
    emu: Emulator, gsession: GenesysSession, clock: RecordingClock
) -> None:
    emu.fail_api_requests(1, status=429, retry_after=None)
    response = gsession.get("/api/v2/organizations/me")
    assert response.status_code == 200
    assert len(clock.sleeps) == 1
    # The emulator's headerless 429 has no "[N] seconds" either: a short backoff, not a long stall.
    assert 0.2 <= clock.sleeps[0] <= 0.5


def test_an_http_date_retry_after_is_read_on_the_server_clock(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    """Pins: a client 10 minutes off waiting 10 minutes (or not at all) for an HTTP-date Retry-After."""
    emu = genesys_emulator_factory(skew=600.0)
    clock = RecordingClock()
    with session(credentials_for(emu), clock=clock, timeout=TIMEOUT) as s:
        for _ in range(3):  # learn the offset first
            assert s.get("/api/v2/organizations/me").status_code == 200
        emu.fail_api_requests(1, status=429, retry_after=2, retry_after_date=True)
        response = s.get("/api/v2/organizations/me")
    assert response.status_code == 200
    assert len(clock.sleeps) == 1
    assert 0.5 <= clock.sleeps[0] <= 3.5  # two seconds, give or take the whole-second resolution


def test_a_throttling_login_services_http_date_is_read_on_the_server_clock(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    """Pins: the first token request (before any API response) reading Retry-After on the local clock."""
    emu = genesys_emulator_factory(skew=-300.0)
    emu.fail_token_requests(1, status=429, retry_after=2, retry_after_date=True)
    clock = RecordingClock()
    with session(credentials_for(emu), clock=clock, timeout=TIMEOUT) as s:
        assert s.get("/api/v2/organizations/me").status_code == 200
    assert len(clock.sleeps) == 1
    assert 0.5 <= clock.sleeps[0] <= 3.5
    assert emu.counters()["token_requests"] == 2


def test_a_503_burst_is_ridden_out_with_backoff(emu: Emulator, gsession: GenesysSession, clock: RecordingClock) -> None:
    emu.fail_api_requests(3, status=503)
    response = gsession.get("/api/v2/users", params={"pageSize": 5})
    assert response.status_code == 200
    assert attempts(response) == 4
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] < clock.sleeps[2]  # exponential: 0.25-0.5, then 1-2 s
    assert emu.counters()["requests_by_path"]["/api/v2/users"] == 4


def test_a_503_on_a_post_is_not_retried(emu: Emulator, gsession: GenesysSession) -> None:
    emu.fail_api_requests(1, status=503, paths=[QUERY])
    response = gsession.post(QUERY, json=INTERVAL)
    assert response.status_code == 503
    assert attempts(response) == 1


def test_an_attempt_budget_that_runs_out_says_what_was_tried(emu: Emulator, creds: object) -> None:
    emu.fail_api_requests(10, status=503)
    policy = RetryPolicy(max_attempts=3, backoff=0.01)
    with session(creds, retry=policy, timeout=TIMEOUT) as s, pytest.raises(RetryExhaustedError) as caught:
        s.get("/api/v2/organizations/me")
    error = caught.value
    assert error.attempts == 3
    assert error.last_status == 503
    assert error.correlation_id and error.correlation_id in str(error)
    assert "attempt 3: HTTP 503" in str(error)
    assert "no attempts left" in str(error)
    assert emu.counters()["requests_by_path"]["/api/v2/organizations/me"] == 3


def test_a_time_budget_that_runs_out_fails_at_once(
    emu: Emulator, gsession: GenesysSession, clock: RecordingClock
) -> None:
    emu.fail_api_requests(1, status=429, retry_after=30)
    with retry_policy(RetryPolicy(max_time=5.0)), pytest.raises(RetryExhaustedError) as caught:
        gsession.get("/api/v2/organizations/me")
    assert "time budget" in str(caught.value)
    assert clock.sleeps == []


def test_a_per_request_policy_can_turn_retries_off(emu: Emulator, gsession: GenesysSession) -> None:
    emu.fail_api_requests(1, status=503)
    with retry_policy(RetryPolicy(max_attempts=1)):
        assert gsession.get("/api/v2/organizations/me").status_code == 503
    assert gsession.get("/api/v2/organizations/me").status_code == 200


def test_a_post_whose_connection_drops_reaches_the_server_once(emu: Emulator, gsession: GenesysSession) -> None:
    """Pins: a duplicated write after the server may already have acted on it."""
    emu.fail_api_requests(1, status="drop", paths=[QUERY])
    with pytest.raises(requests.ConnectionError):
        gsession.post(QUERY, json=INTERVAL)
    assert emu.counters()["requests_by_path"][QUERY] == 1


def test_a_get_whose_connection_drops_is_retried(emu: Emulator, gsession: GenesysSession) -> None:
    emu.fail_api_requests(1, status="drop", paths=["/api/v2/organizations/me"])
    response = gsession.get("/api/v2/organizations/me")
    assert response.status_code == 200
    assert attempts(response) == 2


def test_a_connect_error_is_retried_for_a_post(creds: object, emu: Emulator) -> None:
    """Connect errors happen before anything is sent, so even a POST may be retried."""
    clock = RecordingClock()
    policy = RetryPolicy(max_attempts=2, backoff=0.01)
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    real = credentials_for(emu)
    s = session(
        ClientCredentials(real.client_id, real.client_secret, api_url=dead, login_url=emu.login_url),
        retry=policy,
        clock=clock,
        timeout=TIMEOUT,
    )
    with s, pytest.raises(RetryExhaustedError) as caught:
        s.post("/api/v2/analytics/conversations/details/query", json=INTERVAL)
    assert caught.value.attempts == 2
    assert "not sent" in str(caught.value)
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, 1), (400, 1), (400, None)],
    ids=["429", "400-rate-limit-exceeded", "400-rate-limit-exceeded-no-retry-after"],
)
def test_a_throttled_token_endpoint_gets_one_request_per_retry(
    emu: Emulator, gsession: GenesysSession, clock: RecordingClock, status: int, retry_after: int | None
) -> None:
    """Pins: a convoy of token requests from 16 threads while the login service throttles, and its
    400 "rate limit exceeded" failing every thread at once as if the credentials were wrong."""
    emu.fail_token_requests(2, status=status, retry_after=retry_after)
    assert concurrent_gets(gsession, 16, "/api/v2/organizations/me") == [200] * 16
    assert emu.counters()["token_requests"] == 3  # two throttled, one success: not 16 of each
    assert len(clock.sleeps) == 2  # one shared wait per throttled answer
    if retry_after is not None:
        assert clock.sleeps == [1.0, 1.0]


@pytest.mark.parametrize(
    ("error", "description"),
    [
        ("invalid_client", "Client authentication failed."),
        ("unauthorized_client", "The client is not authorized for this grant."),
        ("invalid_request", "The request body must be application/x-www-form-urlencoded."),
    ],
)
def test_other_login_400s_are_not_retried(
    emu: Emulator, gsession: GenesysSession, error: str, description: str
) -> None:
    """Pins: a 400 that is no throttle retried: it cannot get better by waiting."""
    emu.fail_token_requests(5, status=400, retry_after=1, error=error, description=description)
    with pytest.raises(TokenRequestError) as caught:
        gsession.get("/api/v2/organizations/me")
    assert (caught.value.status, caught.value.error) == (400, error)
    assert caught.value.is_credential_error
    assert emu.counters()["token_requests"] == 1


def test_a_login_throttle_that_outlasts_the_budget_is_reported_as_one(emu: Emulator, creds: object) -> None:
    emu.fail_token_requests(5, status=400, retry_after=None)
    policy = RetryPolicy(max_attempts=2, backoff=0.01)
    with session(creds, retry=policy, timeout=TIMEOUT) as s, pytest.raises(TokenRequestError) as caught:
        s.get("/api/v2/organizations/me")
    error = caught.value
    assert "throttling token requests" in str(error)
    assert error.correlation_id and f"correlation id {error.correlation_id}" in str(error)
    assert not error.is_credential_error
    assert emu.counters()["token_requests"] == 2


@pytest.mark.parametrize("status", [503, "drop"])
def test_token_endpoint_faults_are_retried(emu: Emulator, gsession: GenesysSession, status: object) -> None:
    emu.fail_token_requests(1, status=status, retry_after=None)  # type: ignore[arg-type]
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    assert emu.counters()["token_requests"] == 2


def test_token_retries_exhausted_is_a_token_error(emu: Emulator, creds: object) -> None:
    emu.fail_token_requests(5, status=503, retry_after=None)
    policy = RetryPolicy(max_attempts=2, backoff=0.01)
    with session(creds, retry=policy, timeout=TIMEOUT) as s, pytest.raises(TokenRequestError) as caught:
        s.get("/api/v2/organizations/me")
    assert "gave up after 2 attempt(s)" in str(caught.value)
    assert caught.value.status == 503
    assert caught.value.status == 503
    assert emu.counters()["token_requests"] == 2


def test_rate_limit_is_none_now_that_genesys_sends_no_ratelimit_headers(
    emu: Emulator, gsession: GenesysSession
) -> None:
    # Genesys removed inin-ratelimit-* after 5 June 2021, and the emulator follows it: nothing to read.
    assert rate_limit(gsession.get("/api/v2/organizations/me")) is None


def test_rate_limit_still_reads_the_legacy_headers_when_something_sends_them() -> None:
    response = requests.Response()
    response.status_code = 200
    response.headers.update(
        {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "12", "inin-ratelimit-reset": "48"}
    )

    info = rate_limit(response)

    assert info is not None
    assert (info.allowed, info.used, info.remaining, info.reset) == (300, 12, 288, 48.0)
