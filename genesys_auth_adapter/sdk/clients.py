"""``api_client()``: a ready-made ``ApiClient`` of the official SDK, configured like ``session()``."""

from __future__ import annotations

from typing import Any

from PureCloudPlatformClientV2.api_client import ApiClient

from ..credentials import TokenSource
from ..session import session
from .http_client import GenesysSdkHttpClient


def api_client(credentials: TokenSource | None = None, **options: Any) -> Any:
    """An ``ApiClient`` of PureCloudPlatformClientV2 whose requests all go through this library.

    ``gc.UsersApi(api_client()).get_users()``: the typed APIs and models of the SDK, with this library's
    tokens, refresh, 401 handling, retries and token stores. The SDK's ``Configuration()`` is left as it is:
    each call makes its own ``ApiClient``, so clients for several orgs or regions work side by side. Close
    it with ``client.get_http_client().close()`` (it closes the session and its auth).

    Args:
        credentials: The credentials; by default :func:`~genesys_auth_adapter.from_env` (environment and
            ``.env``).
        **options: Every option :func:`~genesys_auth_adapter.session` takes (``store``, ``retry``,
            ``timeout``, ``clock``, ``rate_limit``, ``token_pool``...), passed to it unchanged.

    Raises:
        ConfigurationError: No credentials were given and the environment lacks some.
    """
    genesys = session(credentials, **options)
    client = ApiClient(host=genesys.base_url)
    # A gateway from the SDK's config file (~/.genesyscloudpython/config) would aim this client elsewhere
    # than its credentials' API base; the host given here is where its requests go.
    client.gateway_configuration = None
    client.set_http_client(GenesysSdkHttpClient(genesys, owns_session=True))
    return client
