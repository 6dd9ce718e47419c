"""The client-credentials token request (the login port in oauth.py, sent by transport/login.py) and its answer."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import requests_mock

from genesys_auth_adapter import ClientCredentials, GenesysAuth, ManualClock, RetryPolicy, TokenRequestError
from genesys_auth_adapter.engine.manager import TokenManager
from genesys_auth_adapter.oauth import login_outcome, parse_token_response

from .helpers import BASIC_CREDENTIALS, CLIENT_ID, CLIENT_SECRET, LOGIN, TOKEN_URL, http_date, mounted

NO_RETRY = RetryPolicy(max_attempts=1)


def login_answer(mock: requests_mock.Adapter, **response: Any) -> requests.Response:
    """The login service's response to a plain POST, to feed parse_token_response directly."""
    mock.register_uri("POST", TOKEN_URL, **response)
    return mounted(mock).post(TOKEN_URL, allow_redirects=False)


def auth_for(mock: requests_mock.Adapter, clock: ManualClock, retry: RetryPolicy = NO_RETRY) -> GenesysAuth:
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    return GenesysAuth(creds, http=mounted(mock), clock=clock, retry=retry)


def token_error(mock: requests_mock.Adapter, clock: ManualClock, **response: Any) -> TokenRequestError:
    """Register ``response`` for the token endpoint, ask for a token, and return the error raised."""
    mock.register_uri("POST", TOKEN_URL, **response)
    with pytest.raises(TokenRequestError) as caught:
        auth_for(mock, clock).token()
    return caught.value


@pytest.fixture
def login_mock() -> requests_mock.Adapter:
    return requests_mock.Adapter()


def test_a_success_answer_is_parsed(login_mock: requests_mock.Adapter) -> None:
    """Pins: access_token, expires_in and token_type are carried over; the Date header is the flow's clock
    sample (taken once, when the answer arrives), not the token's."""
    date = "Tue, 01 Dec 2026 09:41:14 GMT"
    response = login_answer(
        login_mock,
        json={"access_token": " tok-abc ", "token_type": "bearer", "expires_in": 86399},
        headers={"Date": date},
    )
    issued = parse_token_response(response)
    assert issued.access_token == "tok-abc"
    assert issued.expires_in == 86399.0
    assert issued.token_type == "bearer"
    assert issued.date is None
    assert issued.minted_now
    assert login_outcome(response, sent_wall=1.0, received_wall=2.0).date == date


