"""Injected faults on the login and API origins: statuses, Retry-After, dropped connections, counting."""

from __future__ import annotations

import email.utils
import hashlib

import pytest
import requests


def test_token_429_with_retry_after_then_success(genesys_emulator, token_request):
    genesys_emulator.fail_token_requests(1, status=429, retry_after=2)

    failed = token_request(genesys_emulator)
    succeeded = token_request(genesys_emulator)

    assert failed.status_code == 429
    assert failed.headers["Retry-After"] == "2"
    body = failed.json()
    assert body["code"] == "too.many.requests.retry.after"
    assert body["message"] == "Rate limit exceeded the maximum. Retry the request in [2] seconds"
    assert succeeded.status_code == 200
    counters = genesys_emulator.counters()
    assert (counters["token_requests"], counters["tokens_issued"], counters["faults_injected"]) == (2, 1, 1)


def test_token_429_without_retry_after_keeps_the_normalized_body(genesys_emulator, token_request):
    genesys_emulator.fail_token_requests(1, status=429, retry_after=None)

    failed = token_request(genesys_emulator)

    assert failed.status_code == 429
    assert "Retry-After" not in failed.headers
    assert failed.json()["code"] == "too.many.requests.retry.after"


def test_retry_after_can_be_an_http_date_in_server_time(genesys_emulator_factory, token_request):
    emu = genesys_emulator_factory(skew=1000.0)
    emu.fail_token_requests(1, status=503, retry_after=30, retry_after_date=True)

    failed = token_request(emu)

    when = email.utils.parsedate_to_datetime(failed.headers["Retry-After"]).timestamp()
    assert abs(when - (emu.server_time() + 30)) <= 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_token_5xx_faults(genesys_emulator, token_request, status):
    genesys_emulator.fail_token_requests(2, status=status, retry_after=None)

    statuses = [token_request(genesys_emulator).status_code for _ in range(3)]

    assert statuses == [status, status, 200]


def test_token_drop_closes_the_connection_unanswered(genesys_emulator, token_request):
    genesys_emulator.fail_token_requests(1, status="drop")

    with pytest.raises(requests.ConnectionError):
        token_request(genesys_emulator)

    assert token_request(genesys_emulator).status_code == 200
    assert genesys_emulator.counters()["token_requests"] == 2


@pytest.mark.parametrize("retry_after", [1, None])
def test_token_400_is_the_login_services_throttle(genesys_emulator, token_request, retry_after):
    genesys_emulator.fail_token_requests(1, status=400, retry_after=retry_after)

    failed = token_request(genesys_emulator)
    succeeded = token_request(genesys_emulator)

    assert failed.status_code == 400
    body = failed.json()
    assert body["error"] == "invalid_request"
    assert body["description"].startswith("rate limit exceeded;")
    assert body["error_description"] == body["description"]
    assert failed.headers.get("Retry-After") == (None if retry_after is None else "1")
    assert failed.headers["ININ-Correlation-Id"]
    assert succeeded.status_code == 200
    assert genesys_emulator.counters()["faults_injected"] == 1


def test_token_400_can_carry_another_oauth_error(genesys_emulator, token_request):
    genesys_emulator.fail_token_requests(1, status=400, retry_after=None, error="invalid_request", description="No.")

    body = token_request(genesys_emulator).json()

    assert (body["error"], body["description"], body["error_description"]) == ("invalid_request", "No.", "No.")


@pytest.mark.parametrize(
    "kwargs",
    [{"status": 429, "error": "invalid_client"}, {"status": "drop", "description": "x"}, {"status": 400, "error": ""}],
)
def test_an_oauth_error_needs_a_400(genesys_emulator, kwargs):
    with pytest.raises(ValueError):
        genesys_emulator.fail_token_requests(1, **kwargs)


@pytest.mark.parametrize(("kind", "status"), [("token", 404), ("token", 501), ("api", 400), ("api", "boom")])
def test_unsupported_fault_statuses_are_refused(genesys_emulator, kind, status):
    inject = genesys_emulator.fail_token_requests if kind == "token" else genesys_emulator.fail_api_requests

    with pytest.raises(ValueError):
        inject(1, status=status)


def test_api_503_n_times_then_200(genesys_emulator, client):
    genesys_emulator.fail_api_requests(2, status=503, retry_after=1)

    responses = [client.get("/api/v2/organizations/me") for _ in range(3)]

    assert [r.status_code for r in responses] == [503, 503, 200]
    assert responses[0].headers["Retry-After"] == "1"
    assert responses[0].json()["code"] == "service.unavailable"
    counters = genesys_emulator.counters()
    assert (counters["api_requests"], counters["faults_injected"]) == (3, 2)


def test_api_faults_come_before_authentication(genesys_emulator):
    genesys_emulator.fail_api_requests(1, status=502)

    response = requests.get(genesys_emulator.api_url + "/api/v2/organizations/me", timeout=10)

    assert response.status_code == 502


def test_api_429_fault_is_counted_as_a_429(genesys_emulator, client):
    genesys_emulator.fail_api_requests(1, status=429, retry_after=3)

    response = client.get("/api/v2/organizations/me")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert "[3]" in response.json()["message"]
    assert genesys_emulator.counters()["api_429"] == 1


def test_api_faults_can_be_limited_to_paths(genesys_emulator, client):
    genesys_emulator.fail_api_requests(1, status=500, paths=["/api/v2/users"])

    statuses = [client.get(path).status_code for path in ("/api/v2/organizations/me", "/api/v2/users")]

    assert statuses == [200, 500]
    assert client.get("/api/v2/organizations/me").status_code == 200


def test_api_drop_on_post_is_received_and_counted(genesys_emulator, client):
    genesys_emulator.fail_api_requests(1, status="drop")
    payload = b'{"interval": "2024-03-01T00:00:00Z/2024-03-01T01:00:00Z"}'

    with pytest.raises(requests.ConnectionError):
        client.post(
            "/api/v2/analytics/conversations/details/query",
            data=payload,
            headers={"Content-Type": "application/json"},
        )

    counters = genesys_emulator.counters()
    assert counters["api_requests"] == 1
    assert counters["requests_by_path"] == {"/api/v2/analytics/conversations/details/query": 1}
    entry = genesys_emulator.requests()[-1]
    assert entry["method"] == "POST"
    assert entry["status"] is None
    assert entry["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert entry["body_length"] == len(payload)
    assert entry["authorization_present"] is True


def test_zero_clears_a_pending_fault(genesys_emulator, client):
    genesys_emulator.fail_api_requests(5, status=503)
    genesys_emulator.fail_api_requests(0)

    assert client.get("/api/v2/organizations/me").status_code == 200
