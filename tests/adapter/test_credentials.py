"""Credentials and configuration: ClientCredentials, AccessToken, from_env and .env files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genesys_auth_adapter import (
    AccessToken,
    ClientCredentials,
    ConfigurationError,
    GenesysAuth,
    IssuedToken,
    TokenRequestError,
    from_env,
)

from .helpers import CLIENT_ID, CLIENT_SECRET

ENV_NAMES = (
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET",
    "GENESYS_REGION",
    "GENESYS_ENV",
    "GENESYS_LOGIN_URL",
    "GENESYS_API_URL",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No GENESYS_* variable in os.environ, and an empty working directory (no stray .env)."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def write_env(path: Path, **values: str) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    return path


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


def test_from_env_reads_an_explicit_environ(clean_env: Path) -> None:
    """Pins: from_env(environ) reads the given mapping, not os.environ."""
    creds = from_env(
        {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET, "GENESYS_REGION": "usw2.pure.cloud"},
        use_dotenv=False,
    )
    assert (creds.client_id, creds.client_secret) == (CLIENT_ID, CLIENT_SECRET)
    assert creds.api_url == "https://api.usw2.pure.cloud"
    assert creds.login_url == "https://login.usw2.pure.cloud"


def test_genesys_env_is_an_alias_for_the_region(clean_env: Path) -> None:
    """Pins: GENESYS_ENV works in place of GENESYS_REGION; GENESYS_REGION wins when both are set."""
    base = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    assert from_env({**base, "GENESYS_ENV": "mypurecloud.jp"}).api_url == "https://api.mypurecloud.jp"
    both = {**base, "GENESYS_ENV": "mypurecloud.jp", "GENESYS_REGION": "eu-central-1"}
    assert from_env(both).api_url == "https://api.mypurecloud.de"


def test_from_env_takes_api_and_login_urls(clean_env: Path) -> None:
    """Pins: GENESYS_API_URL / GENESYS_LOGIN_URL replace the region (the local emulator)."""
    creds = from_env(
        {
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            "GENESYS_API_URL": "http://127.0.0.1:8080",
            "GENESYS_LOGIN_URL": "http://127.0.0.1:8080/login",
        }
    )
    assert (creds.api_url, creds.login_url) == ("http://127.0.0.1:8080", "http://127.0.0.1:8080/login")


def test_from_env_reads_a_dotenv_path(clean_env: Path, tmp_path: Path) -> None:
    """Pins: dotenv_path= is read, and not loaded into os.environ."""
    path = write_env(
        tmp_path / "genesys.env",
        GENESYS_CLIENT_ID=CLIENT_ID,
        GENESYS_CLIENT_SECRET=CLIENT_SECRET,
        GENESYS_REGION="ap-south-1",
    )
    creds = from_env({}, dotenv_path=str(path))
    assert (creds.client_id, creds.client_secret, creds.api_url) == (
        CLIENT_ID,
        CLIENT_SECRET,
        "https://api.aps1.pure.cloud",
    )
    assert "GENESYS_CLIENT_SECRET" not in os.environ


def test_from_env_finds_the_dotenv_of_the_working_directory(clean_env: Path) -> None:
    """Pins: with no dotenv_path, the .env in the working directory is used."""
    write_env(clean_env / ".env", GENESYS_CLIENT_ID=CLIENT_ID, GENESYS_CLIENT_SECRET=CLIENT_SECRET, GENESYS_ENV="cac1")
    with pytest.raises(ConfigurationError):  # 'cac1' is no region: proves the file was read
        from_env()
    write_env(
        clean_env / ".env", GENESYS_CLIENT_ID=CLIENT_ID, GENESYS_CLIENT_SECRET=CLIENT_SECRET, GENESYS_ENV="ca-central-1"
    )
    assert from_env().api_url == "https://api.cac1.pure.cloud"


def test_the_real_environment_wins_over_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins: a variable set in the environment is never overridden by the .env file; a blank one is."""
    write_env(
        clean_env / ".env",
        GENESYS_CLIENT_ID="file-id",
        GENESYS_CLIENT_SECRET="file-secret",
        GENESYS_REGION="eu-west-2",
    )
    monkeypatch.setenv("GENESYS_CLIENT_ID", "env-id")
    monkeypatch.setenv("GENESYS_REGION", "eu-central-2")
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", "   ")
    creds = from_env()
    assert creds.client_id == "env-id"
    assert creds.api_url == "https://api.euc2.pure.cloud"
    assert creds.client_secret == "file-secret"


def test_missing_and_blank_variables_are_named_in_one_error(clean_env: Path) -> None:
    """Pins: the user fixes every missing setting in one go, not one per run."""
    with pytest.raises(ConfigurationError) as caught:
        from_env({"GENESYS_CLIENT_ID": "   ", "GENESYS_REGION": ""})
    message = str(caught.value)
    assert "GENESYS_CLIENT_ID" in message
    assert "GENESYS_CLIENT_SECRET" in message
    assert "GENESYS_REGION" in message


def test_a_configuration_error_never_quotes_the_secret(clean_env: Path) -> None:
    """Pins: the secret is not echoed when other settings are missing."""
    with pytest.raises(ConfigurationError) as caught:
        from_env({"GENESYS_CLIENT_SECRET": CLIENT_SECRET})
    assert CLIENT_SECRET not in str(caught.value)
    assert "GENESYS_CLIENT_ID" in str(caught.value)


def test_a_missing_dotenv_path_is_an_error(clean_env: Path, tmp_path: Path) -> None:
    """Pins: a typo in dotenv_path is reported, not silently ignored."""
    with pytest.raises(ConfigurationError, match="does not exist"):
        from_env({}, dotenv_path=str(tmp_path / "nope.env"))


def test_use_dotenv_false_ignores_the_dotenv_file(clean_env: Path) -> None:
    """Pins: use_dotenv=False reads the environment only."""
    write_env(
        clean_env / ".env", GENESYS_CLIENT_ID=CLIENT_ID, GENESYS_CLIENT_SECRET=CLIENT_SECRET, GENESYS_ENV="us-east-1"
    )
    with pytest.raises(ConfigurationError, match="GENESYS_CLIENT_ID"):
        from_env(use_dotenv=False)


def test_access_token_without_refresh_starts_with_the_given_token() -> None:
    """Pins: the given token is used first; once rejected, the error says how to supply a refresh."""
    source = AccessToken("given-token", "us-east-1", expires_in=120.0)
    first = source.initial_token()
    assert (first.access_token, first.expires_in) == ("given-token", 120.0)
    with pytest.raises(TokenRequestError, match="refresh"):
        source.fetch_token(None)  # type: ignore[arg-type]
    assert source.api_url == "https://api.mypurecloud.com"


def test_access_token_with_refresh_callback() -> None:
    """Pins: the callback may return a string or an IssuedToken; an empty value is an error."""
    answers: list[str | IssuedToken] = ["  second  ", IssuedToken("third", expires_in=60.0), ""]
    source = AccessToken("first", api_url="https://gateway.example.com", refresh=lambda: answers.pop(0))
    assert source.initial_token().access_token == "first"
    assert source.fetch_token(None).access_token == "second"  # type: ignore[arg-type]
    third = source.fetch_token(None)  # type: ignore[arg-type]
    assert (third.access_token, third.expires_in) == ("third", 60.0)
    with pytest.raises(TokenRequestError):
        source.fetch_token(None)  # type: ignore[arg-type]


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