@pytest.mark.parametrize(
    ("expires_in", "parsed"), [("3600", 3600.0), (None, None), (0, None), (-5, None), (True, None), ("soon", None)]
)
def test_odd_expires_in_values_mean_unknown(
    login_mock: requests_mock.Adapter, expires_in: object, parsed: float | None
) -> None:
    """Pins: a string lifetime is read; a missing, zero, negative, boolean or garbled one means 'unknown'."""
    body: dict[str, Any] = {"access_token": "tok"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    issued = parse_token_response(login_answer(login_mock, json=body))
    assert issued.expires_in == parsed
    assert issued.token_type == "bearer"


def test_the_token_request_is_a_form_post_with_basic_auth(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins the wire format Genesys requires: POST, Basic client credentials, grant_type form body."""
    login_mock.register_uri("POST", TOKEN_URL, json={"access_token": "tok", "expires_in": 300})
    token = auth_for(login_mock, clock).token()
    assert token.header == "Bearer tok"
    (request,) = login_mock.request_history
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    assert request.headers["Authorization"] == f"Basic {BASIC_CREDENTIALS}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert request.text == "grant_type=client_credentials"
    assert request.timeout == (10.0, 30.0)  # type: ignore[comparison-overlap]  # stub says int


def test_the_token_response_sets_expiry_and_the_clock_offset(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: expiry counts from the send time; the login Date header is the first clock sample."""
    login_mock.register_uri(
        "POST",
        TOKEN_URL,
        json={"access_token": "tok", "expires_in": 600},
        headers={"Date": http_date(clock.wall() + 120.5)},
    )
    auth = auth_for(login_mock, clock)
    sent = clock.monotonic()
    token = auth.token()
    assert token.expires_at == sent + 600
    assert auth.clock_offset is not None
    assert auth.clock_offset.low <= 120.5 <= auth.clock_offset.high


def test_redirects_from_the_login_service_are_not_followed(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: the Basic credentials are never sent on to wherever a redirect points."""
    login_mock.register_uri("GET", "https://elsewhere.example/oauth/token", json={"access_token": "stolen"})
    error = token_error(
        login_mock, clock, status_code=302, headers={"Location": "https://elsewhere.example/oauth/token"}
    )
    assert [r.url for r in login_mock.request_history] == [TOKEN_URL]
    assert error.status == 302


def test_invalid_client_is_reported_with_description_and_correlation_id(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: support needs the correlation id; the user needs the OAuth error and its description."""
    error = token_error(
        login_mock,
        clock,
        status_code=400,
        json={"error": "invalid_client", "description": "client not found", "error_description": "client not found"},
        headers={"ININ-Correlation-Id": "corr-400-abc"},
    )
    assert error.status == 400
    assert error.error == "invalid_client"
    assert error.description == "client not found"
    assert error.correlation_id == "corr-400-abc"
    assert error.is_credential_error
    assert error.response is not None and error.response.status_code == 400
    message = str(error)
    assert "corr-400-abc" in message
    assert "invalid_client" in message and "client not found" in message
    assert CLIENT_SECRET not in message and BASIC_CREDENTIALS not in message
    assert len(login_mock.request_history) == 1  # a credential error is not retried


def test_a_description_that_echoes_the_secret_is_scrubbed(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: even a login service that quotes the secret back cannot put it into an error message."""
    error = token_error(
        login_mock,
        clock,
        status_code=400,
        json={"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET}"},
    )
    assert CLIENT_SECRET not in str(error)
    assert error.description is not None and CLIENT_SECRET not in error.description


def test_a_401_from_the_login_service(login_mock: requests_mock.Adapter, clock: ManualClock) -> None:
    """Pins: a 401 is a credential error and the message says which settings to check."""
    error = token_error(
        login_mock,
        clock,
        status_code=401,
        json={"error": "unauthorized_client", "description": "nope"},
        headers={"ININ-Correlation-Id": "corr-401"},
    )
    assert (error.status, error.error, error.correlation_id) == (401, "unauthorized_client", "corr-401")
    assert error.is_credential_error
    assert "GENESYS_CLIENT_SECRET" in str(error)
    assert CLIENT_SECRET not in str(error)


def test_an_html_502_body_is_reported_as_non_json(login_mock: requests_mock.Adapter, clock: ManualClock) -> None:
    """Pins: a proxy's HTML error page gives a readable error, not a JSON decoding traceback."""
    error = token_error(
        login_mock,
        clock,
        status_code=502,
        text="<html><body><h1>502 Bad Gateway</h1></body></html>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    assert error.status == 502
    assert error.error is None
    assert not error.is_credential_error
    assert "502" in str(error)


def test_parse_of_an_html_502_names_the_content_type(login_mock: requests_mock.Adapter) -> None:
    """Pins: the parse error says what came back instead of JSON."""
    response = login_answer(
        login_mock, status_code=502, text="<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(TokenRequestError) as caught:
        parse_token_response(response)
    assert "non-JSON" in str(caught.value) and "text/html" in str(caught.value)
    assert caught.value.status == 502


@pytest.mark.parametrize("body", [{"token_type": "bearer", "expires_in": 300}, {"access_token": "  "}])
def test_a_200_without_an_access_token_is_an_error(
    login_mock: requests_mock.Adapter, clock: ManualClock, body: dict[str, Any]
) -> None:
    """Pins: a success status without a usable token is not taken for a token."""
    error = token_error(login_mock, clock, status_code=200, json=body)
    assert error.status == 200
    assert "without an access_token" in str(error)


@pytest.mark.parametrize(
    "exc", [requests.exceptions.ConnectionError("refused"), requests.exceptions.ConnectTimeout("slow")]
)
def test_a_connection_error_becomes_a_token_request_error(
    login_mock: requests_mock.Adapter, clock: ManualClock, exc: requests.RequestException
) -> None:
    """Pins: network failures reach the caller as TokenRequestError, chained to the cause."""
    error = token_error(login_mock, clock, exc=exc)
    assert isinstance(error.__cause__, requests.RequestException)
    assert error.status is None
    assert LOGIN in str(error)
    assert CLIENT_SECRET not in str(error)


def test_login_failures_are_retried_under_the_policy(login_mock: requests_mock.Adapter, clock: ManualClock) -> None:
    """Pins: a 503 from the login service is retried (token requests are safe to repeat)."""
    login_mock.register_uri(
        "POST",
        TOKEN_URL,
        [{"status_code": 503, "text": "busy"}, {"json": {"access_token": "tok", "expires_in": 300}}],
    )
    auth = auth_for(login_mock, clock, retry=RetryPolicy(max_attempts=3))
    assert auth.token().header == "Bearer tok"
    assert len(login_mock.request_history) == 2


def test_a_token_with_a_control_character_is_a_login_error(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: a token with a line break reaching http.client, whose ValueError quotes the header."""
    error = token_error(
        login_mock,
        clock,
        json={"access_token": "abc\ndef-SECRET", "expires_in": 300},
        headers={"ININ-Correlation-Id": "corr-ctl"},
    )
    assert error.status == 200
    assert "cannot be used" in str(error) and "corr-ctl" in str(error)
    assert "SECRET" not in str(error)


def test_a_per_request_retry_policy_does_not_decide_shared_token_requests(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: one caller's retry_policy(max_attempts=1) failing the token request every thread waits for."""
    from genesys_auth_adapter import retry_policy

    login_mock.register_uri(
        "POST",
        TOKEN_URL,
        [{"status_code": 503, "json": {}}, {"json": {"access_token": "t-after-503", "expires_in": 300}}],
    )
    auth = auth_for(login_mock, clock, retry=RetryPolicy())
    with retry_policy(RetryPolicy(max_attempts=1)):
        assert auth.token().access_token == "t-after-503"
    assert login_mock.call_count == 2


def test_waiting_for_another_threads_token_request_lasts_as_long_as_its_budget() -> None:
    """Pins: waiters giving up after a fixed 120 s while the leader still retries within 300 s."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    assert GenesysAuth(creds, retry=RetryPolicy(max_time=300), timeout=(5, 20)).manager.wait_timeout >= 325
    assert GenesysAuth(creds, wait_timeout=7).manager.wait_timeout == 7
    for unbounded in (None, (5.0, None)):
        assert GenesysAuth(creds, timeout=unbounded).manager.wait_timeout >= 120  # type: ignore[arg-type]


def test_a_timeout_error_from_a_refresh_callback_is_not_called_a_wait_timeout() -> None:
    """Pins: any TimeoutError reported as "waited for another thread's token request"."""
    from genesys_auth_adapter import AccessToken, TokenWaitTimeout

    def refresh() -> str:
        raise TimeoutError("the vault did not answer")

    auth = GenesysAuth(AccessToken("first", "us-east-1", refresh=refresh))
    auth.manager.invalidate()
    with pytest.raises(TimeoutError) as caught:
        auth.token()
    assert not isinstance(caught.value, TokenWaitTimeout)
    assert "vault" in str(caught.value)


# The login service's throttle (Genesys sends it as a 400, not a 429).


def throttle_body(key: str = "description", text: str = "rate limit exceeded; try later") -> dict[str, str]:
    return {"error": "invalid_request", key: text}


@pytest.mark.parametrize(
    ("status", "body", "throttled"),
    [
        (400, throttle_body(), True),
        (400, throttle_body("error_description"), True),
        (400, throttle_body(text="Rate Limit Exceeded; slow down"), True),
        (400, {"error": "invalid_request", "description": "x", "error_description": "rate limit exceeded; y"}, True),
        (400, {"error": "invalid_request", "description": "grant_type is required"}, False),
        (400, {"error": "invalid_request", "description": "no rate limit exceeded here"}, False),
        (400, {"error": "invalid_client", "description": "rate limit exceeded; but the wrong error"}, False),
        (400, {"error": "unauthorized_client", "description": "nope"}, False),
        (401, throttle_body(), False),
        (400, None, False),
    ],
)
def test_the_login_throttle_is_recognised(
    login_mock: requests_mock.Adapter, status: int, body: dict[str, str] | None, throttled: bool
) -> None:
    """Pins: a throttling login service's 400 read as a credential error (and no other 400 read as a throttle)."""
    kwargs: dict[str, Any] = {"json": body} if body is not None else {"text": "<html>Bad Request</html>"}
    response = login_answer(login_mock, status_code=status, headers={"ININ-Correlation-Id": "corr-t"}, **kwargs)
    outcome = login_outcome(response, sent_wall=1.0, received_wall=2.0)
    assert outcome.throttled is throttled
    assert outcome.status == status and outcome.correlation_id == "corr-t"
    if throttled:
        assert outcome.is_throttle and outcome.status == 400
        assert "corr-t" in outcome.detail and "rate limit exceeded" in outcome.detail


@pytest.mark.parametrize(("retry_after", "waited"), [("3", (3.0, 3.0)), (None, (0.25, 0.5))])
def test_a_throttling_login_service_is_waited_out(
    login_mock: requests_mock.Adapter, clock: ManualClock, retry_after: str | None, waited: tuple[float, float]
) -> None:
    """Pins: every caller failing at once when the login service throttles with a 400."""
    headers = {"Retry-After": retry_after} if retry_after else {}
    login_mock.register_uri(
        "POST",
        TOKEN_URL,
        [
            {"status_code": 400, "json": throttle_body(), "headers": headers},
            {"json": {"access_token": "tok-after-throttle", "expires_in": 300}},
        ],
    )
    start = clock.monotonic()
    token = auth_for(login_mock, clock, retry=RetryPolicy()).token()
    assert token.access_token == "tok-after-throttle"
    assert login_mock.call_count == 2
    assert waited[0] <= clock.monotonic() - start <= waited[1]


def test_a_login_throttle_that_outlasts_the_budget_says_so(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: a throttled token request reported as bad credentials once retries run out."""
    login_mock.register_uri(
        "POST",
        TOKEN_URL,
        [
            {"status_code": 400, "json": throttle_body("error_description"), "headers": {"ININ-Correlation-Id": c}}
            for c in ("corr-1", "corr-2", "corr-3")
        ],
    )
    with pytest.raises(TokenRequestError) as caught:
        auth_for(login_mock, clock, retry=RetryPolicy(max_attempts=3)).token()
    error = caught.value
    assert login_mock.call_count == 3
    assert "throttling token requests" in str(error)
    assert "correlation id corr-3" in str(error)
    assert (error.status, error.error, error.correlation_id) == (400, "invalid_request", "corr-3")
    assert error.description == "rate limit exceeded; try later"
    assert not error.is_credential_error
    assert CLIENT_SECRET not in str(error)


def test_a_throttle_the_policy_does_not_retry_is_still_no_credential_error(
    login_mock: requests_mock.Adapter, clock: ManualClock
) -> None:
    """Pins: parse_token_response calling the throttle a credential problem (retry_429=False)."""
    login_mock.register_uri("POST", TOKEN_URL, status_code=400, json=throttle_body())
    with pytest.raises(TokenRequestError) as caught:
        auth_for(login_mock, clock, retry=RetryPolicy(retry_429=False)).token()
    assert login_mock.call_count == 1
    assert not caught.value.is_credential_error
    assert "throttling" in str(caught.value)
    assert "GENESYS_CLIENT_SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"error": "invalid_client", "description": "Client authentication failed."},
        {"error": "unauthorized_client", "error_description": "The client may not use this grant."},
        {"error": "invalid_request", "description": "grant_type is required"},
        {"error": "invalid_grant", "description": "rate limit exceeded; not from invalid_request"},
    ],
)
def test_every_other_400_is_final(login_mock: requests_mock.Adapter, clock: ManualClock, body: dict[str, str]) -> None:
    """Pins: a wrong secret retried (and logged) five times instead of failing at once."""
    login_mock.register_uri("POST", TOKEN_URL, status_code=400, json=body)
    with pytest.raises(TokenRequestError) as caught:
        auth_for(login_mock, clock, retry=RetryPolicy()).token()
    assert login_mock.call_count == 1
    assert caught.value.is_credential_error
    assert "throttling" not in str(caught.value)


@pytest.mark.parametrize(
    ("error", "description", "credential"),
    [
        ("invalid_request", "rate limit exceeded; retry later", False),
        ("invalid_request", "RATE LIMIT EXCEEDED", False),
        ("invalid_request", "missing grant_type", True),
        ("invalid_request", None, True),
        ("invalid_client", "rate limit exceeded;", True),
    ],
)
def test_is_credential_error_knows_the_throttle(error: str, description: str | None, credential: bool) -> None:
    """Pins: every 400 (and every invalid_request) counted as a credential error."""
    exc = TokenRequestError("x", status=400, error=error, description=description)
    assert exc.is_credential_error is credential


# Bounded waits for another thread's token request.

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("bad", [INF, NAN, 0, -1.0, True, "30"])
def test_wait_timeout_must_be_finite_and_positive(bad: object) -> None:
    """Pins: wait_timeout=inf accepted, then every waiting thread's Event.wait() raising OverflowError."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    for make in (lambda: GenesysAuth(creds, wait_timeout=bad), lambda: TokenManager(lambda: None, wait_timeout=bad)):  # type: ignore[arg-type,return-value]
        with pytest.raises(ValueError) as caught:
            make()
        assert "wait_timeout must be a finite number of seconds > 0" in str(caught.value)
        assert repr(bad) in str(caught.value)


def test_the_computed_wait_timeout_never_passes_timeout_max() -> None:
    """Pins: a huge budget or an unbounded read timeout making every waiting thread raise OverflowError."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    huge = GenesysAuth(creds, retry=RetryPolicy(max_time=threading.TIMEOUT_MAX))
    assert huge.manager.wait_timeout == threading.TIMEOUT_MAX
    assert GenesysAuth(creds, timeout=(5.0, INF)).manager.wait_timeout <= threading.TIMEOUT_MAX


def test_a_thread_waiting_under_a_huge_wait_timeout_gets_the_token(
    login_mock: requests_mock.Adapter, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins: Event.wait(1e12) raising OverflowError in every thread that waits for another's token request."""
    leading, waiting = threading.Event(), threading.Event()  # plain events, made before the patch below
    timeouts: list[float] = []

    class RecordingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            if timeout is not None:  # the flight's wait; Thread.start() waits without a timeout
                timeouts.append(timeout)
                waiting.set()
            return super().wait(timeout)

    def slow_token(request: Any, context: Any) -> dict[str, Any]:
        leading.set()
        assert waiting.wait(10), "the second thread never waited for this token request"
        return {"access_token": "shared", "expires_in": 300}

    login_mock.register_uri("POST", TOKEN_URL, json=slow_token)
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    monkeypatch.setattr(threading, "Event", RecordingEvent)
    auth = GenesysAuth(creds, http=mounted(login_mock), clock=clock, wait_timeout=1e12)
    results: dict[str, object] = {}

    def ask(name: str) -> None:
        try:
            results[name] = auth.token().access_token
        except BaseException as exc:  # reported below, with its type
            results[name] = exc

    leader = threading.Thread(target=ask, args=("leader",))
    leader.start()
    assert leading.wait(10)
    waiter = threading.Thread(target=ask, args=("waiter",))
    waiter.start()
    waiter.join(10)
    leader.join(10)
    assert results == {"leader": "shared", "waiter": "shared"}
    assert timeouts and max(timeouts) <= threading.TIMEOUT_MAX
    assert login_mock.call_count == 1
