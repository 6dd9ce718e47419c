"""GET/POST /oauth/authorize: redirects with a code, error redirects, error pages, the consent form."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from .userflow import REDIRECT, TIMEOUT, authorize, new_verifier, redirect_params, s256


def pkce_params(emu, **overrides):
    params = {
        "client_id": emu.env("pkce")["GENESYS_CLIENT_ID"],
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "abc",
        "code_challenge": s256(new_verifier()),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_pkce_authorize_redirects_at_once_with_code_and_state(genesys_emulator):
    response = authorize(genesys_emulator, **pkce_params(genesys_emulator))

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:8765", "/callback")
    params = redirect_params(response)
    assert params["state"] == "abc"
    assert len(params["code"]) >= 32
    counters = genesys_emulator.counters()
    assert (counters["authorize_requests"], counters["codes_issued"]) == (1, 1)


def test_each_authorize_gives_a_new_code(genesys_emulator):
    first = redirect_params(authorize(genesys_emulator, **pkce_params(genesys_emulator)))
    second = redirect_params(authorize(genesys_emulator, **pkce_params(genesys_emulator)))
    assert first["code"] != second["code"]


def test_state_is_optional_and_then_absent_from_the_redirect(genesys_emulator):
    params = redirect_params(authorize(genesys_emulator, **pkce_params(genesys_emulator, state=None)))
    assert "code" in params and "state" not in params


def test_code_client_may_authorize_without_pkce(genesys_emulator):
    client_id = genesys_emulator.env("code")["GENESYS_CLIENT_ID"]
    response = authorize(genesys_emulator, client_id=client_id, response_type="code", redirect_uri=REDIRECT)
    assert "code" in redirect_params(response)


def test_redirect_uri_query_is_kept(genesys_emulator_factory):
    registered = "http://127.0.0.1:9000/cb?tenant=7"
    emu = genesys_emulator_factory(redirect_uris=[registered])
    response = authorize(emu, **pkce_params(emu, redirect_uri=registered))
    assert response.headers["Location"].startswith(registered + "&code=")


@pytest.mark.parametrize(
    "redirect_uri", ["http://127.0.0.1:1/callback", "http://localhost:65000/callback", "http://127.0.0.1/callback"]
)
def test_loopback_redirect_matches_on_any_port_by_default(genesys_emulator, redirect_uri):
    response = authorize(genesys_emulator, **pkce_params(genesys_emulator, redirect_uri=redirect_uri))
    assert response.headers["Location"].startswith(redirect_uri + "?code=")


def test_exact_matching_refuses_another_port(genesys_emulator_factory):
    emu = genesys_emulator_factory(redirect_uris=["http://127.0.0.1:8765/callback"], loopback_any_port=False)

    assert authorize(emu, **pkce_params(emu, redirect_uri="http://127.0.0.1:8765/callback")).status_code == 302
    refused = authorize(emu, **pkce_params(emu, redirect_uri="http://127.0.0.1:8766/callback"))
    assert refused.status_code == 400
    assert "Location" not in refused.headers


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8765/other",  # another path
        "https://127.0.0.1:8765/callback",  # another scheme
        "http://evil.example:8765/callback",  # not loopback
        "http://127.0.0.1:8765/callback?x=1",  # another query
        "http://127.0.0.1:notaport/callback",
        "",
    ],
)
def test_unregistered_redirect_gets_an_error_page_not_a_redirect(genesys_emulator, redirect_uri):
    response = authorize(genesys_emulator, **pkce_params(genesys_emulator, redirect_uri=redirect_uri))

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert "redirect" in response.text.lower()


@pytest.mark.parametrize("client", ["nobody", "emulator-client", "emulator-saml2-client", None])
def test_unknown_or_non_code_client_gets_an_error_page(genesys_emulator, client):
    response = authorize(genesys_emulator, **pkce_params(genesys_emulator, client_id=client))

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Invalid client" in response.text
    assert genesys_emulator.counters()["codes_issued"] == 0


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),  # RFC 7636: absent means plain
        ({"code_challenge": None}, "invalid_request"),  # a PKCE client must send a challenge
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"code_challenge": "!" * 43}, "invalid_request"),
    ],
)
def test_bad_request_is_redirected_with_error_and_state(genesys_emulator, overrides, error):
    params = redirect_params(authorize(genesys_emulator, **pkce_params(genesys_emulator, **overrides)))

    assert params["error"] == error
    assert params["error_description"]
    assert params["state"] == "abc"
    assert "code" not in params
    assert genesys_emulator.counters()["codes_issued"] == 0


def test_consent_deny_redirects_access_denied(genesys_emulator_factory):
    emu = genesys_emulator_factory(consent="deny")
    params = redirect_params(authorize(emu, **pkce_params(emu)))
    assert (params["error"], params["state"]) == ("access_denied", "abc")


def _form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


@pytest.mark.parametrize(("decision", "outcome"), [("allow", "code"), ("deny", "error")])
def test_consent_form_posts_back_and_redirects(genesys_emulator_factory, decision, outcome):
    emu = genesys_emulator_factory(consent="form")
    page = authorize(emu, **pkce_params(emu))
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'action="/oauth/authorize"' in page.text and 'value="allow"' in page.text
    assert emu.counters()["codes_issued"] == 0

    fields = _form_fields(page.text)
    answer = requests.post(
        f"{emu.login_url}/oauth/authorize",
        data={**fields, "decision": decision},
        allow_redirects=False,
        timeout=TIMEOUT,
    )

    params = redirect_params(answer)
    assert outcome in params
    assert params["state"] == "abc"
    assert emu.counters()["codes_issued"] == (1 if decision == "allow" else 0)


def test_consent_form_answer_without_a_decision_is_refused(genesys_emulator_factory):
    emu = genesys_emulator_factory(consent="form")
    fields = _form_fields(authorize(emu, **pkce_params(emu)).text)
    answer = requests.post(f"{emu.login_url}/oauth/authorize", data=fields, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert emu.counters()["codes_issued"] == 0


def test_consent_form_escapes_what_it_echoes(genesys_emulator_factory):
    emu = genesys_emulator_factory(consent="form")
    page = authorize(emu, **pkce_params(emu, state='"><script>x</script>'))
    assert "<script>" not in page.text
    assert _form_fields(page.text)["state"] == "&quot;&gt;&lt;script&gt;x&lt;/script&gt;"


def test_other_methods_on_authorize_are_not_found(genesys_emulator):
    response = requests.put(f"{genesys_emulator.login_url}/oauth/authorize", timeout=TIMEOUT)
    assert response.status_code == 404
