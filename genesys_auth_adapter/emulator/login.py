"""The login origin: ``POST /oauth/token`` (client credentials here; user grants in :mod:`.usergrants`) and
``/oauth/authorize`` (:mod:`.authorize`)."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

from .authorize import PATH as AUTHORIZE_PATH
from .authorize import AuthorizeApp
from .clients import GrantConfig
from .errors import not_found, oauth_error
from .messages import Request, Response, json_response
from .state import EmulatorState
from .usergrants import USER_GRANT_TYPES, UserGrants

_FORM = "application/x-www-form-urlencoded"


class LoginApp:
    """Routes for the login origin.

    Args:
        state: The shared emulator state.
        issuer: Returns the login origin's URL, the ``iss`` of JWT tokens.
        stopping: Set when the emulator stops, so that a token delay ends early.
        grants: The user clients and options of the code, PKCE and SAML2 bearer grants.
    """

    def __init__(
        self, state: EmulatorState, issuer: Callable[[], str], stopping: threading.Event, grants: GrantConfig
    ) -> None:
        self._state = state
        self._issuer = issuer
        self._stopping = stopping
        self._user_grants = UserGrants(state, grants, issuer, _basic_credentials)
        self._authorize = AuthorizeApp(state, grants)
        self._user_clients = grants

    def __call__(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/oauth/token":
            return self._token(request)
        if request.method in ("GET", "POST") and request.path == AUTHORIZE_PATH:
            return self._authorize(request)
        return not_found(request.path)

    def _token(self, request: Request) -> Response:
        state = self._state
        state.count("token_requests")
        media_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        form: dict[str, str] = {}
        if media_type == _FORM:
            parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            form = {name: values[0] for name, values in parsed.items()}
        grant = form.get("grant_type", "")
        # Counted on arrival, so that a faulted or delayed refresh still counts as a refresh.
        state.grants.count_request(grant)
        delay = state.token_delay()
        if delay > 0:
            self._stopping.wait(delay)
        fault = state.take_token_fault()
        if fault is not None:
            return fault.response(state.now())
        if grant in USER_GRANT_TYPES:
            return self._user_grants.token(request, form, grant)
        credentials = _basic_credentials(request.header("authorization"))
        if credentials is None or not _matches(credentials, (state.client_id, state.client_secret)):
            if credentials is not None and self._user_clients.by_id(credentials[0]) is not None:
                return oauth_error("unauthorized_client", "This client is not authorized for client credentials.")
            return oauth_error("invalid_client", "Client authentication failed: invalid client credentials.")
        if media_type != _FORM:
            return oauth_error("invalid_request", f"The request body must be {_FORM}.")
        if grant != "client_credentials":
            return oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant or '(missing)'}.")
        token, lifetime = state.issue_token(self._issuer())
        hold = state.take_token_hold()
        if hold is not None:
            hold.hold()
        body = {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
        return json_response(200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Parses ``Basic base64(id:secret)``; None when the header is absent or malformed."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else None


def _matches(given: tuple[str, str], expected: tuple[str, str]) -> bool:
    # Constant-time, both halves always compared: the emulator should not model a timing leak.
    same_id = hmac.compare_digest(given[0].encode(), expected[0].encode())
    same_secret = hmac.compare_digest(given[1].encode(), expected[1].encode())
    return same_id and same_secret
