"""No secret of a user grant in a repr, a str, a message, a log line or a pickle."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, field

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
