"""error_from_response / raise_for_genesys: typed errors from Genesys error responses."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests_mock

from genesys_auth_adapter import ApiError, RateLimitedError, error_from_response, raise_for_genesys

from .helpers import API, ORG_ME, Client, mounted, statuses

URL = f"{API}/api/v2/users/abc"

GENESYS_400: dict[str, Any] = {
    "message": "The request could not be understood by the server due to malformed syntax.",
    "code": "bad.request",
    "status": 400,
    "entityId": "abc",
    "contextId": "ctx-9f2e",
    "details": [{"errorCode": "field.invalid", "fieldName": "name"}],
    "errors": [],
}
GENESYS_429 = {
    "message": "Rate limit exceeded the maximum. Retry the request in [42] seconds",
    "code": "too.many.requests.retry.after",
    "status": 429,
}


def response_for(status: int, **kwargs: Any) -> requests.Response:
    mock = requests_mock.Adapter()
    mock.register_uri("GET", URL, status_code=status, **kwargs)
    return mounted(mock).get(URL)


def test_error_from_response_fills_every_field() -> None:
    """Pins: status, code, message, contextId, details and the correlation id are all carried."""
    response = response_for(400, json=GENESYS_400, headers={"ININ-Correlation-Id": "corr-123"})
    error = error_from_response(response)
    assert type(error) is ApiError
    assert error.status == 400
    assert error.code == "bad.request"
    assert error.message == GENESYS_400["message"]
    assert error.context_id == "ctx-9f2e"
    assert error.details == [{"errorCode": "field.invalid", "fieldName": "name"}]
    assert error.correlation_id == "corr-123"
    assert error.body == GENESYS_400
    assert error.response is response
    assert error.request is response.request
    text = str(error)
    assert "HTTP 400" in text and "bad.request" in text and "corr-123" in text
    assert GENESYS_400["message"] in text


def test_the_error_counts_the_sends_its_answer_took(client: Client) -> None:
    """Pins: an error that hid the 401 re-send before it (the official SDK front end quotes ``attempts``)."""
    client.mock.register_uri("GET", ORG_ME, statuses(401, 403, 403))
    resent = error_from_response(client.get(ORG_ME))
    assert (resent.status, resent.code, resent.attempts) == (403, "missing.permissions", 2)
    assert error_from_response(client.get(ORG_ME)).attempts == 1


def test_a_429_is_a_rate_limited_error() -> None:
    """Pins: rate limiting has its own type (still an ApiError) for callers that back off."""
    error = error_from_response(response_for(429, json=GENESYS_429, headers={"Retry-After": "42"}))
    assert isinstance(error, RateLimitedError)
    assert isinstance(error, ApiError)
    assert (error.status, error.code) == (429, "too.many.requests.retry.after")


def test_a_non_json_error_body_is_quoted_briefly() -> None:
    """Pins: an HTML error page becomes a short, single-line message; no code is invented."""
    html = "<html>\n<body>\n" + "<p>Bad   Gateway</p>\n" * 50 + "</body></html>"
    error = error_from_response(response_for(502, text=html, headers={"Content-Type": "text/html"}))
    assert error.status == 502
    assert error.code is None and error.body is None
    assert error.message is not None
    assert "\n" not in error.message
    assert len(error.message) <= 210
    assert error.message.startswith("<html> <body> <p>Bad Gateway</p>")


def test_an_empty_error_body_gives_just_the_status() -> None:
    """Pins: no body, no message, but still a typed error naming the status."""
    error = error_from_response(response_for(404, content=b""))
    assert (error.status, error.code, error.message, error.details) == (404, None, None, [])
    assert str(error) == "HTTP 404"


def test_odd_fields_in_the_body_are_ignored() -> None:
    """Pins: a body with non-string code or non-list details does not break error building."""
    error = error_from_response(response_for(400, json={"code": 7, "message": "", "details": "nope"}))
    assert (error.code, error.message, error.details) == (None, None, [])


@pytest.mark.parametrize("status", [200, 201, 204, 302, 304])
def test_raise_for_genesys_returns_non_error_responses(status: int) -> None:
    """Pins: success and redirects pass through unchanged (for chaining)."""
    response = response_for(status, content=b"")
    assert raise_for_genesys(response) is response


@pytest.mark.parametrize(
    ("status", "kind"), [(400, ApiError), (401, ApiError), (429, RateLimitedError), (503, ApiError)]
)
def test_raise_for_genesys_raises_for_4xx_and_5xx(status: int, kind: type[ApiError]) -> None:
    """Pins: every error status raises the typed error, catchable as requests.RequestException."""
    response = response_for(status, json={"code": "x.y", "message": "m", "status": status})
    with pytest.raises(kind) as caught:
        raise_for_genesys(response)
    assert caught.value.status == status
    assert caught.value.code == "x.y"
    assert isinstance(caught.value, requests.RequestException)


USER_CONTEXT_400 = {
    "message": "This request requires a user context. Client credentials cannot be used for requests to this resource.",
    "code": "bad.request",
    "status": 400,
    "contextId": "ctx-user",
    "details": [],
    "errors": [],
}


@pytest.mark.parametrize(
    "message",
    [
        USER_CONTEXT_400["message"],
        "THIS REQUEST REQUIRES A USER CONTEXT.",
        "Client  credentials\ncannot be used for requests to this resource.",
    ],
    ids=["genesys", "upper-case", "second-sentence-odd-spacing"],
)
def test_a_user_context_400_says_a_client_credentials_token_cannot_call_the_endpoint(message: str) -> None:
    """Pins: the 400 a client-credentials token gets from /api/v2/users/me explains itself and the way out."""
    body = {**USER_CONTEXT_400, "message": message}
    error = error_from_response(response_for(400, json=body, headers={"ININ-Correlation-Id": "corr-7"}))

    text = str(error)
    assert error.message == message  # Genesys' own words stay as they came
    assert text.startswith(f"HTTP 400 bad.request: {message} (correlation id corr-7). ")
    assert "needs a user's token; a client-credentials token cannot call it" in text
    assert "authorization code or PKCE" in text and "/api/v2/organizations/me" in text


def test_other_400s_get_no_user_context_advice() -> None:
    error = error_from_response(response_for(400, json=GENESYS_400))

    assert "user's token" not in str(error) and "PKCE" not in str(error)
