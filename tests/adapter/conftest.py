"""Fixtures for the requests-glue tests: a recording requests-mock adapter behind both usage paths."""

from __future__ import annotations

import pytest
import requests

from genesys_auth_adapter import ClientCredentials, GenesysAuth, ManualClock

from .helpers import CLIENT_ID, CLIENT_SECRET, TOKEN_URL, Client, RecordingMock, TokenEndpoint, make_client, mounted


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall=1_700_000_000.0)


@pytest.fixture
def token_endpoint(clock: ManualClock) -> TokenEndpoint:
    return TokenEndpoint(clock)


@pytest.fixture
def mock(token_endpoint: TokenEndpoint) -> RecordingMock:
    """One fake network: the token endpoint is registered; tests register the API endpoints they need."""
    adapter = RecordingMock()
    adapter.register_uri("POST", TOKEN_URL, json=token_endpoint)
    return adapter


@pytest.fixture
def creds() -> ClientCredentials:
    return ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")


@pytest.fixture
def token_http(mock: RecordingMock) -> requests.Session:
    """The session GenesysAuth sends token requests with."""
    return mounted(mock)


@pytest.fixture
def auth(creds: ClientCredentials, token_http: requests.Session, clock: ManualClock) -> GenesysAuth:
    return GenesysAuth(creds, http=token_http, clock=clock)


@pytest.fixture(params=["auth", "adapter"])
def client(request: pytest.FixtureRequest, auth: GenesysAuth, mock: RecordingMock) -> Client:
    """The same behaviour is required from ``auth=GenesysAuth`` and from a mounted ``GenesysAdapter``."""
    mode: str = request.param
    return make_client(mode, auth, mock)
