"""What the requests front ends tell the request flow: failures classified, responses described."""

from __future__ import annotations

import requests

from genesys_auth_adapter import RetryPolicy, retry_policy
from genesys_auth_adapter.engine.retry import IDEMPOTENT_METHODS, Failure, effective_policy
from genesys_auth_adapter.transport.outcomes import classify, response_outcome


def _response(status: int, headers: dict[str, str] | None = None, body: bytes = b"{}") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body
    return response


def test_classify() -> None:
    assert classify(requests.exceptions.ConnectTimeout()) is Failure.NOT_SENT
    assert classify(requests.exceptions.ReadTimeout()) is Failure.MAYBE_SENT
    assert classify(requests.exceptions.SSLError()) is None
    assert classify(requests.exceptions.InvalidURL()) is None


def test_a_success_is_described_without_reading_more_than_it_must() -> None:
    outcome = response_outcome(
        _response(200, {"Date": "Tue, 01 Dec 2026 09:41:14 GMT", "Retry-After": "9"}), 1.0, 2.0, None
    )
    assert (outcome.status, outcome.date, outcome.sent_wall, outcome.received_wall) == (
        200,
        "Tue, 01 Dec 2026 09:41:14 GMT",
        1.0,
        2.0,
    )
    assert outcome.retry_after is None and outcome.body == ""


def test_a_429_carries_what_the_policy_needs() -> None:
    body = b'{"message": "Retry the request in [42] seconds"}'
    outcome = response_outcome(
        _response(429, {"Retry-After": "42", "ININ-Correlation-Id": "c-9"}, body), 1.0, 2.0, None
    )
    assert (outcome.retry_after, outcome.correlation_id) == ("42", "c-9")
    assert "[42] seconds" in outcome.body
    assert outcome.description == "HTTP 429 (correlation id c-9)"


def test_a_per_request_policy_overrides_and_restores() -> None:
    default = RetryPolicy()
    override = RetryPolicy(max_attempts=1)
    with retry_policy(override):
        assert effective_policy(default) is override
    assert effective_policy(default) is default


def test_the_idempotent_methods_are_urllib3s() -> None:
    """Pins: our default method set drifting from urllib3's Retry, which requests users know."""
    from urllib3.util.retry import Retry

    assert frozenset(Retry.DEFAULT_ALLOWED_METHODS) == IDEMPOTENT_METHODS == RetryPolicy().methods


def test_a_401_says_whether_the_answered_request_carried_the_token_sent() -> None:
    """A 401 to a request that went without the token (a redirect hop lost it) is no verdict on the token."""
    lost = _response(401)
    lost.request = requests.Request("GET", "https://api.mypurecloud.com/api/v2/x").prepare()
    assert response_outcome(lost, 1.0, 2.0, "Bearer token-1").carried is False
    lost.request.headers["Authorization"] = "Bearer token-1"
    assert response_outcome(lost, 1.0, 2.0, "Bearer token-1").carried is True
