"""POST /oauth/token with grant_type=authorization_code: the code client (Basic auth) and the PKCE client."""

from __future__ import annotations

import pytest

from .userflow import (
    api,
    assert_oauth_error,
    basic,
    code_exchange,
    code_grant_code,
    new_verifier,
    pkce_code,
    pkce_exchange,
    token,
)


def test_pkce_exchange_gives_a_user_token_without_refresh_token(genesys_emulator):
    response = pkce_exchange(genesys_emulator, pkce_code(genesys_emulator))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert "refresh_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    me = api(genesys_emulator, "GET", "/api/v2/users/me", body["access_token"])
    assert me.status_code == 200
    assert me.json() == genesys_emulator.login_user
    counters = genesys_emulator.counters()
    assert counters["token_requests_by_grant"] == {"authorization_code": 1}
    assert (counters["codes_redeemed"], counters["user_tokens_issued"], counters["refresh_tokens_issued"]) == (1, 1, 0)


def test_pkce_refresh_tokens_when_asked(genesys_emulator_factory):
    emu = genesys_emulator_factory(pkce_refresh_tokens=True)
    body = pkce_exchange(emu, pkce_code(emu)).json()
    assert body["refresh_token"]


def test_code_client_exchange_gives_a_refresh_token(genesys_emulator):
    response = code_exchange(genesys_emulator, code_grant_code(genesys_emulator))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["refresh_token"] != body["access_token"]
    assert api(genesys_emulator, "GET", "/api/v2/users/me", body["access_token"]).status_code == 200


def test_code_client_may_use_pkce_too(genesys_emulator):
    verifier = new_verifier()

    without = code_grant_code(genesys_emulator, verifier=verifier)
    assert_oauth_error(code_exchange(genesys_emulator, without), "invalid_request")  # the verifier is required
    with_verifier = code_grant_code(genesys_emulator, verifier=verifier)
    response = code_exchange(genesys_emulator, with_verifier, code_verifier=verifier)
    assert response.status_code == 200
    assert response.json()["refresh_token"]


def test_a_code_works_once(genesys_emulator):
    code = pkce_code(genesys_emulator)
    assert pkce_exchange(genesys_emulator, code).status_code == 200
    assert_oauth_error(pkce_exchange(genesys_emulator, code), "invalid_grant")
    assert genesys_emulator.counters()["user_tokens_issued"] == 1


def test_a_failed_attempt_spends_the_code(genesys_emulator):
    code = pkce_code(genesys_emulator)
    assert_oauth_error(pkce_exchange(genesys_emulator, code, code_verifier=new_verifier()), "invalid_grant")
    assert_oauth_error(pkce_exchange(genesys_emulator, code), "invalid_grant")


def test_a_code_expires_after_a_minute_of_server_time(genesys_emulator):
    fresh, stale = pkce_code(genesys_emulator), pkce_code(genesys_emulator)
    assert pkce_exchange(genesys_emulator, fresh).status_code == 200
    genesys_emulator.set_skew(61)
    assert_oauth_error(pkce_exchange(genesys_emulator, stale), "invalid_grant")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_verifier": "x" * 43}, "invalid_grant"),  # well-formed, wrong
        ({"code_verifier": "short"}, "invalid_grant"),  # malformed
        ({"code_verifier": None}, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:8766/callback"}, "invalid_grant"),
        ({"redirect_uri": None}, "invalid_grant"),
        ({"code": "not-a-code"}, "invalid_grant"),
        ({"code": None}, "invalid_request"),
        ({"client_id": "emulator-code-client"}, "invalid_client"),  # a confidential client without Basic auth
        ({"client_id": "nobody"}, "invalid_client"),
        ({"client_id": None}, "invalid_client"),
    ],
)
def test_pkce_exchange_errors(genesys_emulator, overrides, error):
    code = pkce_code(genesys_emulator)
    response = pkce_exchange(genesys_emulator, code, **overrides)

    assert_oauth_error(response, error)
    assert genesys_emulator.counters()["user_tokens_issued"] == 0


def test_pkce_client_with_basic_auth_is_refused(genesys_emulator):
    code = pkce_code(genesys_emulator)
    form = {"grant_type": "authorization_code", "code": code.code, "redirect_uri": code.redirect_uri}
    response = token(genesys_emulator, {**form, "code_verifier": code.verifier}, ("emulator-pkce-client", "x"))
    assert_oauth_error(response, "invalid_client")


def test_verifier_without_a_challenge_is_refused(genesys_emulator):
    code = code_grant_code(genesys_emulator)
    assert_oauth_error(code_exchange(genesys_emulator, code, code_verifier=new_verifier()), "invalid_request")


def test_another_clients_code_is_refused(genesys_emulator_factory):
    emu = genesys_emulator_factory(pkce_refresh_tokens=True)
    code = code_grant_code(emu)  # issued to the code client
    form = {"grant_type": "authorization_code", "code": code.code, "redirect_uri": code.redirect_uri}
    response = token(emu, {**form, "client_id": "emulator-pkce-client", "code_verifier": new_verifier()})
    assert_oauth_error(response, "invalid_grant")


@pytest.mark.parametrize(
    ("auth", "error"),
    [
        (("emulator-code-client", "wrong"), "invalid_client"),
        (("emulator-client", "emulator-secret"), "unauthorized_client"),  # the client-credentials client
        (("emulator-saml2-client", "emulator-saml2-secret"), "unauthorized_client"),
        (None, "invalid_client"),
    ],
    ids=["wrong-secret", "client-credentials-client", "saml2-client", "no-auth"],
)
def test_code_exchange_client_errors(genesys_emulator, auth, error):
    response = code_exchange(genesys_emulator, code_grant_code(genesys_emulator), auth=auth)
    assert_oauth_error(response, error)


def test_a_user_client_cannot_use_client_credentials(genesys_emulator):
    response = token(genesys_emulator, {"grant_type": "client_credentials"}, basic(genesys_emulator, "code"))
    assert_oauth_error(response, "unauthorized_client")


def test_token_faults_and_counts_apply_to_user_grants(genesys_emulator):
    code = pkce_code(genesys_emulator)
    genesys_emulator.fail_token_requests(1, status=503)

    assert pkce_exchange(genesys_emulator, code).status_code == 503
    assert pkce_exchange(genesys_emulator, code).status_code == 200  # the fault came before the code was spent
    assert genesys_emulator.counters()["token_requests_by_grant"] == {"authorization_code": 2}
