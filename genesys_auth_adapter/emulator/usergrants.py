"""``POST /oauth/token`` for the user grants: authorization code (with a secret, or PKCE), refresh, SAML2 bearer.

Wire format, as the official SDKs send it (form body, ``application/x-www-form-urlencoded``):

- code client: Basic auth; ``grant_type=authorization_code``, ``code``, ``redirect_uri``;
- PKCE client: no Basic auth; ``grant_type=authorization_code``, ``code``, ``code_verifier``, ``client_id``,
  ``redirect_uri``;
- refresh: Basic auth (code client); ``grant_type=refresh_token``, ``refresh_token``. A PKCE client (when
  given refresh tokens at all) sends ``client_id`` instead;
- SAML2 bearer: Basic auth; ``grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer``, ``orgName``,
  ``assertion``.

Answers: ``{"access_token", "token_type": "bearer", "expires_in"}`` plus ``refresh_token`` for the code
client (and PKCE with ``pkce_refresh_tokens``). Each refresh returns a new refresh token and retires the one
presented (``invalid_grant`` from then on). Errors are the login service's 400 ``{"error", "description",
"error_description"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping

from . import saml
from .clients import CODE, PKCE, SAML2, GrantConfig, OAuthClient
from .errors import oauth_error
from .grants import RefreshRecord, TokenOwner
from .messages import Request, Response, json_response
from .state import EmulatorState

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
USER_GRANT_TYPES = frozenset({AUTHORIZATION_CODE, REFRESH_TOKEN, SAML2_BEARER})

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


class _Refused(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.response = oauth_error(error, description)


def s256(verifier: str) -> str:
    """The PKCE ``S256`` challenge of a verifier: base64url(SHA-256), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class UserGrants:
    """Answers token requests of the user grants.

    Args:
        state: The shared emulator state.
        config: The user clients and options.
        issuer: Returns the login origin's URL, the ``iss`` of JWT tokens.
        basic: Parses a Basic ``Authorization`` header into (id, secret), or None.
    """

    def __init__(
        self,
        state: EmulatorState,
        config: GrantConfig,
        issuer: Callable[[], str],
        basic: Callable[[str | None], tuple[str, str] | None],
    ) -> None:
        self._state = state
        self._config = config
        self._issuer = issuer
        self._basic = basic

    def token(self, request: Request, form: Mapping[str, str], grant_type: str) -> Response:
        """Answers one token request whose ``grant_type`` is in :data:`USER_GRANT_TYPES`."""
        try:
            if grant_type == AUTHORIZATION_CODE:
                return self._authorization_code(request, form)
            if grant_type == REFRESH_TOKEN:
                return self._refresh(request, form)
            return self._saml2(request, form)
        except _Refused as refused:
            return refused.response

    # Grants.

    def _authorization_code(self, request: Request, form: Mapping[str, str]) -> Response:
        client = self._client(request, form, (CODE, PKCE), "authorization_code")
        code = _required(form, "code")
        pending = self._state.grants.redeem_code(code, self._state.now())
        if pending is None or pending.client_id != client.client_id:
            raise _Refused("invalid_grant", "The authorization code is invalid, expired or already used.")
        if form.get("redirect_uri", "") != pending.redirect_uri:
            raise _Refused("invalid_grant", "redirect_uri does not match the one of the authorization request.")
        verifier = form.get("code_verifier")
        if pending.challenge is not None:
            if not verifier:
                raise _Refused("invalid_request", "code_verifier is required: the authorization used PKCE.")
            if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(s256(verifier), pending.challenge):
                raise _Refused("invalid_grant", "The code_verifier does not match the code_challenge.")
        elif verifier is not None:
            raise _Refused("invalid_request", "code_verifier given, but the authorization had no code_challenge.")
        refreshable = client.grant == CODE or self._config.pkce_refresh_tokens
        return self._issue(client, pending.user, refresh=refreshable)

    def _refresh(self, request: Request, form: Mapping[str, str]) -> Response:
        client = self._client(request, form, (CODE, PKCE), "refresh_token")
        if client.grant == PKCE and not self._config.pkce_refresh_tokens:
            raise _Refused("invalid_grant", "This client is given no refresh tokens.")
        presented = _required(form, "refresh_token")
        rotated = self._state.grants.rotate_refresh(presented, client.client_id)
        if rotated is None:
            raise _Refused("invalid_grant", "The refresh token is invalid, revoked or already used.")
        record, new_refresh = rotated
        return self._issue(client, record.user, refresh_token=new_refresh, refresh_request=True)

    def _saml2(self, request: Request, form: Mapping[str, str]) -> Response:
        client = self._client(request, form, (SAML2,), "saml2-bearer")
        org_name = _required(form, "orgName")
        assertion = _required(form, "assertion")
        if org_name != self._config.org_name:
            raise _Refused("invalid_grant", "No organization has that orgName.")
        if not saml.matches(assertion, self._config.saml_assertion):
            raise _Refused("invalid_grant", "The SAML assertion is invalid.")
        return self._issue(client, client.user, refresh=False)

    # Helpers.

    def _client(self, request: Request, form: Mapping[str, str], grants: tuple[str, ...], label: str) -> OAuthClient:
        """Authenticates the client: Basic auth for a confidential one, ``client_id`` for a PKCE one."""
        header = request.header("authorization")
        if header is not None:
            credentials = self._basic(header)
            client = self._config.by_id(credentials[0]) if credentials else None
            if credentials is None or client is None or client.secret is None:
                if credentials is not None and credentials[0] == self._state.client_id:
                    raise _Refused("unauthorized_client", f"This client is not authorized for the {label} grant.")
                raise _Refused("invalid_client", "Client authentication failed: invalid client credentials.")
            if not hmac.compare_digest(credentials[1].encode(), client.secret.encode()):
                raise _Refused("invalid_client", "Client authentication failed: invalid client credentials.")
        else:
            client = self._config.by_id(form.get("client_id", ""))
            if client is None or client.secret is not None:
                raise _Refused("invalid_client", "Client authentication failed: no client credentials.")
        if client.grant not in grants:
            raise _Refused("unauthorized_client", f"This client is not authorized for the {label} grant.")
        return client

    def _issue(
        self,
        client: OAuthClient,
        user: int,
        *,
        refresh: bool = False,
        refresh_token: str | None = None,
        refresh_request: bool = False,
    ) -> Response:
        state = self._state
        token, lifetime = state.issue_token(self._issuer(), client.client_id)
        state.grants.record_owner(token, TokenOwner(user, client.client_id, client.grant, state.now()))
        if refresh:
            refresh_token = state.grants.issue_refresh(RefreshRecord(client.client_id, user, client.grant))
        hold = state.grants.take_refresh_hold() if refresh_request else None
        hold = hold or state.take_token_hold()
        if hold is not None:
            hold.hold()
        body: dict[str, object] = {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return json_response(200, body, _NO_STORE)


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise _Refused("invalid_request", f"{name} is required.")
    return value
