"""A ready-made ``requests.Session`` for the Genesys Cloud API."""

from __future__ import annotations

from typing import Any

import requests

from .config import from_env
from .credentials import TokenSource
from .transport.adapter import GenesysAdapter
from .transport.auth import GenesysAuth


class GenesysSession(requests.Session):
    """A session with a :class:`GenesysAdapter` mounted on the API base URL.

    Relative paths (``"/api/v2/users/me"``) are resolved against the API base URL; absolute URLs are
    used as they are (and get a token only when they are under the API base).

    Args:
        auth: The auth whose tokens the session uses.
        **adapter_options: Passed to :class:`GenesysAdapter`.
    """

    def __init__(self, auth: GenesysAuth, **adapter_options: Any) -> None:
        super().__init__()
        self.genesys_auth = auth
        self.base_url = auth.api_url
        self.mount(self.base_url + "/", GenesysAdapter(auth, **adapter_options))

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if isinstance(request.url, str) and request.url.startswith("/"):
            request.url = self.base_url + request.url
        return super().prepare_request(request)

    def __repr__(self) -> str:
        return f"GenesysSession({self.base_url!r})"


def session(credentials: TokenSource | None = None, **options: Any) -> GenesysSession:
    """A ready-made session for the Genesys Cloud API.

    Args:
        credentials: The credentials; by default :func:`from_env` (environment and ``.env``).
        **options: ``clock``, ``timeout``, ``wait_timeout``, ``http`` and ``retry`` (a
            :class:`RetryPolicy` for token and API requests) go to :class:`GenesysAuth`; the rest to
            :class:`GenesysAdapter`.

    Raises:
        ConfigurationError: No credentials were given and the environment lacks some.
    """
    auth_options = {k: options.pop(k) for k in ("clock", "timeout", "wait_timeout", "http", "retry") if k in options}
    auth = GenesysAuth(credentials if credentials is not None else from_env(), **auth_options)
    return GenesysSession(auth, **options)
