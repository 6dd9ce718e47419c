"""Configuration: from_env, the environment and the working directory's .env file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genesys_auth_adapter import ConfigurationError, from_env
from genesys_auth_adapter.config import token_store_setting

from .helpers import CLIENT_ID, CLIENT_SECRET

ENV_NAMES = (
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET",
    "GENESYS_REGION",
    "GENESYS_ENV",
    "GENESYS_LOGIN_URL",
    "GENESYS_API_URL",
    "GENESYS_TOKEN_STORE",
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
    """Pins: GENESYS_ENV works in place of GENESYS_REGION; both may be set when they name one region."""
    base = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    assert from_env({**base, "GENESYS_ENV": "mypurecloud.jp"}).api_url == "https://api.mypurecloud.jp"
    both = {**base, "GENESYS_ENV": "mypurecloud.de", "GENESYS_REGION": "eu-central-1"}
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


def test_a_dotenv_in_a_parent_directory_is_ignored(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins: find_dotenv walking up to a .env in a shared parent directory (a checkout, /tmp)."""
    write_env(
        clean_env.parent / ".env",
        GENESYS_CLIENT_ID=CLIENT_ID,
        GENESYS_CLIENT_SECRET=CLIENT_SECRET,
        GENESYS_API_URL="https://api.attacker.example",
        GENESYS_LOGIN_URL="https://login.attacker.example",
    )
    with pytest.raises(ConfigurationError, match="GENESYS_CLIENT_ID"):
        from_env()
    monkeypatch.setenv("GENESYS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GENESYS_REGION", "eu-west-1")
    creds = from_env()
    assert (creds.api_url, creds.login_url) == ("https://api.mypurecloud.ie", "https://login.mypurecloud.ie")


@pytest.mark.parametrize(
    "url_names", [("GENESYS_API_URL",), ("GENESYS_LOGIN_URL",), ("GENESYS_API_URL", "GENESYS_LOGIN_URL")]
)
@pytest.mark.parametrize(
    "from_environment",
    [("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"), ("GENESYS_CLIENT_ID",), ("GENESYS_CLIENT_SECRET",)],
)
def test_a_dotenv_url_cannot_redirect_credentials_from_the_environment(
    clean_env: Path, url_names: tuple[str, ...], from_environment: tuple[str, ...]
) -> None:
    """Pins: a planted .env with only GENESYS_*_URL sending the environment's secret (and tokens) elsewhere.

    The mixed cases count too: one half of the credentials from the environment is enough.
    """
    credentials = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    environ = {name: credentials[name] for name in from_environment}
    environ["GENESYS_REGION"] = "us-east-1"
    urls = {"GENESYS_API_URL": "https://api.attacker.example", "GENESYS_LOGIN_URL": "https://login.attacker.example"}
    in_file = {name: value for name, value in credentials.items() if name not in from_environment}
    write_env(clean_env / ".env", **in_file, **{name: urls[name] for name in url_names})
    with pytest.raises(ConfigurationError) as caught:
        from_env(environ)
    message = str(caught.value)
    for name in (*url_names, *from_environment):
        assert name in message
    assert "in the environment too" in message and "use_dotenv=False" in message
    assert CLIENT_SECRET not in message


def test_dotenv_urls_are_accepted_with_credentials_from_the_same_file(clean_env: Path) -> None:
    """Pins: the rule against .env URLs also refusing a .env that holds the whole configuration (the emulator)."""
    write_env(
        clean_env / ".env",
        GENESYS_CLIENT_ID=CLIENT_ID,
        GENESYS_CLIENT_SECRET=CLIENT_SECRET,
        GENESYS_API_URL="http://127.0.0.1:8080",
        GENESYS_LOGIN_URL="http://127.0.0.1:8081",
    )
    creds = from_env({"GENESYS_REGION": "us-east-1"})
    assert (creds.api_url, creds.login_url) == ("http://127.0.0.1:8080", "http://127.0.0.1:8081")


