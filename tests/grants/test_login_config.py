"""User grants from GENESYS_* settings: which client, which redirect URI, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesys_auth_adapter import CodeClient, ConfigurationError, PkceClient, Saml2Bearer
from genesys_auth_adapter.login_config import grant_setting, login_client_from_env, saml2_from_env

BASE = {"GENESYS_CLIENT_ID": "cid", "GENESYS_REGION": "eu-west-1"}


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a fresh directory: no .env is read


def test_a_client_without_a_secret_is_a_pkce_client_with_the_default_redirect() -> None:
    client = login_client_from_env(BASE)
    assert isinstance(client, PkceClient)
    assert (client.client_id, client.redirect_uri) == ("cid", "http://127.0.0.1")
    assert client.login_url == "https://login.mypurecloud.ie"


def test_a_secret_makes_a_code_client_unless_the_grant_says_pkce() -> None:
    settings = {**BASE, "GENESYS_CLIENT_SECRET": "s", "GENESYS_REDIRECT_URI": "http://localhost:7788/cb"}
    client = login_client_from_env(settings)
    assert isinstance(client, CodeClient) and client.redirect_uri == "http://localhost:7788/cb"
    assert isinstance(login_client_from_env({**settings, "GENESYS_GRANT": "PKCE"}), PkceClient)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"GENESYS_REGION": "eu-west-1"}, "GENESYS_CLIENT_ID"),
        ({**BASE, "GENESYS_GRANT": "code"}, "GENESYS_GRANT=code needs GENESYS_CLIENT_SECRET"),
        ({**BASE, "GENESYS_GRANT": "saml2"}, "not a browser login"),
        ({**BASE, "GENESYS_GRANT": "implicit"}, "GENESYS_GRANT must be one of"),
        ({**BASE, "GENESYS_REDIRECT_URI": "https://example.com/cb"}, "not a loopback address"),
    ],
)
def test_bad_settings_are_named(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        login_client_from_env(settings)


def test_a_dotenv_url_may_not_take_a_client_id_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "GENESYS_LOGIN_URL=https://login.evil.example\nGENESYS_API_URL=https://api.evil.example\n"
    )
    with pytest.raises(ConfigurationError, match="may not send credentials from the environment"):
        login_client_from_env({"GENESYS_CLIENT_ID": "cid"})


def test_saml2_needs_its_org_and_assertion() -> None:
    with pytest.raises(ConfigurationError, match="GENESYS_ORG_NAME, GENESYS_SAML2_ASSERTION"):
        saml2_from_env({**BASE, "GENESYS_CLIENT_SECRET": "s"})
    grant = saml2_from_env(
        {**BASE, "GENESYS_CLIENT_SECRET": "s", "GENESYS_ORG_NAME": "org", "GENESYS_SAML2_ASSERTION": "PHNhbWw+"}
    )
    assert isinstance(grant, Saml2Bearer) and grant.org_name == "org"
    assert grant_setting({"GENESYS_GRANT": "client-credentials"}) == "client_credentials"
