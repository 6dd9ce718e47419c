"""No secret of a user grant in a repr, a str, a message, a log line or a pickle."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from genesys_auth_adapter import IssuedToken, LoginRequiredError, TokenRequestError
from genesys_auth_adapter.grants import AuthorizationRequest, CodeClient, PkceClient, RefreshToken, Saml2Bearer
from genesys_auth_adapter.oauth import parse_token_response

SECRET = "client-secret-Zq81"
REFRESH = "refresh-token-Rk52"
ACCESS = "access-token-Ax93"
ASSERTION = "saml-assertion-Sa77"
CODE = "authorization-code-Cd64"


@dataclass
class Answer:
    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def leaks(text: str | bytes, *secrets: str) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [secret for secret in secrets if secret.encode() in data]


def test_reprs_and_strs_show_no_secret() -> None:
    request = AuthorizationRequest.new("http://127.0.0.1:5000")
    login = RefreshToken(
        CodeClient("cid", SECRET, "eu-west-1"),
        REFRESH,
        access_token=IssuedToken(ACCESS, expires_in=60.0, refresh_token=REFRESH),
    )
    objects = [
        CodeClient("cid", SECRET, "eu-west-1"),
        Saml2Bearer("cid", SECRET, "org", ASSERTION, "eu-west-1"),
        login,
        request,
        login.refresh_request(REFRESH),
        login.client.exchange_request(CODE, request),
        Saml2Bearer("cid", SECRET, "org", ASSERTION, "eu-west-1").token_request(),
        IssuedToken(ACCESS, refresh_token=REFRESH),
    ]
    for item in objects:
        text = repr(item) + str(item)
        assert not leaks(text, SECRET, REFRESH, ACCESS, ASSERTION, CODE, request.verifier, request.state), item


def test_a_pickled_login_carries_neither_token_and_comes_back_as_the_stores_login() -> None:
    """Pins: a RefreshToken crosses a process boundary without its refresh or access token."""
    login = RefreshToken(
        PkceClient("cid", "eu-west-1"),
        REFRESH,
        access_token=IssuedToken(ACCESS, expires_in=60.0),
        login_at=1234.5,
    )
    data = pickle.dumps(login)
    assert not leaks(data, REFRESH, ACCESS)
    back = pickle.loads(data)
    assert isinstance(back, RefreshToken)
    assert (back.client, back.login_at, back.refresh_token, back.access_token) == (login.client, 1234.5, None, None)
    assert copy.deepcopy(login).refresh_token is None  # a deep copy goes the same way


@pytest.mark.parametrize(
    "body",
    [
        {"error": "invalid_grant", "error_description": f"refresh token {REFRESH} revoked"},
        {"error": "invalid_grant", "description": f"code {CODE} already used"},
        {"error": "invalid_client", "error_description": f"client {SECRET} / assertion {ASSERTION} refused"},
    ],
)
def test_login_errors_and_their_pickles_quote_none_of_the_requests_secrets(body: dict[str, str]) -> None:
    import json

    request = AuthorizationRequest.new("http://127.0.0.1:5000")
    sent = [
        CodeClient("cid", SECRET, "eu-west-1").refresh_request(REFRESH),
        CodeClient("cid", SECRET, "eu-west-1").exchange_request(CODE, request),
        Saml2Bearer("cid", SECRET, "org", ASSERTION, "eu-west-1").token_request(),
    ]
    hidden = tuple(value for item in sent for value in item.scrubbed)
    with pytest.raises(TokenRequestError) as raised:
        parse_token_response(Answer(400, json.dumps(body).encode()), secret=hidden)
    error = raised.value
    assert not leaks(str(error) + repr(error) + (error.description or ""), SECRET, REFRESH, CODE, ASSERTION)
    copied = pickle.loads(pickle.dumps(error))
    assert (copied.status, copied.error) == (400, body["error"])
    assert not leaks(pickle.dumps(error), SECRET, REFRESH, CODE, ASSERTION)


def test_login_required_pickles_with_its_message() -> None:
    error = LoginRequiredError("run genesys-auth login", status=400, error="invalid_grant")
    copied = pickle.loads(pickle.dumps(error))
    assert isinstance(copied, LoginRequiredError) and str(copied) == "run genesys-auth login"
    assert copied.error == "invalid_grant"


def test_debug_logs_of_a_login_and_its_refreshes_hold_no_secret(
    caplog: pytest.LogCaptureFixture, genesys_emulator_factory: Callable[..., Any]
) -> None:
    """Pins: with every library logger at DEBUG, a browser login, a refresh after a revocation, a refused
    refresh token and a logout log no refresh token, access token, code, verifier or secret."""
    import logging

    import requests

    from genesys_auth_adapter import GenesysAuth, login_with_browser
    from genesys_auth_adapter.stores import MemoryTokenStore
    from genesys_auth_adapter.stores.logins import forget_login

    from .browser_player import PlayedBrowser

    caplog.set_level(logging.DEBUG)
    emu = genesys_emulator_factory()
    env = emu.env("code")
    client = CodeClient(
        env["GENESYS_CLIENT_ID"],
        env["GENESYS_CLIENT_SECRET"],
        redirect_uri=env["GENESYS_REDIRECT_URI"],
        login_url=emu.login_url,
        api_url=emu.api_url,
    )
    browser = PlayedBrowser()
    login = login_with_browser(client, open_browser=False, show_url=browser, timeout=20)
    browser.join()
    store = MemoryTokenStore()
    auth = GenesysAuth(login, store=store)
    seen = [env["GENESYS_CLIENT_SECRET"], browser.code or "", login.refresh_token or ""]
    with requests.Session() as http:
        http.trust_env = False
        http.get(emu.api_url + "/api/v2/users/me", auth=auth, timeout=10)
        emu.revoke_all()
        http.get(emu.api_url + "/api/v2/users/me", auth=auth, timeout=10)  # a refresh
        seen += [auth.token().access_token, store.load(client.store_identity().refresh_key).access_token]  # type: ignore[union-attr]
        emu.revoke_refresh_tokens()
        emu.revoke_all()
        with pytest.raises(LoginRequiredError):
            http.get(emu.api_url + "/api/v2/users/me", auth=auth, timeout=10)
    forget_login(store, client, None)
    # Everything logged but the emulator's own lines and the played browser's request lines (urllib3 logs the
    # test's GET of the redirect, code included, as it would any URL a program fetches).
    library = "\n".join(
        message
        for record in caplog.records
        if not record.name.startswith("genesys_auth_adapter.emulator")
        for message in [record.getMessage()]
        if "/oauth/authorize?" not in message and "/callback?" not in message
    )
    assert library, "the library logged something"
    leaked = [value for value in seen if value and value in library]
    lines = [line for line in library.splitlines() if any(value in line for value in leaked)]
    assert leaked == [], lines