def test_urls_set_in_the_environment_shadow_those_in_dotenv(clean_env: Path) -> None:
    """Pins: a .env URL that is not used (the environment sets the same variable) raising a conflict."""
    write_env(
        clean_env / ".env",
        GENESYS_API_URL="https://api.attacker.example",
        GENESYS_LOGIN_URL="https://login.attacker.example",
    )
    creds = from_env(
        {
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            "GENESYS_API_URL": "https://gateway.example.com/genesys",
            "GENESYS_LOGIN_URL": "https://sso.example.com",
        }
    )
    assert (creds.api_url, creds.login_url) == ("https://gateway.example.com/genesys", "https://sso.example.com")


@pytest.mark.parametrize("region_name", ["GENESYS_REGION", "GENESYS_ENV"])
def test_a_region_from_dotenv_is_fine_with_credentials_from_the_environment(clean_env: Path, region_name: str) -> None:
    """Pins: the URL rule spreading to the region, which can only name a Genesys domain."""
    write_env(clean_env / ".env", **{region_name: "ap-southeast-2"})
    creds = from_env({"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET})
    assert (creds.api_url, creds.login_url) == ("https://api.mypurecloud.com.au", "https://login.mypurecloud.com.au")


@pytest.mark.parametrize("in_environment", ["GENESYS_REGION", "GENESYS_ENV"])
@pytest.mark.parametrize("in_file", ["GENESYS_REGION", "GENESYS_ENV"])
def test_a_region_in_the_environment_beats_any_region_in_dotenv(
    clean_env: Path, in_environment: str, in_file: str
) -> None:
    """Pins: GENESYS_REGION in .env winning over GENESYS_ENV in the environment."""
    write_env(clean_env / ".env", **{in_file: "eu-west-1"})
    creds = from_env(
        {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET, in_environment: "mypurecloud.jp"}
    )
    assert creds.api_url == "https://api.mypurecloud.jp"


@pytest.mark.parametrize("where", ["environment", "dotenv"])
def test_two_different_regions_in_one_source_are_an_error(clean_env: Path, where: str) -> None:
    """Pins: GENESYS_REGION silently winning over a GENESYS_ENV that names another region."""
    regions = {"GENESYS_REGION": "eu-central-1", "GENESYS_ENV": "mypurecloud.jp"}
    credentials = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    if where == "environment":
        environ = {**credentials, **regions}
    else:
        environ = credentials
        write_env(clean_env / ".env", **regions)
    with pytest.raises(ConfigurationError) as caught:
        from_env(environ)
    message = str(caught.value)
    assert "GENESYS_REGION='eu-central-1'" in message and "GENESYS_ENV='mypurecloud.jp'" in message
    assert ("in the environment" if where == "environment" else "in the .env file") in message


def test_dotenv_values_are_taken_literally(clean_env: Path) -> None:
    """Pins: ${VAR} expansion letting a .env file pull other environment variables into the credentials."""
    write_env(
        clean_env / ".env",
        GENESYS_CLIENT_ID=CLIENT_ID,
        GENESYS_CLIENT_SECRET="${SOME_OTHER_SECRET}",
        GENESYS_REGION="us-east-1",
    )
    creds = from_env({"SOME_OTHER_SECRET": "the-other-secret"})
    assert creds.client_secret == "${SOME_OTHER_SECRET}"


def test_a_non_ascii_secret_in_dotenv_is_a_configuration_error(clean_env: Path) -> None:
    """Pins: a UnicodeEncodeError at the first token request instead of an error at from_env."""
    write_env(
        clean_env / ".env", GENESYS_CLIENT_ID=CLIENT_ID, GENESYS_CLIENT_SECRET="s3cr3t-€-Ω", GENESYS_REGION="us-east-1"
    )
    with pytest.raises(ConfigurationError, match=r"^client_secret contains a non-ASCII") as caught:
        from_env()
    assert "s3cr3t" not in str(caught.value)


def test_a_bad_url_setting_fails_in_from_env(clean_env: Path) -> None:
    """Pins: GENESYS_API_URL=.../api/v2 accepted and every request then going to /api/v2/api/v2/..."""
    environ = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    with pytest.raises(ConfigurationError, match=r"^GENESYS_API_URL ends in /api/v2: drop it"):
        from_env({**environ, "GENESYS_API_URL": "https://api.mypurecloud.ie/api/v2"})
    with pytest.raises(ConfigurationError, match=r"^GENESYS_LOGIN_URL has an invalid host or port"):
        from_env({**environ, "GENESYS_REGION": "eu-west-1", "GENESYS_LOGIN_URL": "https://login.mypurecloud.ie:70000"})


def test_a_login_url_ending_in_oauth_token_is_refused_by_its_variable_name(clean_env: Path) -> None:
    """Pins: GENESYS_LOGIN_URL=.../oauth/token accepted, then a 404 on /oauth/token/oauth/token at the first token."""
    environ = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET, "GENESYS_REGION": "eu-west-1"}
    with pytest.raises(ConfigurationError) as caught:
        from_env({**environ, "GENESYS_LOGIN_URL": "https://login.mypurecloud.ie/oauth/token"})
    assert str(caught.value).startswith(
        "GENESYS_LOGIN_URL ends in /oauth/token: drop it and set it to 'https://login.mypurecloud.ie'."
    )


def test_the_web_app_address_as_the_region_setting_names_its_region(clean_env: Path) -> None:
    """Pins: GENESYS_REGION=https://apps.mypurecloud.ie/ (the browser's address) was an unknown region."""
    environ = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    creds = from_env({**environ, "GENESYS_REGION": "https://apps.mypurecloud.ie/"}, use_dotenv=False)
    assert (creds.api_url, creds.login_url) == ("https://api.mypurecloud.ie", "https://login.mypurecloud.ie")


def test_the_token_store_setting_comes_from_the_environment_first(clean_env: Path) -> None:
    write_env(clean_env / ".env", GENESYS_TOKEN_STORE="file")
    assert token_store_setting({}) == "file"
    assert token_store_setting({"GENESYS_TOKEN_STORE": "none"}) == "none"
    assert token_store_setting({}, use_dotenv=False) is None


def test_a_dotenv_cannot_send_tokens_of_environment_credentials_to_a_network_store(clean_env: Path) -> None:
    """Pins: a planted .env naming someone's Redis, filled with tokens got with the environment's secret."""
    write_env(clean_env / ".env", GENESYS_TOKEN_STORE="redis://evil.example:6379/0")
    environ = {"GENESYS_CLIENT_ID": CLIENT_ID, "GENESYS_CLIENT_SECRET": CLIENT_SECRET}
    with pytest.raises(ConfigurationError, match="GENESYS_TOKEN_STORE") as caught:
        token_store_setting(environ)
    assert CLIENT_SECRET not in str(caught.value)
    # With the credentials in the same .env file, the file decides.
    write_env(
        clean_env / ".env",
        GENESYS_TOKEN_STORE="redis://cache.example:6379/0",
        GENESYS_CLIENT_ID=CLIENT_ID,
        GENESYS_CLIENT_SECRET=CLIENT_SECRET,
    )
    assert token_store_setting({}) == "redis://cache.example:6379/0"


def test_a_dotenv_network_store_is_refused_for_credentials_given_in_code(clean_env: Path) -> None:
    """Pins: a planted .env naming a Redis received the tokens of credentials passed to session() in code."""
    from genesys_auth_adapter import ClientCredentials, session

    write_env(clean_env / ".env", GENESYS_TOKEN_STORE="redis://evil.example:6379/0")
    with pytest.raises(ConfigurationError, match="given in code"):
        session(ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1"))
    write_env(clean_env / ".env", GENESYS_TOKEN_STORE="file")  # a local store is harmless
    session(ClientCredentials(CLIENT_ID, CLIENT_SECRET, "us-east-1"), store="none").close()
    assert token_store_setting({}, credentials_given=True) == "file"
