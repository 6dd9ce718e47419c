"""OAuth clients of the authorization code grant: public with PKCE (:class:`PkceClient`), or with a secret
(:class:`CodeClient`).

Each builds the three requests of a user login, and nothing else: the authorize URL the browser opens,
the token request that exchanges the code, and the token request that trades a refresh token for a new
access token. Where the refresh token is kept, and how it is rotated, is the token store's business
(:mod:`..stores.rotation`). Used as a token source on its own, a client stands for "the login the token
store holds for this client id" (what ``genesys-auth login`` left there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..credentials import check_basic_auth_part, resolve_urls
from ..engine.token import IssuedToken
from ..errors import ConfigurationError, LoginRequiredError
from ..oauth import TokenRequest
from ..stores.base import StoreIdentity
from .pkce import AuthorizationRequest

#: The redirect URI used unless told otherwise; register it in Genesys Cloud without a port (any port is
#: then accepted for a loopback address, so each login picks a free one).
DEFAULT_REDIRECT_URI = "http://127.0.0.1"
#: The grant under which a user login's tokens are stored (PKCE and a code client with a secret alike).
USER_GRANT = "authorization_code"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def check_redirect_uri(uri: str) -> str:
    """A registered loopback redirect URI, checked: ``http://127.0.0.1`` or ``http://localhost``, a port and
    a path optional, no query or fragment.

    Raises:
        ConfigurationError: Another scheme or host (the login's redirect server listens on 127.0.0.1 only).
    """
    if not isinstance(uri, str) or not uri.strip():
        raise ConfigurationError(f"redirect_uri is empty: register {DEFAULT_REDIRECT_URI} in Genesys Cloud and use it.")
    parts = urlsplit(uri.strip())
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"redirect_uri {uri!r} has an invalid port.") from None
    if parts.scheme != "http" or (parts.hostname or "").lower() not in _LOOPBACK_HOSTS or parts.username:
        raise ConfigurationError(
            f"redirect_uri {uri!r} is not a loopback address: the login's redirect server listens on 127.0.0.1 "
            f"only, so register {DEFAULT_REDIRECT_URI} (or http://localhost) in Genesys Cloud and use that."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"redirect_uri {uri!r} has a query or fragment: register it without one.")
    if port == 0:
        raise ConfigurationError(f"redirect_uri {uri!r}: leave the port out for any free port, rather than 0.")
    return urlunsplit(("http", parts.netloc.lower(), parts.path, "", ""))


def with_port(uri: str, port: int) -> str:
    """``uri`` with ``port`` (a loopback redirect URI registered without one accepts any port)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, f"{parts.hostname}:{port}", parts.path, "", ""))


def registered_port(uri: str) -> int | None:
    """The port written in a registered redirect URI, or None (any port)."""
    return urlsplit(uri).port


class _AuthorizationCode:
    """What the two clients share: the authorize URL, the code exchange and the refresh request."""

    client_id: str
    login_url: str
    api_url: str
    redirect_uri: str

    @property
    def client_secret(self) -> str:
        return ""

    def _basic(self) -> tuple[str, str] | None:
        return None

    def _client_fields(self) -> tuple[tuple[str, str], ...]:
        # A public client names itself in the form; a confidential one in the Basic header.
        return (("client_id", self.client_id),)

    def authorize_url(self, request: AuthorizationRequest) -> str:
        """The URL the browser opens: ``/oauth/authorize`` with the code response type, PKCE (S256) and state."""
        query = urlencode(
            {
                "client_id": self.client_id,
                "response_type": "code",
                "redirect_uri": request.redirect_uri,
                "code_challenge": request.challenge,
                "code_challenge_method": "S256",
                "state": request.state,
            }
        )
        return f"{self.login_url}/oauth/authorize?{query}"

    def exchange_request(self, code: str, request: AuthorizationRequest) -> TokenRequest:
        """The token request that exchanges an authorization code (with its verifier) for tokens."""
        form = (
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", request.redirect_uri),
            ("code_verifier", request.verifier),
            *self._client_fields(),
        )
        return TokenRequest(
            url=f"{self.login_url}/oauth/token",
            form=form,
            basic=self._basic(),
            secret=self.client_secret,
            hidden=(code, request.verifier),
        )

    def refresh_request(self, refresh_token: str) -> TokenRequest:
        """The token request that trades ``refresh_token`` for a new access token (and a new refresh token)."""
        return TokenRequest(
            url=f"{self.login_url}/oauth/token",
            form=(("grant_type", "refresh_token"), ("refresh_token", refresh_token), *self._client_fields()),
            basic=self._basic(),
            secret=self.client_secret,
            hidden=(refresh_token,),
        )

    def store_identity(self) -> StoreIdentity:
        """Where this client's login is kept: its login origin, client id and (for a code client) secret."""
        return StoreIdentity(self.login_url, self.client_id, USER_GRANT, secret=self.client_secret)

    def initial_token(self) -> IssuedToken | None:
        """None: the token store's login provides the tokens."""
        return None

    def initial_refresh_token(self) -> str | None:
        """None: a client alone carries no login (the token store's is used)."""
        return None

    def token_request(self) -> TokenRequest | None:
        """None: a user grant cannot get a first token without the user (see :func:`login_with_browser`)."""
        return None

    def obtain(self) -> IssuedToken:
        """Never a token: there is no login to refresh outside a token store."""
        raise LoginRequiredError(
            f"No login is stored for the OAuth client {self.client_id}: run `genesys-auth login` "
            "(or login_with_browser()) and use the same token store."
        )


