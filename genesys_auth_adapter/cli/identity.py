"""Which identity a command acts as: the stored login, else the client credentials, else "log in first".

1. ``GENESYS_GRANT=saml2``: the SAML2 bearer assertion of the environment;
2. a login the token store holds for the configured client id (``genesys-auth login`` left it there);
3. the client-credentials grant, when a secret is set and ``GENESYS_GRANT`` does not name a user grant;
4. otherwise an error that says to run ``genesys-auth login``.
"""

from __future__ import annotations

from typing import Any

from ..config import ENV_CLIENT_SECRET, from_env, read_settings
from ..credentials import TokenSource
from ..errors import ConfigurationError, LoginRequiredError
from ..login_config import grant_setting, login_client_from_env, saml2_from_env
from ..stores import StoreError, TokenStore
from ..stores.logins import has_login


def configured_source(store: TokenStore | None) -> TokenSource:
    """The token source of the configured client, as the list above decides.

    Raises:
        ConfigurationError: The settings are missing or invalid.
        LoginRequiredError: A user grant is configured (or no secret is set) and no login is stored.
    """
    grant = grant_setting()
    if grant == "saml2":
        return saml2_from_env()
    if grant == "client_credentials":
        return from_env()
    try:
        client: Any = login_client_from_env()
    except ConfigurationError:
        if grant is None:
            return from_env()  # its message names every missing setting of the usual configuration
        raise
    if store is not None and _stored(store, client):
        source: TokenSource = client
        return source
    if grant is None and ENV_CLIENT_SECRET in read_settings():
        return from_env()
    where = "" if store is not None else " (and GENESYS_TOKEN_STORE=none keeps none)"
    raise LoginRequiredError(
        f"No login is stored for the OAuth client {client.client_id}{where}: run `genesys-auth login` first"
        + ("." if grant else f", or set {ENV_CLIENT_SECRET} for the client-credentials grant.")
    )


def _stored(store: TokenStore, client: Any) -> bool:
    try:
        return has_login(store, client)
    except StoreError as error:
        raise LoginRequiredError(f"The token store cannot be read ({error}), so no stored login can be used.") from None
