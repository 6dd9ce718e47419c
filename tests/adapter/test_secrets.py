"""No secret or token in logs, reprs or error messages, through a full token + 401 + re-send flow."""

from __future__ import annotations

import logging

import pytest
import requests

from genesys_auth_adapter import (
    AccessToken,
    ClientCredentials,
    GenesysAdapter,
    GenesysAuth,
    GenesysSession,
    ManualClock,
    RetryPolicy,
    TokenRequestError,
    UnreplayableBodyError,
    error_from_response,
)

from .helpers import (
    API,
    BASIC_CREDENTIALS,
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ME,
    TOKEN_URL,
    RecordingMock,
    TokenEndpoint,
    make_client,
    mounted,
    statuses,
)

TOKEN_PREFIX = "tkn-9QxZ7wLm"


def secrets_in(text: str) -> list[str]:
    """The secrets (client secret, Basic credentials, any issued token) that occur in ``text``."""
    return [s for s in (CLIENT_SECRET, BASIC_CREDENTIALS, TOKEN_PREFIX) if s in text]


@pytest.fixture
def secret_mock(clock: ManualClock) -> RecordingMock:
    mock = RecordingMock()
    mock.register_uri("POST", TOKEN_URL, json=TokenEndpoint(clock, expires_in=300.0, prefix=TOKEN_PREFIX))
    return mock


@pytest.mark.parametrize("mode", ["auth", "adapter"])
def test_debug_logs_of_a_full_flow_contain_no_secret_or_token(
    caplog: pytest.LogCaptureFixture, secret_mock: RecordingMock, clock: ManualClock, mode: str
) -> None:
    """Pins: with every logger at DEBUG, a token request, a 401, a re-send, a stale refresh that fails,
    an unreplayable body and a refused login log nothing secret."""
    caplog.set_level(logging.DEBUG)
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    auth = GenesysAuth(creds, http=mounted(secret_mock), clock=clock, retry=RetryPolicy(max_attempts=2))
    client = make_client(mode, auth, secret_mock)
    secret_mock.register_uri("GET", ORG_ME, statuses(401, 200, 200, 200))
    secret_mock.register_uri("POST", f"{API}/api/v2/uploads", statuses(401))

    assert client.get(ORG_ME).status_code == 200  # token, 401, new token, re-send
    with pytest.raises(UnreplayableBodyError):
        client.post(f"{API}/api/v2/uploads", data=iter([b"a", b"b"]))
    assert client.get(ORG_ME).status_code == 200  # the dropped token is replaced
    clock.advance(280.0)  # the token is now due for refresh
    secret_mock.register_uri(
        "POST",
        TOKEN_URL,
        status_code=400,
        json={"error": "invalid_client", "error_description": f"secret {CLIENT_SECRET} refused"},
    )
    assert client.get(ORG_ME).status_code == 200  # stale refresh fails, old token still used
    clock.advance(30.0)  # expired: now the refusal reaches the caller
    with pytest.raises(TokenRequestError):
        client.get(ORG_ME)

    names = {record.name for record in caplog.records}
    assert {"genesys_auth_adapter.login", "genesys_auth_adapter.token"} <= names
    assert any(record.levelno == logging.WARNING for record in caplog.records)
    for record in caplog.records:
        assert secrets_in(record.getMessage()) == [], record.getMessage()
        assert secrets_in(repr(record.args)) == [], record.name
    assert secrets_in(caplog.text) == []


def test_reprs_and_error_messages_contain_no_secret_or_token(secret_mock: RecordingMock, clock: ManualClock) -> None:
    """Pins: printing any library object or error in a debugger or a log line leaks nothing."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    auth = GenesysAuth(creds, http=mounted(secret_mock), clock=clock)
    adapter = GenesysAdapter(auth, transport=secret_mock)
    api_session = GenesysSession(auth, transport=secret_mock)
    secret_mock.register_uri("GET", ORG_ME, statuses(401, 401, 401))
    secret_mock.register_uri("POST", f"{API}/api/v2/uploads", statuses(401))
    response = api_session.get("/api/v2/organizations/me")
    assert response.status_code == 401
    current = auth.manager.current
    assert current is not None and TOKEN_PREFIX in current.header  # the token is there, just hidden

    with pytest.raises(UnreplayableBodyError) as unreplayable:
        api_session.post("/api/v2/uploads", data=iter([b"x"]))
    secret_mock.register_uri(
        "POST", TOKEN_URL, status_code=401, json={"error": "invalid_client", "description": CLIENT_SECRET}
    )
    with pytest.raises(TokenRequestError) as refused:
        GenesysAuth(creds, http=mounted(secret_mock), clock=clock).token()
    given = AccessToken(f"{TOKEN_PREFIX}-given", "us-east-1", refresh=lambda: f"{TOKEN_PREFIX}-next")

    objects: list[object] = [
        creds,
        given,
        auth,
        auth.manager,
        auth.scope,
        current,
        adapter,
        api_session,
        error_from_response(response),
        unreplayable.value,
        refused.value,
    ]
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert secrets_in(text) == [], f"{type(obj).__name__}: {text}"


def test_an_api_error_does_not_quote_the_authorization_header(secret_mock: RecordingMock) -> None:
    """Pins: ApiError text is built from the response body and headers, not the request's."""
    secret_mock.register_uri("GET", ORG_ME, statuses(403))
    session = mounted(secret_mock)
    response = session.get(ORG_ME, headers={"Authorization": f"Bearer {TOKEN_PREFIX}"})
    assert isinstance(response, requests.Response)
    error = error_from_response(response)
    assert secrets_in(str(error)) == [] and secrets_in(repr(error)) == []
