"""The httpx front end: ``pip install '.[httpx]'`` in a clone of this library.

::

    from genesys_auth_adapter import ClientCredentials
    from genesys_auth_adapter.httpx import GenesysHttpxAuth, async_client, client

    auth = GenesysHttpxAuth(ClientCredentials(cid, secret, region="eu-west-1"))
    with httpx.Client(auth=auth, base_url=auth.api_url, transport=auth.transport()) as c:
        c.get("/api/v2/organizations/me")
    async with httpx.AsyncClient(auth=auth, base_url=auth.api_url, transport=auth.async_transport()) as c:
        await c.get("/api/v2/users")

Errors are the library's own tree (:mod:`genesys_auth_adapter.errors`), the same classes as with
requests; a connection failure that is not retried reaches the caller as httpx raised it.
"""

from __future__ import annotations

try:
    import httpx as _httpx  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "genesys_auth_adapter.httpx needs httpx (0.27 or later): pip install 'httpx>=0.27', or "
        "pip install '.[httpx]' in your clone of genesys-auth-adapter"
    ) from exc

from .auth import GenesysHttpxAuth
from .clients import async_client, client
from .transport import AsyncGenesysTransport, GenesysTransport

__all__ = ["AsyncGenesysTransport", "GenesysHttpxAuth", "GenesysTransport", "async_client", "client"]
