"""Credentials: ClientCredentials and AccessToken (from_env and .env files: test_config.py)."""

from __future__ import annotations

from typing import Callable

import pytest

from genesys_auth_adapter import (
    AccessToken,
    ClientCredentials,
    ConfigurationError,
    GenesysAuth,
    IssuedToken,
    TokenRequestError,
    session,
)
from genesys_auth_adapter.emulator import Emulator

from .helpers import CLIENT_ID, CLIENT_SECRET


def test_client_credentials_resolve_the_region_urls() -> None:
    """Pins: a region name gives the API and login base URLs; surrounding blanks are dropped."""
    creds = ClientCredentials(f" {CLIENT_ID} ", f"{CLIENT_SECRET}\n", "eu_west_1")
    assert creds.client_id == CLIENT_ID
    assert creds.client_secret == CLIENT_SECRET
    assert creds.api_url == "https://api.mypurecloud.ie"
    assert creds.login_url == "https://login.mypurecloud.ie"


def test_client_credentials_repr_has_no_secret() -> None:
    """Pins: printing or logging the credentials never shows the client secret."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert CLIENT_SECRET not in text
    assert CLIENT_ID in repr(creds)


def test_client_credentials_are_frozen() -> None:
    """Pins: credentials are values; nobody swaps the URL a token is sent to."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1")
    with pytest.raises(AttributeError):
        creds.api_url = "https://evil.example"  # type: ignore[misc]


@pytest.mark.parametrize(("client_id", "client_secret"), [("", ""), ("  ", None)])
def test_missing_id_and_secret_are_named_together(client_id: str, client_secret: str | None) -> None:
    """Pins: one error names both missing values."""
    with pytest.raises(ConfigurationError) as caught:
        ClientCredentials(client_id, client_secret, "us-east-1")  # type: ignore[arg-type]
    assert "client_id" in str(caught.value) and "client_secret" in str(caught.value)


def test_login_url_is_derived_from_an_explicit_api_url() -> None:
    """Pins: api_url=https://api.X gives login_url=https://login.X, like the official SDK."""
    creds = ClientCredentials(CLIENT_ID, CLIENT_SECRET, api_url="https://api.mypurecloud.de/")
    assert creds.api_url == "https://api.mypurecloud.de"
    assert creds.login_url == "https://login.mypurecloud.de"


def test_an_api_url_without_api_label_needs_an_explicit_login_url() -> None:
    """Pins: a gateway URL cannot silently derive a wrong login host."""
    with pytest.raises(ConfigurationError, match="login_url"):
        ClientCredentials(CLIENT_ID, CLIENT_SECRET, api_url="https://gateway.example.com")
    creds = ClientCredentials(
        CLIENT_ID, CLIENT_SECRET, api_url="https://gateway.example.com", login_url="https://sso.example.com/"
    )
    assert creds.login_url == "https://sso.example.com"


def test_explicit_urls_override_the_region() -> None:
    """Pins: login_url= and api_url= win over the region's defaults (proxies, the emulator)."""
    creds = ClientCredentials(
        CLIENT_ID, CLIENT_SECRET, "us-east-1", api_url="http://127.0.0.1:8080", login_url="http://127.0.0.1:8081"
    )
    assert (creds.api_url, creds.login_url) == ("http://127.0.0.1:8080", "http://127.0.0.1:8081")


def test_no_region_and_no_api_url_is_a_configuration_error() -> None:
    """Pins: the message says how to give a region."""
    with pytest.raises(ConfigurationError, match="region"):
        ClientCredentials(CLIENT_ID, CLIENT_SECRET)


def test_access_token_without_refresh_starts_with_the_given_token() -> None:
    """Pins: the given token is used first; once rejected, the error says how to supply a refresh."""
    source = AccessToken("given-token", "us-east-1", expires_in=120.0)
    first = source.initial_token()
    assert (first.access_token, first.expires_in) == ("given-token", 120.0)
    with pytest.raises(TokenRequestError, match="refresh"):
        source.obtain()
    assert source.api_url == "https://api.mypurecloud.com"


def test_access_token_with_refresh_callback() -> None:
    """Pins: the callback may return a string or an IssuedToken; an empty value is an error."""
    answers: list[str | IssuedToken] = ["  second  ", IssuedToken("third", expires_in=60.0), ""]
    source = AccessToken("first", api_url="https://gateway.example.com", refresh=lambda: answers.pop(0))
    assert source.initial_token().access_token == "first"
    assert source.obtain().access_token == "second"
    third = source.obtain()
    assert (third.access_token, third.expires_in) == ("third", 60.0)
    with pytest.raises(TokenRequestError):
        source.obtain()


def test_one_access_token_serves_several_auths() -> None:
    """Pins: a hidden "already handed out" flag making the second GenesysAuth fail before any request."""
    source = AccessToken("shared-token", "us-east-1")
    first, second = GenesysAuth(source), GenesysAuth(source)
    assert first.header() == second.header() == "Bearer shared-token"
    assert first.manager.token_requests == second.manager.token_requests == 0


