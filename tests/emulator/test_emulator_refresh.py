"""grant_type=refresh_token: rotation, revocations (access vs refresh), the refresh hold, the counters."""

from __future__ import annotations

import threading

import pytest
import requests

from .userflow import (
    TIMEOUT,
    api,
    assert_oauth_error,
    code_login,
    pkce_code,
    pkce_exchange,
    refresh,
    token,
)


def test_each_refresh_rotates_the_refresh_token(genesys_emulator):
    first = code_login(genesys_emulator)

    second = refresh(genesys_emulator, first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert api(genesys_emulator, "GET", "/api/v2/users/me", body["access_token"]).status_code == 200

    assert_oauth_error(refresh(genesys_emulator, first["refresh_token"]), "invalid_grant")
    assert refresh(genesys_emulator, body["refresh_token"]).status_code == 200
    counters = genesys_emulator.counters()
    assert counters["token_requests_by_grant"] == {"authorization_code": 1, "refresh_token": 3}
    assert (counters["refresh_tokens_issued"], counters["refresh_tokens_rejected"]) == (3, 1)


def test_the_old_access_token_keeps_working_after_a_refresh(genesys_emulator):
    first = code_login(genesys_emulator)
    refresh(genesys_emulator, first["refresh_token"])
    assert api(genesys_emulator, "GET", "/api/v2/users/me", first["access_token"]).status_code == 200


def test_revoke_all_revokes_access_tokens_and_keeps_refresh_tokens(genesys_emulator):
    login = code_login(genesys_emulator)
    genesys_emulator.revoke_all()

    assert api(genesys_emulator, "GET", "/api/v2/users/me", login["access_token"]).status_code == 401
    renewed = refresh(genesys_emulator, login["refresh_token"])
    assert renewed.status_code == 200
    assert api(genesys_emulator, "GET", "/api/v2/users/me", renewed.json()["access_token"]).status_code == 200


def test_revoke_refresh_tokens_keeps_access_tokens(genesys_emulator):
    login = code_login(genesys_emulator)
    genesys_emulator.revoke_refresh_tokens()

    assert_oauth_error(refresh(genesys_emulator, login["refresh_token"]), "invalid_grant")
    assert api(genesys_emulator, "GET", "/api/v2/users/me", login["access_token"]).status_code == 200
    assert code_login(genesys_emulator)["refresh_token"]  # a new login gets a working one


@pytest.mark.parametrize(
    ("path", "access_works", "refresh_works"),
    [("/_emulator/revoke-all", False, True), ("/_emulator/revoke-refresh-tokens", True, False)],
)
def test_control_endpoints_revoke_either_kind(genesys_emulator, path, access_works, refresh_works):
    login = code_login(genesys_emulator)

    assert requests.post(genesys_emulator.api_url + path, timeout=TIMEOUT).json() == {"ok": True}

    me = api(genesys_emulator, "GET", "/api/v2/users/me", login["access_token"])
    assert (me.status_code == 200) is access_works
    assert (refresh(genesys_emulator, login["refresh_token"]).status_code == 200) is refresh_works


def test_refresh_tokens_are_bound_to_their_client(genesys_emulator_factory):
    emu = genesys_emulator_factory(pkce_refresh_tokens=True)
    code_refresh = code_login(emu)["refresh_token"]

    as_pkce = token(
        emu, {"grant_type": "refresh_token", "refresh_token": code_refresh, "client_id": "emulator-pkce-client"}
    )
    assert_oauth_error(as_pkce, "invalid_grant")

    pkce_refresh = pkce_exchange(emu, pkce_code(emu)).json()["refresh_token"]
    assert_oauth_error(refresh(emu, pkce_refresh), "invalid_grant")  # presented by the code client
    form = {"grant_type": "refresh_token", "refresh_token": pkce_refresh, "client_id": "emulator-pkce-client"}
    renewed = token(emu, form)
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != pkce_refresh


def test_pkce_client_without_refresh_tokens_cannot_refresh(genesys_emulator):
    form = {"grant_type": "refresh_token", "refresh_token": "anything", "client_id": "emulator-pkce-client"}
    assert_oauth_error(token(genesys_emulator, form), "invalid_grant")


@pytest.mark.parametrize(
    ("auth", "form", "error"),
    [
        (("emulator-code-client", "emulator-code-secret"), {}, "invalid_request"),
        (("emulator-code-client", "wrong"), {"refresh_token": "x"}, "invalid_client"),
        (("emulator-client", "emulator-secret"), {"refresh_token": "x"}, "unauthorized_client"),
        (("emulator-saml2-client", "emulator-saml2-secret"), {"refresh_token": "x"}, "unauthorized_client"),
        (None, {"refresh_token": "x"}, "invalid_client"),
        (("emulator-code-client", "emulator-code-secret"), {"refresh_token": "unknown"}, "invalid_grant"),
    ],
    ids=["missing", "wrong-secret", "client-credentials-client", "saml2-client", "no-auth", "unknown"],
)
def test_refresh_errors(genesys_emulator, auth, form, error):
    response = token(genesys_emulator, {"grant_type": "refresh_token", **form}, auth)
    assert_oauth_error(response, error)


def test_hold_next_refresh_holds_the_answer_after_rotation(genesys_emulator):
    login = code_login(genesys_emulator)
    hold = genesys_emulator.hold_next_refresh()
    answers: list[requests.Response] = []
    refresher = threading.Thread(target=lambda: answers.append(refresh(genesys_emulator, login["refresh_token"])))
    refresher.start()
    try:
        assert hold.wait_minted(TIMEOUT)
        # Rotated already: the presented refresh token is spent while its answer is still held.
        assert_oauth_error(refresh(genesys_emulator, login["refresh_token"]), "invalid_grant")
        assert answers == []
    finally:
        hold.release()
        refresher.join(TIMEOUT)
    assert not refresher.is_alive()
    assert answers[0].status_code == 200
    assert refresh(genesys_emulator, answers[0].json()["refresh_token"]).status_code == 200


def test_hold_next_refresh_does_not_hold_other_grants(genesys_emulator):
    hold = genesys_emulator.hold_next_refresh()
    hold.release()  # released in advance: the held refresh below answers at once

    login = code_login(genesys_emulator)  # an authorization_code request: not the one held
    assert not hold.wait_minted(0)
    assert refresh(genesys_emulator, login["refresh_token"]).status_code == 200
    assert hold.wait_minted(0)


def test_hold_next_refresh_released_in_time(genesys_emulator):
    login = code_login(genesys_emulator)
    hold = genesys_emulator.hold_next_refresh()
    releaser = threading.Thread(target=lambda: hold.wait_minted(TIMEOUT) and hold.release())
    releaser.start()
    response = refresh(genesys_emulator, login["refresh_token"])
    releaser.join(TIMEOUT)
    assert response.status_code == 200


def test_a_faulted_refresh_still_counts_as_a_refresh(genesys_emulator):
    login = code_login(genesys_emulator)
    genesys_emulator.fail_token_requests(1, status=400, retry_after=None)

    assert_oauth_error(refresh(genesys_emulator, login["refresh_token"]), "invalid_request")
    assert refresh(genesys_emulator, login["refresh_token"]).status_code == 200  # the fault spent nothing
    assert genesys_emulator.counters()["token_requests_by_grant"]["refresh_token"] == 2
    genesys_emulator.reset_counters()
    assert genesys_emulator.counters()["token_requests_by_grant"] == {}
