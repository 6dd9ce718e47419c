"""``Saml2Bearer``: a user's token for a SAML2 assertion from your identity provider (RFC 7522)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..credentials import check_basic_auth_part, resolve_urls
from ..engine.token import IssuedToken
from ..errors import ConfigurationError, TokenRequestError
from ..oauth import TokenRequest
from ..stores.base import StoreIdentity

#: The grant type of the SAML2 bearer assertion grant.
SAML2_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"


@dataclass(frozen=True, init=False)
class Saml2Bearer:
    """An OAuth client of the SAML2 bearer grant, with the user's assertion.

    Each token request sends the assertion (``orgName`` and ``assertion`` in the form, the client id and
    secret as HTTP Basic). Should the login service answer with a refresh token, it is kept and rotated in
    the token store like a browser login's; when the assertion has expired and there is no refresh token,
    the error says so. Tokens are shared through a store only between holders of the same assertion (its
    digest is part of the store key): two users never share one.

    Args:
        client_id: The OAuth client id (a "SAML2 Bearer" client in Genesys Cloud).
        client_secret: The client secret (never shown in ``repr`` or messages).
        org_name: The organization's short name, as configured in Genesys Cloud (``orgName``).
        assertion: The base64-encoded SAML2 assertion (never shown in ``repr`` or messages).
        region: A region name or domain.
        login_url: Overrides the login base URL.
        api_url: Overrides the API base URL.

    Raises:
        ConfigurationError: A value is missing or invalid.
    """

    client_id: str
    client_secret: str = field(repr=False)
    org_name: str
    assertion: str = field(repr=False)
    api_url: str
    login_url: str

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        org_name: str,
        assertion: str,
        region: str | None = None,
        *,
        login_url: str | None = None,
        api_url: str | None = None,
    ) -> None:
        given = (("client_id", client_id), ("client_secret", client_secret), ("org_name", org_name))
        missing = [name for name, value in (*given, ("assertion", assertion)) if not _text(value)]
        if missing:
            raise ConfigurationError(f"Missing {', '.join(missing)}: a SAML2 bearer login needs all four.")
        check_basic_auth_part(client_id.strip(), "client_id", colon_allowed=False)
        check_basic_auth_part(client_secret.strip(), "client_secret", colon_allowed=True)
        api, login = resolve_urls(region, api_url, login_url, need_login=True)
        object.__setattr__(self, "client_id", client_id.strip())
        object.__setattr__(self, "client_secret", client_secret.strip())
        object.__setattr__(self, "org_name", org_name.strip())
        object.__setattr__(self, "assertion", assertion.strip())
        object.__setattr__(self, "api_url", api)
        object.__setattr__(self, "login_url", login)

    def initial_token(self) -> IssuedToken | None:
        """None: the assertion is exchanged on first use."""
        return None

    def initial_refresh_token(self) -> str | None:
        """None: a refresh token comes, if ever, with an answer."""
        return None

    def token_request(self) -> TokenRequest:
        """The SAML2 bearer grant: ``orgName`` and ``assertion``, the client authenticated with HTTP Basic."""
        return TokenRequest(
            url=f"{self.login_url}/oauth/token",
            form=(("grant_type", SAML2_GRANT), ("orgName", self.org_name), ("assertion", self.assertion)),
            basic=(self.client_id, self.client_secret),
            secret=self.client_secret,
            hidden=(self.assertion,),
        )

    def refresh_request(self, refresh_token: str) -> TokenRequest:
        """A refresh, should the login service have answered with a refresh token."""
        return TokenRequest(
            url=f"{self.login_url}/oauth/token",
            form=(("grant_type", "refresh_token"), ("refresh_token", refresh_token)),
            basic=(self.client_id, self.client_secret),
            secret=self.client_secret,
            hidden=(refresh_token,),
        )

    def store_identity(self) -> StoreIdentity:
        """The client's entries for this very assertion (its SHA-256 names them; it reveals nothing of it)."""
        digest = hashlib.sha256(self.assertion.encode()).hexdigest()[:32]
        return StoreIdentity(self.login_url, self.client_id, f"{SAML2_GRANT} {digest}", secret=self.client_secret)

    def obtain(self) -> IssuedToken:
        """Not used: the grant makes a token request."""
        raise TokenRequestError("Saml2Bearer gets its tokens with a token request (see token_request()).")

    def __repr__(self) -> str:
        return f"Saml2Bearer(client_id={self.client_id!r}, org_name={self.org_name!r}, api_url={self.api_url!r})"


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
