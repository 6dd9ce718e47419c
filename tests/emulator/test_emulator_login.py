"""The login origin: client-credentials tokens, login errors, and the server clock (Date, expiry)."""

from __future__ import annotations

import email.utils
import time
import uuid

import jwt
import pytest
import requests

TIMEOUT = 10


def test_default_token_is_opaque_with_configured_lifetime(genesys_emulator, token_request):
    response = token_request(genesys_emulator)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert body["access_token"].count(".") != 2  # not a JWT
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    counters = genesys_emulator.counters()
    assert (counters["token_requests"], counters["tokens_issued"]) == (1, 1)


def test_each_token_request_issues_a_new_token(genesys_emulator, token_for):
    assert token_for(genesys_emulator) != token_for(genesys_emulator)
    assert genesys_emulator.counters()["tokens_issued"] == 2


def test_jwt_claims_are_in_server_time_including_skew(genesys_emulator_factory, token_request):
    emu = genesys_emulator_factory(jwt=True, skew=3600.0, token_lifetime=600)

    body = token_request(emu).json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})

    assert abs(claims["iat"] - (time.time() + 3600)) <= 2
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] == claims["iat"] + 600
    assert claims["sub"] == "emulator-client"
    assert body["expires_in"] == 600


def test_custom_credentials_are_the_only_ones_accepted(genesys_emulator_factory, token_request):
    emu = genesys_emulator_factory(client_id="abc", client_secret="s3cret")

    assert token_request(emu).status_code == 200
    assert token_request(emu, auth=("emulator-client", "emulator-secret")).status_code == 400
    assert emu.env()["GENESYS_CLIENT_ID"] == "abc"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic " + "ZW11bGF0b3ItY2xpZW50Ondyb25n"},  # emulator-client:wrong
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + "bm8tY29sb24="},  # "no-colon"
        {"Authorization": "Bearer something"},
        {},
    ],
    ids=["wrong-secret", "not-base64", "no-colon", "not-basic", "missing"],
)
def test_bad_client_credentials_get_400_invalid_client(genesys_emulator, token_request, headers):
    response = token_request(genesys_emulator, auth=None, headers=headers)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["description"] and body["error_description"] == body["description"]
    assert genesys_emulator.counters()["tokens_issued"] == 0


@pytest.mark.parametrize("form", [{"grant_type": "password"}, {"scope": "x"}], ids=["password", "missing"])
def test_other_grant_types_get_400_unsupported_grant_type(genesys_emulator, token_request, form):
    response = token_request(genesys_emulator, data=form)

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_token_request_must_be_a_form(genesys_emulator, token_request):
    response = token_request(genesys_emulator, data=None, json={"grant_type": "client_credentials"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(("method", "path"), [("GET", "/oauth/token"), ("POST", "/oauth/revoke"), ("GET", "/")])
def test_anything_else_on_the_login_origin_is_a_json_404(genesys_emulator, method, path):
    response = requests.request(method, genesys_emulator.login_url + path, timeout=TIMEOUT)

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "not.found"


def _date_offset(response: requests.Response) -> float:
    return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp() - time.time()


def test_date_header_on_every_origin_is_server_time(genesys_emulator_factory, token_request):
    emu = genesys_emulator_factory(skew=-7200.0)

    responses = [
        token_request(emu),
        requests.get(emu.api_url + "/api/v2/users", timeout=TIMEOUT),
        requests.get(emu.storage_url + "/signed/x", timeout=TIMEOUT),
    ]

    for response in responses:
        assert abs(_date_offset(response) + 7200) <= 2, response.url
    emu.set_skew(600.0)
    assert abs(_date_offset(token_request(emu)) - 600) <= 2


def test_every_origin_sends_a_fresh_correlation_id(genesys_emulator, client, token_request):
    emu = genesys_emulator
    responses = [
        token_request(emu),
        token_request(emu, auth=("x", "y")),
        client.get("/api/v2/organizations/me"),
        client.get("/api/v2/authorization/roles"),
        requests.get(emu.api_url + "/api/v2/organizations/me", timeout=TIMEOUT),
        requests.get(emu.api_url + "/_emulator/counters", timeout=TIMEOUT),
        requests.get(emu.storage_url + "/nothing", timeout=TIMEOUT),
    ]

    ids = [response.headers["ININ-Correlation-Id"] for response in responses]
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert len(set(ids)) == len(ids)


def test_error_context_id_matches_the_correlation_id(genesys_emulator):
    response = requests.get(genesys_emulator.api_url + "/api/v2/organizations/me", timeout=TIMEOUT)

    assert response.json()["contextId"] == response.headers["ININ-Correlation-Id"]


def test_server_expires_tokens_by_its_own_clock(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(token_lifetime=60)
    client = make_client(emu)
    assert client.get("/api/v2/organizations/me").status_code == 200

    emu.set_skew(59.0)
    assert client.get("/api/v2/organizations/me").status_code == 200
    emu.set_skew(61.0)
    expired = client.get("/api/v2/organizations/me")

    assert expired.status_code == 401
    assert expired.json()["code"] == "bad.credentials"
    client.new_token()  # issued at the new server time, so valid again
    assert client.get("/api/v2/organizations/me").status_code == 200


def test_token_lifetime_change_applies_to_tokens_issued_after_it(genesys_emulator, make_client, token_request):
    old = make_client(genesys_emulator)
    genesys_emulator.set_token_lifetime(5)

    assert token_request(genesys_emulator).json()["expires_in"] == 5
    new = make_client(genesys_emulator)
    genesys_emulator.set_skew(10.0)
    assert new.get("/api/v2/organizations/me").status_code == 401
    assert old.get("/api/v2/organizations/me").status_code == 200


def test_token_delay_slows_every_token_answer(genesys_emulator, token_request):
    genesys_emulator.set_token_delay(0.3)

    started = time.monotonic()
    response = token_request(genesys_emulator)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    genesys_emulator.set_token_delay(0)
    started = time.monotonic()
    token_request(genesys_emulator)
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("bad", [0, -5, 1.5])
def test_lifetime_must_be_a_positive_integer(genesys_emulator, bad):
    with pytest.raises(ValueError):
        genesys_emulator.set_token_lifetime(bad)
