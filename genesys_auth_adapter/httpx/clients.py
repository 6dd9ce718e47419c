"""Ready-made httpx clients for the Genesys Cloud API, configured from the environment like ``session()``."""

from __future__ import annotations

from typing import Any

import httpx

from ..config import from_env, pacing_settings, token_store_setting
from ..credentials import TokenSource
from .auth import GenesysHttpxAuth

#: Timeout of API requests made without one: 10 s to connect, 60 s for each read (as ``session()``).
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

_AUTH_OPTIONS = (
    "clock",
    "retry",
    "wait_timeout",
    "http",
    "async_http",
    "store",
    "rate_limit",
    "pacing",
    "token_pool",
)


def _split(options: dict[str, Any], credentials: TokenSource | None) -> dict[str, Any]:
    auth_options = {name: options.pop(name) for name in _AUTH_OPTIONS if name in options}
    if "store" not in auth_options:
        auth_options["store"] = token_store_setting(credentials_given=credentials is not None)
    for name, value in pacing_settings().items():
        auth_options.setdefault(name, value)
    if "token_timeout" in options:
        auth_options["timeout"] = options.pop("token_timeout")
    return auth_options


def client(credentials: TokenSource | None = None, **options: Any) -> httpx.Client:
    """A sync ``httpx.Client`` for the Genesys Cloud API.

    Relative paths resolve against the API base; redirects are followed (a download's signed storage
    URL never gets the token); connection failures, 429 and 5xx are retried under the auth's policy.

    Args:
        credentials: The credentials; by default :func:`~genesys_auth_adapter.from_env`.
        **options: ``clock``, ``retry``, ``wait_timeout``, ``http``, ``async_http``, ``store``,
            ``rate_limit`` (by default ``GENESYS_RATE_LIMIT``), ``pacing``, ``token_pool`` (by default
            ``GENESYS_TOKEN_POOL``) and ``token_timeout`` go to
            :class:`GenesysHttpxAuth`; ``transport`` is wrapped by the library's;
            the rest go to ``httpx.Client`` (``timeout`` defaults to 10 s connect, 60 s read).

    Raises:
        ConfigurationError: No credentials were given and the environment lacks some.
    """
    auth = GenesysHttpxAuth(credentials if credentials is not None else from_env(), **_split(options, credentials))
    options.setdefault("timeout", DEFAULT_TIMEOUT)
    options.setdefault("follow_redirects", True)
    transport = auth.transport(options.pop("transport", None))
    return httpx.Client(auth=auth, base_url=auth.api_url, transport=transport, **options)


def async_client(credentials: TokenSource | None = None, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for the Genesys Cloud API; see :func:`client` for the options."""
    auth = GenesysHttpxAuth(credentials if credentials is not None else from_env(), **_split(options, credentials))
    options.setdefault("timeout", DEFAULT_TIMEOUT)
    options.setdefault("follow_redirects", True)
    transport = auth.async_transport(options.pop("transport", None))
    return httpx.AsyncClient(auth=auth, base_url=auth.api_url, transport=transport, **options)
