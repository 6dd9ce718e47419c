"""grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer with the emulator's documented test assertion."""

from __future__ import annotations

import base64

import pytest

from genesys_auth_adapter.emulator import Emulator

from .userflow import SAML2_BEARER, api, assert_oauth_error, saml2, token


def test_saml2_bearer_gives_a_user_token_without_refresh_token(genesys_emulator):
    response = saml2(genesys_emulator)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    me = api(genesys_emulator, "GET", "/api/v2/users/me", body["access_token"])
    assert me.json()["email"] == genesys_emulator.login_user["email"]
    assert genesys_emulator.counters()["token_requests_by_grant"] == {SAML2_BEARER: 1}


def test_the_assertion_is_fixed_and_names_the_login_user():
    with Emulator(login_user=3) as emu:
        xml = base64.b64decode(emu.saml_assertion()).decode("utf-8")
        assert emu.env("saml2")["GENESYS_SAML2_ASSERTION"] == emu.saml_assertion()
        assert f">{emu.login_user['email']}</saml2:NameID>" in xml
        assert xml.startswith("<saml2:Assertion ")
    assert Emulator(login_user=3).saml_assertion() == emu.saml_assertion()
    assert Emulator().saml_assertion() != emu.saml_assertion()


@pytest.mark.parametrize(
    "encode",
    [
        lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("="),
        lambda raw: base64.b64encode(raw).decode().rstrip("="),
        lambda raw: base64.encodebytes(raw).decode(),  # line-wrapped
    ],
    ids=["urlsafe-unpadded", "unpadded", "wrapped"],
)
def test_other_encodings_of_the_same_assertion_are_accepted(genesys_emulator, encode):
    raw = base64.b64decode(genesys_emulator.saml_assertion())
    assert saml2(genesys_emulator, assertion=encode(raw)).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"assertion": base64.b64encode(b"<saml2:Assertion/>").decode()}, "invalid_grant"),
        ({"assertion": "!!! not base64 !!!"}, "invalid_grant"),
        ({"assertion": ""}, "invalid_request"),
        ({"orgName": "another-org"}, "invalid_grant"),
        ({"orgName": ""}, "invalid_request"),
    ],
)
def test_saml2_errors(genesys_emulator, overrides, error):
    assert_oauth_error(saml2(genesys_emulator, **overrides), error)
    assert genesys_emulator.counters()["user_tokens_issued"] == 0


def test_another_users_assertion_is_refused(genesys_emulator):
    other = Emulator(login_user=1).saml_assertion()
    assert_oauth_error(saml2(genesys_emulator, assertion=other), "invalid_grant")


@pytest.mark.parametrize(
    ("auth", "error"),
    [
        (("emulator-saml2-client", "wrong"), "invalid_client"),
        (("emulator-code-client", "emulator-code-secret"), "unauthorized_client"),
        (("emulator-client", "emulator-secret"), "unauthorized_client"),
        (None, "invalid_client"),
    ],
    ids=["wrong-secret", "code-client", "client-credentials-client", "no-auth"],
)
def test_saml2_client_errors(genesys_emulator, auth, error):
    form = {"grant_type": SAML2_BEARER, "orgName": "emulated-org", "assertion": genesys_emulator.saml_assertion()}
    assert_oauth_error(token(genesys_emulator, form, auth), error)
