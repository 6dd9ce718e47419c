"""GenesysSession and session(): a ready-made requests.Session for the API."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from genesys_auth_adapter import (
    ClientCredentials,
    GenesysAdapter,
    GenesysAuth,
    GenesysSession,
    ManualClock,
    RetryPolicy,
    session,
)

from .helpers import API, CLIENT_ID, CLIENT_SECRET, ORG_ME, TOKEN_URL, RecordingMock, mounted


def test_session_resolves_relative_paths_and_attaches_tokens(
    creds: ClientCredentials, token_http: requests.Session, mock: RecordingMock
) -> None:
    """Pins: session(creds).get('/api/v2/...') goes to the API base with a bearer token."""
    mock.register_uri("GET", ORG_ME, json={"id": "me"})
    with session(creds, http=token_http, transport=mock) as s:
        assert isinstance(s, GenesysSession)
        assert s.get("/api/v2/organizations/me").json() == {"id": "me"}
    assert mock.sent[-1].url == ORG_ME
    assert mock.sent[-1].headers["Authorization"] == "Bearer token-1"


@pytest.mark.parametrize("path", ["api/v2/organizations/me", "/api/v2/organizations/me"])
def test_a_path_without_its_leading_slash_goes_to_the_api_base_too(
    creds: ClientCredentials, token_http: requests.Session, mock: RecordingMock, path: str
) -> None:
    """Pins: session().get("api/v2/...") failing with requests' MissingSchema where the CLI accepted the path."""
    mock.register_uri("GET", ORG_ME, json={"id": "me"})
    with session(creds, http=token_http, transport=mock) as s:
        assert s.get(path).json() == {"id": "me"}
    assert mock.sent[-1].url == ORG_ME
    assert mock.sent[-1].headers["Authorization"] == "Bearer token-1"


def test_session_mounts_the_adapter_on_the_api_base_only(creds: ClientCredentials) -> None:
    """Pins: the API base gets a GenesysAdapter; every other URL keeps requests' default adapter."""
    s = session(creds)
    adapter = s.get_adapter(f"{API}/api/v2/organizations/me")
    assert isinstance(adapter, GenesysAdapter)
    assert adapter.auth is s.genesys_auth
    assert not isinstance(s.get_adapter("https://storage.example/x"), GenesysAdapter)
    assert not isinstance(s.get_adapter("https://login.mypurecloud.com/oauth/token"), GenesysAdapter)
    assert s.base_url == API


def test_session_absolute_urls_elsewhere_get_no_token(
    creds: ClientCredentials, token_http: requests.Session, mock: RecordingMock
) -> None:
    """Pins: an absolute URL off the API host is sent as it is, without a token."""
    mock.register_uri("GET", "https://storage.example/file", content=b"x")
    s = session(creds, http=token_http, transport=mock)
    s.mount("https://storage.example/", mock)
    s.get("https://storage.example/file")
    assert "Authorization" not in mock.sent[-1].headers
    assert [r for r in mock.sent if r.url == TOKEN_URL] == []


def test_session_passes_auth_options_to_the_auth(creds: ClientCredentials) -> None:
    """Pins: clock, wait_timeout and retry reach GenesysAuth; the rest reach the adapter."""
    clock = ManualClock()
    policy = RetryPolicy(max_attempts=2)
    s = session(creds, clock=clock, wait_timeout=7.0, retry=policy, pool_maxsize=3)
    assert s.genesys_auth.manager.clock is clock
    assert s.genesys_auth.retry is policy
    adapter = s.get_adapter(f"{API}/x")
    assert isinstance(adapter, GenesysAdapter)
    assert adapter.retry is policy


def test_genesys_session_from_an_auth(auth: GenesysAuth, mock: RecordingMock) -> None:
    """Pins: GenesysSession(auth) shares the auth's token with anyone else using it."""
    mock.register_uri("GET", ORG_ME, json={})
    s = GenesysSession(auth, transport=mock)
    s.get("/api/v2/organizations/me")
    mounted(mock).get(ORG_ME, auth=auth)
    api = [r for r in mock.sent if r.url == ORG_ME]
    assert [r.headers["Authorization"] for r in api] == ["Bearer token-1", "Bearer token-1"]
    assert len([r for r in mock.sent if r.url == TOKEN_URL]) == 1


def test_session_without_credentials_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pins: session() with no arguments builds its credentials with from_env()."""
    for name in ("GENESYS_REGION", "GENESYS_ENV", "GENESYS_API_URL", "GENESYS_LOGIN_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENESYS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GENESYS_REGION", "eu-west-1")
    s = session()
    assert s.base_url == "https://api.mypurecloud.ie"
    assert isinstance(s.genesys_auth.credentials, ClientCredentials)


def test_the_adapter_needs_a_genesys_auth() -> None:
    """Pins: passing credentials (or anything else) instead of a GenesysAuth fails at once."""
    with pytest.raises(TypeError, match="GenesysAuth"):
        GenesysAdapter(ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1"))  # type: ignore[arg-type]
