"""The official SDK's typed APIs with this library's auth: ``pip install 'genesys-auth-adapter[sdk]'``.

::

    import PureCloudPlatformClientV2 as gc
    from genesys_auth_adapter.sdk import GenesysSdkHttpClient, api_client

    client = api_client()  # from the environment / .env, like session()
    org = gc.OrganizationApi(client).get_organizations_me()
    existing_api_client.set_http_client(GenesysSdkHttpClient(auth))  # an ApiClient you already have

Only this module imports PureCloudPlatformClientV2 (about 3 s and 170 MB): the rest of the library does
not. Its floor is 227.0.0, the first release with ``ApiClient.set_http_client``.
"""

from __future__ import annotations

try:
    from PureCloudPlatformClientV2.abstract_http_client import AbstractHttpClient as _AbstractHttpClient  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra, or with an SDK too old
    raise ImportError(
        "genesys_auth_adapter.sdk needs PureCloudPlatformClientV2 227.0.0 or later (the first with "
        "ApiClient.set_http_client): pip install 'genesys-auth-adapter[sdk]'"
    ) from exc

from .clients import api_client
from .http_client import GenesysSdkHttpClient

__all__ = ["GenesysSdkHttpClient", "api_client"]
