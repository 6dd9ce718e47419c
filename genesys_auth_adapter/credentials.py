"""Credentials: frozen values that say where the API is and how to get a token.

They hold settings only; the HTTP of the token request lives in :mod:`.transport.login`, which they
are handed at call time (the credentials/transport split of google-auth).
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Union

from .engine.token import IssuedToken
from .errors import ConfigurationError, TokenRequestError
from .oauth import TokenRequest
from .regions import checked_base_url, get_region, login_url_for


class TokenSource(Protocol):
    """The contract of every token source: where the API is, and how to get a token for it.

    A source either describes an HTTP token request (:meth:`token_request` returns a
    :class:`~genesys_auth_adapter.oauth.TokenRequest`, which each front end sends with its own HTTP
    library, through the same retries, and whose answer is parsed in one place), or gets tokens some
    other way (:meth:`token_request` returns None and :meth:`obtain` is called: a refresh callback, a
    vault). Sources are frozen values that know nothing of HTTP libraries.

    A user grant (:mod:`.grants`) also has ``refresh_request(refresh_token)``, ``initial_refresh_token()`` and
    ``store_identity()``: its refresh tokens are then kept and rotated in a token store
    (:mod:`.stores.user_fetch`).
    """

    @property
    def api_url(self) -> str:
        """The API base URL tokens are sent to, without a trailing slash."""

    def initial_token(self) -> IssuedToken | None:
        """A token to start with (one the source already has), or None."""

    def token_request(self) -> TokenRequest | None:
        """The token request to send for a new token, or None when :meth:`obtain` gets tokens instead."""

    def obtain(self) -> IssuedToken:
        """A new token, got without an HTTP token request (called only when :meth:`token_request` is None).

        Raises:
            TokenRequestError: No token could be had.
        """


def resolve_urls(
    region: str | None, api_url: str | None, login_url: str | None, *, need_login: bool
) -> tuple[str, str]:
    """The (API, login) base URLs from a region and the overrides; the login URL "" when not needed and unknown.

    Raises:
        ConfigurationError: No region and no API URL, or a URL that cannot be used.
    """
    if region is not None and region.strip():
        found = get_region(region)
        api_url = api_url or found.api_url
        login_url = login_url or found.login_url
    if not api_url:
        raise ConfigurationError(
            "No Genesys Cloud region: give region= (such as 'us-east-1' or 'mypurecloud.ie') "
            "or api_url= (and login_url=)."
        )
    api = checked_base_url(api_url, what="api_url", label="api")
    if not login_url:
        login_url = login_url_for(api)
        if login_url is None and need_login:
            raise ConfigurationError(
                f"Cannot derive the login URL from api_url {api!r} (its host does not start with 'api.'): "
                "give login_url= too."
            )
    login = checked_base_url(login_url, what="login_url", label="login") if login_url else ""
    return api, login


# What HTTP Basic auth carries unambiguously: printable ASCII (requests would encode anything else
# as Latin-1 or fail deep inside with a UnicodeEncodeError).
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def check_basic_auth_part(value: str, name: str, *, colon_allowed: bool) -> None:
    """Refuse a client id or secret that HTTP Basic auth cannot carry (the message never quotes it)."""
    # The value is never quoted: a secret, or an id pasted next to one.
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise ConfigurationError(
            f"{name} contains a non-ASCII or control character: it must be printable ASCII. "
            "Copy the OAuth client's id and secret again from Genesys Cloud (Admin > Integrations > OAuth)."
        )
    if not colon_allowed and ":" in value:
        raise ConfigurationError(
            f"{name} contains ':', which HTTP Basic authentication cannot carry in a client id. "
            "A Genesys Cloud client id is a UUID: copy it again from Admin > Integrations > OAuth."
        )


@dataclass(frozen=True, init=False)
class ClientCredentials:
    """An OAuth client of the client-credentials grant.

    Args:
        client_id: The OAuth client id: printable ASCII without ':' (HTTP Basic auth carries it).
        client_secret: The OAuth client secret: printable ASCII (never shown in ``repr`` or messages).
        region: A region name (``us-east-1``, ``us_east_1``) or domain (``usw2.pure.cloud``).
        login_url: Overrides the login base URL (proxies, tests, the local emulator).
        api_url: Overrides the API base URL.

    Raises:
        ConfigurationError: A value is missing or invalid.
    """

    client_id: str
    client_secret: str = field(repr=False)
    api_url: str
    login_url: str

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        region: str | None = None,
        *,
        login_url: str | None = None,
        api_url: str | None = None,
    ) -> None:
        missing = [
            name
            for name, value in (("client_id", client_id), ("client_secret", client_secret))
            if not isinstance(value, str) or not value.strip()
        ]
        if missing:
            raise ConfigurationError(f"Missing {' and '.join(missing)}: give the OAuth client's id and secret.")
        client_id, client_secret = client_id.strip(), client_secret.strip()
        check_basic_auth_part(client_id, "client_id", colon_allowed=False)
        check_basic_auth_part(client_secret, "client_secret", colon_allowed=True)
        api, login = resolve_urls(region, api_url, login_url, need_login=True)
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "client_secret", client_secret)
        object.__setattr__(self, "api_url", api)
        object.__setattr__(self, "login_url", login)

    def initial_token(self) -> IssuedToken | None:
        """None: client credentials start with no token."""
        return None

    def token_request(self) -> TokenRequest:
        """The client-credentials grant: ``grant_type=client_credentials`` with HTTP Basic credentials."""
        return TokenRequest(
            url=f"{self.login_url}/oauth/token",
            form=(("grant_type", "client_credentials"),),
            basic=(self.client_id, self.client_secret),
            secret=self.client_secret,
        )

    def obtain(self) -> IssuedToken:
        """Not used: client credentials always make a token request."""
        raise TokenRequestError("ClientCredentials gets its tokens with a token request (see token_request()).")

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, api_url={self.api_url!r})"


RefreshCallback = Callable[[], Union[str, IssuedToken]]


@dataclass(frozen=True, init=False)
class AccessToken:
    """A token obtained elsewhere (another grant, a gateway), optionally with a way to get a new one.

    Args:
        access_token: The bearer token (never shown in ``repr`` or messages).
        region: A region name or domain, for the API base URL.
        api_url: Overrides the API base URL.
        expires_in: Seconds the token has left when a :class:`GenesysAuth` is made from it, if known;
            None means "until rejected" (the server clock is not known yet at that point, so a JWT's
            ``exp`` is not used for the given token).
        refresh: Called with no arguments when the token is rejected, or (with ``expires_in``) shortly
            before it runs out; returns the new access token string or an :class:`IssuedToken`
            (with ``expires_in``). Without it, a rejected token is reported as a
            :class:`TokenRequestError`.

    Raises:
        ConfigurationError: A value is missing or invalid.
    """

    access_token: str = field(repr=False)
    api_url: str
    expires_in: float | None
    refresh: RefreshCallback | None = field(repr=False, compare=False)

    def __init__(
        self,
        access_token: str,
        region: str | None = None,
        *,
        api_url: str | None = None,
        expires_in: float | None = None,
        refresh: RefreshCallback | None = None,
    ) -> None:
        if refresh is not None and not callable(refresh):
            raise ConfigurationError("refresh must be a callable that returns a new access token.")
        token = access_token.strip() if isinstance(access_token, str) else access_token
        try:
            IssuedToken(token, expires_in=expires_in)
        except ValueError as exc:
            raise ConfigurationError(f"Unusable access token: {exc}.") from None
        api, _ = resolve_urls(region, api_url, None, need_login=False)
        object.__setattr__(self, "access_token", token)
        object.__setattr__(self, "api_url", api)
        object.__setattr__(self, "expires_in", expires_in)
        object.__setattr__(self, "refresh", refresh)

    def initial_token(self) -> IssuedToken:
        """The token to start with: the one given."""
        return IssuedToken(self.access_token, expires_in=self.expires_in)

    def token_request(self) -> None:
        """None: a replacement comes from the ``refresh`` callback, not from a token request."""
        return None

    def obtain(self) -> IssuedToken:
        """A replacement for a rejected or expired token: whatever ``refresh`` returns."""
        if self.refresh is None:
            raise TokenRequestError(
                "The access token was rejected or has expired and no refresh callback was given: "
                "pass refresh= to AccessToken, or use ClientCredentials."
            )
        fresh = self.refresh()
        try:
            if isinstance(fresh, IssuedToken):
                return fresh
            if isinstance(fresh, str):
                return IssuedToken(fresh.strip())
        except ValueError as exc:
            raise TokenRequestError(f"The refresh callback returned an unusable token: {exc}.") from None
        raise TokenRequestError(f"The refresh callback returned a {type(fresh).__name__}, not an access token string.")

    def __reduce__(self) -> tuple[Any, ...]:
        if self.refresh is not None:
            try:
                pickle.dumps(self.refresh)
            except Exception as exc:
                raise TypeError(
                    "AccessToken cannot be pickled: its refresh callback cannot be "
                    f"({type(exc).__name__}; a lambda, a local function or a bound method of an object that "
                    "does not pickle). Pass a module-level function as refresh=, or build the AccessToken "
                    "in the process that uses it."
                ) from None
        return _restore_access_token, (self.access_token, self.api_url, self.expires_in, self.refresh)

    def __repr__(self) -> str:
        return f"AccessToken(api_url={self.api_url!r}, refresh={'yes' if self.refresh else 'no'})"


def _restore_access_token(
    access_token: str, api_url: str, expires_in: float | None, refresh: RefreshCallback | None
) -> AccessToken:
    return AccessToken(access_token, api_url=api_url, expires_in=expires_in, refresh=refresh)