def test_an_access_token_with_a_line_break_is_refused_without_quoting_it() -> None:
    """Pins: http.client's ValueError quoting the whole header, token included."""
    with pytest.raises(ConfigurationError) as caught:
        AccessToken("secret-part\nsecond-line", "us-east-1")
    assert "secret-part" not in str(caught.value)


def test_access_token_repr_has_no_token_and_validates_inputs() -> None:
    """Pins: the token stays out of repr; an empty token or a non-callable refresh fails early."""
    source = AccessToken("given-token-value", "us-east-1", refresh=lambda: "x")
    assert "given-token-value" not in repr(source)
    with pytest.raises(ConfigurationError):
        AccessToken("  ", "us-east-1")
    with pytest.raises(ConfigurationError):
        AccessToken("t", "us-east-1", refresh="not callable")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "client_id", "client_secret"),
    [
        ("client_id", "clïent-4711", CLIENT_SECRET),  # Latin-1: requests would send other bytes
        ("client_id", "client-€-4711", CLIENT_SECRET),  # beyond Latin-1: a UnicodeEncodeError today
        ("client_id", "client\x00id", CLIENT_SECRET),
        ("client_secret", CLIENT_ID, "s3cr3t-ünïcode"),
        ("client_secret", CLIENT_ID, "s3cr3t-€-Ω"),
        ("client_secret", CLIENT_ID, "s3cr3t\tpart"),
        ("client_secret", CLIENT_ID, "s3cr3t\x7fpart"),
    ],
)
def test_a_client_id_or_secret_basic_auth_cannot_carry_is_refused_naming_the_field(
    field: str, client_id: str, client_secret: str
) -> None:
    """Pins: a UnicodeEncodeError from deep inside requests (or Latin-1 bytes Genesys never issued)."""
    with pytest.raises(ConfigurationError) as caught:
        ClientCredentials(client_id, client_secret, "us-east-1")
    message = str(caught.value)
    assert message.startswith(field) and "printable ASCII" in message
    for value in (client_id, client_secret):
        assert value not in message


def test_a_colon_is_refused_in_the_client_id_but_allowed_in_the_secret() -> None:
    """Pins: Basic auth splitting 'id:part' at the first colon, so the server sees another client id."""
    with pytest.raises(ConfigurationError) as caught:
        ClientCredentials("client:4711", CLIENT_SECRET, "us-east-1")
    assert str(caught.value).startswith("client_id contains ':'")
    assert "client:4711" not in str(caught.value)
    creds = ClientCredentials(CLIENT_ID, "se:cr et", "us-east-1")
    assert creds.client_secret == "se:cr et"


@pytest.mark.parametrize("token", ["tökén", "tok€n", "tok\x00en"])
def test_a_non_ascii_access_token_is_a_configuration_error(token: str) -> None:
    """Pins: a header value http.client cannot encode (or encodes as Latin-1) reaching requests."""
    with pytest.raises(ConfigurationError) as caught:
        AccessToken(token, "us-east-1")
    assert token not in str(caught.value)


def test_a_refresh_returning_a_non_ascii_token_fails_the_request_with_a_token_error(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    """Pins: a UnicodeEncodeError from http.client when the re-send carries the refreshed token."""
    emu = genesys_emulator_factory()
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        return "tok€n-from-the-vault"

    source = AccessToken("unknown-to-the-emulator", api_url=emu.api_url, refresh=refresh)
    with session(source, timeout=(5.0, 15.0)) as s, pytest.raises(TokenRequestError) as caught:
        s.get("/api/v2/organizations/me")
    assert calls == [1]  # the 401 was answered by asking the callback once
    assert "unusable token" in str(caught.value)
    assert "vault" not in str(caught.value)
    assert [r["path"] for r in emu.requests()] == ["/api/v2/organizations/me"]  # the bad token was never sent


def test_bad_urls_fail_when_the_credentials_are_made() -> None:
    """Pins: a port out of range, a blank in a host or a doubled /api/v2 surfacing only at the first request."""
    with pytest.raises(ConfigurationError, match=r"^api_url ends in /api/v2"):
        ClientCredentials(CLIENT_ID, CLIENT_SECRET, api_url="https://api.mypurecloud.com/api/v2/")
    with pytest.raises(ConfigurationError, match=r"^login_url has an invalid host or port"):
        ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1", login_url="https://login.mypurecloud.com:99999")
    with pytest.raises(ConfigurationError, match=r"^api_url contains a blank"):
        AccessToken("token", api_url="https://api.mypure cloud.com")
    with pytest.raises(ConfigurationError, match=r"^api_url has port 0"):
        AccessToken("token", api_url="https://gateway.example.com:0/genesys")


@pytest.mark.parametrize("expires_in", [float("nan"), float("inf"), 0.0, -1.0])
def test_an_access_token_lifetime_must_be_a_finite_positive_number(expires_in: float) -> None:
    """Pins: expires_in=nan accepted, the token invalid at once and reported as "rejected or expired"."""
    with pytest.raises(ConfigurationError, match="finite"):
        AccessToken("given", "us-east-1", expires_in=expires_in)
