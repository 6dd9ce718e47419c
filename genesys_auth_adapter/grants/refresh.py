"""``RefreshToken``: a user's login (what :func:`login_with_browser` returns), as a token source.

It carries the access token the login got, the refresh token that came with it, and when the login
happened. The library hands both tokens to the token store the first time it needs them (a process-wide
memory store when no store is given) and from then on reads, uses and replaces the refresh token there,
under the store's fetch lock: every process sharing the store presents only the newest refresh token, and
a newer login (a later ``genesys-auth login``) supersedes this one. Neither token ever appears in a
``repr``, a message or a pickle: pickled, a ``RefreshToken`` carries its client and the time of its login,
and in the other process uses the login the token store holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..engine.token import IssuedToken
from ..errors import ConfigurationError, LoginRequiredError
from ..oauth import TokenRequest
from ..stores.base import StoreIdentity
from .code import CodeClient, PkceClient, UserClient

# A token with less than this left is not worth starting with.
_MIN_LEFT = 1.0


@dataclass(frozen=True, init=False)
class RefreshToken:
    """A login of a user: the client, its refresh token, the access token it came with, and when.

    Args:
        client: The OAuth client the login was made with (:class:`PkceClient` or :class:`CodeClient`).
        refresh_token: The refresh token, or None (then only the store's login, or the access token until
            it expires); never shown in ``repr``.
        access_token: The access token the login got, with its ``expires_in`` as issued; never shown.
        login_at: When the login happened (Unix seconds); by default now. A store's login made later wins.

    Raises:
        ConfigurationError: A value is of the wrong kind.
    """

    client: UserClient
    refresh_token: str | None = field(repr=False, compare=False)
    access_token: IssuedToken | None = field(repr=False, compare=False)
    login_at: float

    def __init__(
        self,
        client: UserClient,
        refresh_token: str | None = None,
        *,
        access_token: IssuedToken | None = None,
        login_at: float | None = None,
    ) -> None:
        if not isinstance(client, (PkceClient, CodeClient)):
            raise ConfigurationError("client must be a PkceClient or a CodeClient.")
        if refresh_token is not None and (not isinstance(refresh_token, str) or not refresh_token.strip()):
            raise ConfigurationError("refresh_token must be a non-empty string, or None.")
        if access_token is not None and not isinstance(access_token, IssuedToken):
            raise ConfigurationError("access_token must be an IssuedToken (what the token request answered).")
        if access_token is not None and access_token.refresh_token is not None:
            access_token = replace(access_token, refresh_token=None)  # kept once, in refresh_token
        object.__setattr__(self, "client", client)
        object.__setattr__(self, "refresh_token", None if refresh_token is None else refresh_token.strip())
        object.__setattr__(self, "access_token", access_token)
        object.__setattr__(self, "login_at", time.time() if login_at is None else float(login_at))

    @property
    def api_url(self) -> str:
        """The API base URL of the client."""
        return self.client.api_url

    @property
    def login_url(self) -> str:
        """The login base URL of the client."""
        return self.client.login_url

    @property
    def client_id(self) -> str:
        """The OAuth client id."""
        return self.client.client_id

    def initial_token(self) -> IssuedToken | None:
        """The login's access token with the lifetime it has left now, or None when it has (almost) none."""
        token = self.access_token
        if token is None:
            return None
        if token.expires_in is None:
            return token
        left = token.expires_in - max(0.0, time.time() - self.login_at)
        if left < _MIN_LEFT:
            return None
        idles_in = None if token.idles_in is None else max(0.0, token.idles_in - (time.time() - self.login_at))
        return replace(token, expires_in=left, idles_in=idles_in, minted_now=False)

    def initial_refresh_token(self) -> str | None:
        """The refresh token the login got (the store's, if newer, is used instead)."""
        return self.refresh_token

    def token_request(self) -> TokenRequest | None:
        """None: new tokens come from the refresh token, in the token store."""
        return None

    def refresh_request(self, refresh_token: str) -> TokenRequest:
        """The client's refresh request for ``refresh_token``."""
        return self.client.refresh_request(refresh_token)

    def store_identity(self) -> StoreIdentity:
        """The client's entries (see :meth:`PkceClient.store_identity`)."""
        return self.client.store_identity()

    def obtain(self) -> IssuedToken:
        """Never a token outside a token store: the refresh token is rotated there."""
        raise LoginRequiredError(
            f"The login for the OAuth client {self.client.client_id} has no usable token: run "
            "`genesys-auth login` (or login_with_browser()) again."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Neither token travels: the other process uses the login its token store holds.
        return _restore, (self.client, self.login_at)

    def __repr__(self) -> str:
        held = "yes" if self.refresh_token else "no"
        return f"RefreshToken(client={self.client!r}, refresh_token={held})"


def _restore(client: UserClient, login_at: float) -> RefreshToken:
    return RefreshToken(client, login_at=login_at)