def _user_client_urls(
    client_id: str, region: str | None, api_url: str | None, login_url: str | None, redirect_uri: str | None
) -> tuple[str, str, str, str]:
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigurationError("Missing client_id: give the OAuth client's id (Admin > Integrations > OAuth).")
    client_id = client_id.strip()
    check_basic_auth_part(client_id, "client_id", colon_allowed=False)
    api, login = resolve_urls(region, api_url, login_url, need_login=True)
    return client_id, api, login, check_redirect_uri(redirect_uri or DEFAULT_REDIRECT_URI)


@dataclass(frozen=True, init=False)
class PkceClient(_AuthorizationCode):
    """A public OAuth client of the authorization code grant with PKCE: a client id, no secret.

    Register it in Genesys Cloud as a "Code Authorization" client with the redirect URI (by default
    ``http://127.0.0.1``, no port: any port is then accepted for a loopback address).

    Args:
        client_id: The OAuth client id.
        region: A region name or domain.
        redirect_uri: The loopback redirect URI registered for the client; a port in it is used as is.
        login_url: Overrides the login base URL (proxies, tests, the local emulator).
        api_url: Overrides the API base URL.

    Raises:
        ConfigurationError: A value is missing or invalid.
    """

    client_id: str
    api_url: str
    login_url: str
    redirect_uri: str

    def __init__(
        self,
        client_id: str,
        region: str | None = None,
        *,
        redirect_uri: str | None = None,
        login_url: str | None = None,
        api_url: str | None = None,
    ) -> None:
        values = _user_client_urls(client_id, region, api_url, login_url, redirect_uri)
        for name, value in zip(("client_id", "api_url", "login_url", "redirect_uri"), values):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"PkceClient(client_id={self.client_id!r}, api_url={self.api_url!r})"


@dataclass(frozen=True, init=False)
class CodeClient(_AuthorizationCode):
    """A confidential OAuth client of the authorization code grant: a client id and its secret.

    The browser login is the same as :class:`PkceClient`'s (PKCE and state included); the code exchange
    and every refresh also authenticate the client with its secret (HTTP Basic).

    Args:
        client_id: The OAuth client id.
        client_secret: The client secret (never shown in ``repr`` or messages).
        region: A region name or domain.
        redirect_uri: The loopback redirect URI registered for the client.
        login_url: Overrides the login base URL.
        api_url: Overrides the API base URL.

    Raises:
        ConfigurationError: A value is missing or invalid.
    """

    client_id: str
    api_url: str
    login_url: str
    redirect_uri: str
    secret: str = field(repr=False)

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        region: str | None = None,
        *,
        redirect_uri: str | None = None,
        login_url: str | None = None,
        api_url: str | None = None,
    ) -> None:
        values = _user_client_urls(client_id, region, api_url, login_url, redirect_uri)
        if not isinstance(client_secret, str) or not client_secret.strip():
            raise ConfigurationError("Missing client_secret: give the code client's secret, or use PkceClient.")
        check_basic_auth_part(client_secret.strip(), "client_secret", colon_allowed=True)
        for name, value in zip(("client_id", "api_url", "login_url", "redirect_uri"), values):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "secret", client_secret.strip())

    @property
    def client_secret(self) -> str:
        return self.secret

    def _basic(self) -> tuple[str, str] | None:
        return (self.client_id, self.secret)

    def _client_fields(self) -> tuple[tuple[str, str], ...]:
        return ()

    def __repr__(self) -> str:
        return f"CodeClient(client_id={self.client_id!r}, api_url={self.api_url!r})"


#: A client of the authorization code grant.
UserClient = Union[PkceClient, CodeClient]
