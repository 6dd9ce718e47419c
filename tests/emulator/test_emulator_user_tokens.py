"""User tokens on the API origin: users/me, tokens/me (GET, HEAD, DELETE), tokens/timeout, idle expiry."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

from .userflow import TIMEOUT, api, code_login, pkce_code, pkce_exchange, refresh, saml2


def user_token(emu) -> str:
    token: str = pkce_exchange(emu, pkce_code(emu)).json()["access_token"]
    return token


def parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("login", [user_token, lambda emu: saml2(emu).json()["access_token"]], ids=["pkce", "saml2"])
def test_users_me_answers_the_login_user(genesys_emulator_factory, login):
    emu = genesys_emulator_factory(login_user=5)
    response = api(emu, "GET", "/api/v2/users/me", login(emu))
    assert response.status_code == 200
    assert response.json() == emu.login_user


def test_users_me_is_the_same_user_as_in_the_directory(genesys_emulator, client):
    me = api(genesys_emulator, "GET", "/api/v2/users/me", user_token(genesys_emulator)).json()
    listed = client.get(f"/api/v2/users/{me['id']}")
    assert listed.status_code == 200 and listed.json() == me


def test_users_me_still_refuses_client_credentials_tokens(genesys_emulator, client):
    response = client.get("/api/v2/users/me")
    assert response.status_code == 400
    assert "requires a user context" in response.json()["message"]


def test_below_users_me_is_not_found_for_a_user(genesys_emulator):
    assert api(genesys_emulator, "GET", "/api/v2/users/me/anything", user_token(genesys_emulator)).status_code == 404


def test_tokens_me_describes_a_user_token(genesys_emulator):
    info = api(genesys_emulator, "GET", "/api/v2/tokens/me", user_token(genesys_emulator)).json()

    assert info["OAuthClient"]["id"] == "emulator-pkce-client"
    assert info["OAuthClient"]["authorizedGrantType"] == "PKCE"
    user = genesys_emulator.login_user
    assert info["authenticatedUser"] == {"id": user["id"], "name": user["name"], "selfUri": user["selfUri"]}
    assert info["organization"]["name"] == "Emulated Organization"
    assert "dateTokenIdles" not in info  # idle expiry is off by default


@pytest.mark.parametrize(
    ("login", "label"), [(code_login, "CODE"), (lambda emu: saml2(emu).json(), "SAML2BEARER")], ids=["code", "saml2"]
)
def test_tokens_me_names_the_grant(genesys_emulator, login, label):
    info = api(genesys_emulator, "GET", "/api/v2/tokens/me", login(genesys_emulator)["access_token"]).json()
    assert info["OAuthClient"]["authorizedGrantType"] == label


def test_tokens_me_of_a_client_credentials_token(client):
    info = client.get("/api/v2/tokens/me").json()
    assert info["authenticatedUser"] is None
    assert info["OAuthClient"]["authorizedGrantType"] == "CLIENT-CREDENTIALS"
    assert "dateTokenIdles" not in info


def test_head_verifies_and_delete_revokes_the_calling_user_token(genesys_emulator):
    token, other = user_token(genesys_emulator), user_token(genesys_emulator)

    assert api(genesys_emulator, "HEAD", "/api/v2/tokens/me", token).status_code == 200
    assert api(genesys_emulator, "DELETE", "/api/v2/tokens/me", token).status_code == 204
    assert api(genesys_emulator, "HEAD", "/api/v2/tokens/me", token).status_code == 401
    assert api(genesys_emulator, "GET", "/api/v2/users/me", token).status_code == 401
    assert api(genesys_emulator, "HEAD", "/api/v2/tokens/me", other).status_code == 200


def test_idle_timeout_defaults_off(genesys_emulator, client):
    assert client.get("/api/v2/tokens/timeout").json() == {
        "idleTokenTimeoutSeconds": 28800,
        "enableIdleTokenTimeout": False,
    }


def test_put_timeout_sets_and_reports_it(genesys_emulator, client):
    response = client.request(
        "PUT", "/api/v2/tokens/timeout", json={"idleTokenTimeoutSeconds": 900, "enableIdleTokenTimeout": True}
    )
    assert response.json() == {"idleTokenTimeoutSeconds": 900, "enableIdleTokenTimeout": True}
    assert client.get("/api/v2/tokens/timeout").json() == {
        "idleTokenTimeoutSeconds": 900,
        "enableIdleTokenTimeout": True,
    }

    off = client.request("PUT", "/api/v2/tokens/timeout", json={"enableIdleTokenTimeout": False})
    assert off.json() == {"idleTokenTimeoutSeconds": 900, "enableIdleTokenTimeout": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"idleTokenTimeoutSeconds": 299}, "idleTokenTimeoutSeconds"),
        ({"idleTokenTimeoutSeconds": 28801}, "idleTokenTimeoutSeconds"),
        ({"idleTokenTimeoutSeconds": 600.5}, "idleTokenTimeoutSeconds"),
        ({"idleTokenTimeoutSeconds": True}, "idleTokenTimeoutSeconds"),
        ({"enableIdleTokenTimeout": "yes"}, "enableIdleTokenTimeout"),
        ([], "body"),
    ],
)
def test_put_timeout_refuses_values_out_of_range(genesys_emulator, client, body, field):
    response = client.request("PUT", "/api/v2/tokens/timeout", json=body)
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == field
    assert client.get("/api/v2/tokens/timeout").json()["enableIdleTokenTimeout"] is False


def test_an_idle_user_token_gets_401_for_good(genesys_emulator_factory):
    emu = genesys_emulator_factory(idle_timeout=300)
    idle, busy = user_token(emu), user_token(emu)

    emu.set_skew(200)
    assert api(emu, "GET", "/api/v2/users/me", busy).status_code == 200  # resets busy's timer
    emu.set_skew(301)
    assert api(emu, "GET", "/api/v2/users/me", idle).status_code == 401
    assert api(emu, "GET", "/api/v2/users/me", busy).status_code == 200
    emu.set_skew(0)
    assert api(emu, "GET", "/api/v2/users/me", idle).status_code == 401  # gone, not merely asleep
    assert emu.counters()["idle_expired"] == 1


def test_client_credentials_tokens_never_idle(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(idle_timeout=1)
    client = make_client(emu)
    emu.set_skew(3600)
    assert client.get("/api/v2/organizations/me").status_code == 200


def test_date_token_idles_and_preserve_idle_ttl(genesys_emulator_factory):
    emu = genesys_emulator_factory(idle_timeout=600)
    token = user_token(emu)
    issued_at = emu.server_time()

    emu.set_skew(100)
    preserved = api(emu, "GET", "/api/v2/tokens/me", token, params={"preserveIdleTTL": "true"}).json()
    assert abs(parse_iso(preserved["dateTokenIdles"]) - (issued_at + 600)) < 2

    emu.set_skew(550)
    assert api(emu, "GET", "/api/v2/tokens/me", token, params={"preserveIdleTTL": "true"}).status_code == 200
    emu.set_skew(610)  # 610 s since the last use that counted: preserveIdleTTL reads did not reset it
    assert api(emu, "GET", "/api/v2/tokens/me", token).status_code == 401


def test_a_plain_tokens_me_resets_the_idle_timer(genesys_emulator_factory):
    emu = genesys_emulator_factory(idle_timeout=600)
    token = user_token(emu)

    emu.set_skew(500)
    info = api(emu, "GET", "/api/v2/tokens/me", token).json()
    assert abs(parse_iso(info["dateTokenIdles"]) - (emu.server_time() + 600)) < 2
    emu.set_skew(1000)
    assert api(emu, "GET", "/api/v2/users/me", token).status_code == 200


def test_idle_timeout_from_python_and_the_fault_api(genesys_emulator):
    token = user_token(genesys_emulator)
    genesys_emulator.set_idle_timeout(5)
    genesys_emulator.set_skew(6)
    assert api(genesys_emulator, "GET", "/api/v2/users/me", token).status_code == 401

    faults = genesys_emulator.api_url + "/_emulator/faults"
    assert requests.post(faults, json={"idleTimeout": None}, timeout=TIMEOUT).status_code == 200
    fresh = user_token(genesys_emulator)
    genesys_emulator.set_skew(50_000)  # far past any idle timeout, within the token lifetime
    assert api(genesys_emulator, "GET", "/api/v2/users/me", fresh).status_code == 200
    refused = requests.post(faults, json={"idleTimeout": 0}, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert refused.json()["details"][0]["fieldName"] == "idleTimeout"


def test_a_refresh_gives_a_token_with_a_fresh_idle_timer(genesys_emulator_factory):
    emu = genesys_emulator_factory(idle_timeout=300)
    login = code_login(emu)
    emu.set_skew(400)
    assert api(emu, "GET", "/api/v2/users/me", login["access_token"]).status_code == 401
    renewed = refresh(emu, login["refresh_token"]).json()
    assert api(emu, "GET", "/api/v2/users/me", renewed["access_token"]).status_code == 200
