"""Helpers for the user-grant tests: drive /oauth/authorize and /oauth/token as a client would, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from genesys_auth_adapter.emulator import Emulator

TIMEOUT = 10
SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
REDIRECT = "http://127.0.0.1:8765/callback"


def s256(verifier: str) -> str:
    """The PKCE S256 challenge, computed here independently of the emulator's code."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode("ascii").rstrip("=")


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def authorize(emu: Emulator, **params: str) -> requests.Response:
    """GET /oauth/authorize with ``params``, without following the redirect."""
    return requests.get(f"{emu.login_url}/oauth/authorize", params=params, allow_redirects=False, timeout=TIMEOUT)


def redirect_params(response: requests.Response) -> dict[str, str]:
    """The query parameters of a 302's Location (single values)."""
    assert response.status_code == 302, response.text
    query = urlsplit(response.headers["Location"]).query
    return {name: values[0] for name, values in parse_qs(query).items()}


def token(emu: Emulator, form: dict[str, str], auth: tuple[str, str] | None = None) -> requests.Response:
    """POST /oauth/token with a form body (Basic auth when ``auth`` is given)."""
    return requests.post(f"{emu.login_url}/oauth/token", data=form, auth=auth, timeout=TIMEOUT)


def basic(emu: Emulator, grant: str) -> tuple[str, str]:
    env = emu.env(grant)
    return env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"]


@dataclass
class Code:
    """An authorization code and what the token request must repeat."""

    code: str
    redirect_uri: str
    verifier: str | None


def pkce_code(emu: Emulator, redirect_uri: str = REDIRECT, state: str = "st4te") -> Code:
    verifier = new_verifier()
    response = authorize(
        emu,
        client_id=emu.env("pkce")["GENESYS_CLIENT_ID"],
        response_type="code",
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=s256(verifier),
        code_challenge_method="S256",
    )
    params = redirect_params(response)
    assert params["state"] == state
    return Code(params["code"], redirect_uri, verifier)


def code_grant_code(emu: Emulator, redirect_uri: str = REDIRECT, verifier: str | None = None) -> Code:
    """A code for the code client (with a PKCE challenge when ``verifier`` is given)."""
    params = {"client_id": emu.env("code")["GENESYS_CLIENT_ID"], "response_type": "code", "redirect_uri": redirect_uri}
    if verifier is not None:
        params.update(code_challenge=s256(verifier), code_challenge_method="S256")
    return Code(redirect_params(authorize(emu, **params))["code"], redirect_uri, verifier)


def pkce_exchange(emu: Emulator, code: Code, /, **overrides: str | None) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code.code,
        "code_verifier": code.verifier or "",
        "client_id": emu.env("pkce")["GENESYS_CLIENT_ID"],
        "redirect_uri": code.redirect_uri,
        **overrides,
    }
    return token(emu, {k: v for k, v in form.items() if v is not None})


def code_exchange(emu: Emulator, code: Code, /, **overrides: Any) -> requests.Response:
    auth = overrides.pop("auth", basic(emu, "code"))
    form = {"grant_type": "authorization_code", "code": code.code, "redirect_uri": code.redirect_uri, **overrides}
    return token(emu, {k: v for k, v in form.items() if v is not None}, auth)


def code_login(emu: Emulator) -> dict[str, Any]:
    """A full code-grant login: the token answer (with a refresh token)."""
    response = code_exchange(emu, code_grant_code(emu))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(emu: Emulator, refresh_token: str, auth: tuple[str, str] | None = None) -> requests.Response:
    return token(emu, {"grant_type": "refresh_token", "refresh_token": refresh_token}, auth or basic(emu, "code"))


def saml2(emu: Emulator, **overrides: str) -> requests.Response:
    env = emu.env("saml2")
    auth = (env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"])
    form = {
        "grant_type": SAML2_BEARER,
        "orgName": env["GENESYS_ORG_NAME"],
        "assertion": env["GENESYS_SAML2_ASSERTION"],
        **overrides,
    }
    return token(emu, form, auth)


def api(emu: Emulator, method: str, path: str, access_token: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.request(method, emu.api_url + path, headers=headers, timeout=TIMEOUT, **kwargs)


def assert_oauth_error(response: requests.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["description"] and body["error_description"] == body["description"]
