"""User grants: a browser login (authorization code with PKCE, or with a secret), SAML2 bearer, refresh tokens.

Each grant is a token source (see :class:`~genesys_auth_adapter.credentials.TokenSource`): it builds its
token requests and the library parses the answers. Refresh tokens are kept and rotated by the token store
(:mod:`..stores.rotation`), never by a front end.
"""

from __future__ import annotations

from .browser import DEFAULT_LOGIN_TIMEOUT, login_with_browser
from .code import DEFAULT_REDIRECT_URI, CodeClient, PkceClient, UserClient
from .pkce import AuthorizationRequest
from .refresh import RefreshToken
from .saml2 import Saml2Bearer

__all__ = [
    "DEFAULT_LOGIN_TIMEOUT",
    "DEFAULT_REDIRECT_URI",
    "AuthorizationRequest",
    "CodeClient",
    "PkceClient",
    "RefreshToken",
    "Saml2Bearer",
    "UserClient",
    "login_with_browser",
]
