"""A ready-made ``requests.Session`` for the Genesys Cloud API."""

from __future__ import annotations

import re
from typing import Any

import requests

from .config import from_env, pacing_settings, token_store_setting
from .credentials import TokenSource
from .engine import fork_safety
from .transport.adapter import GenesysAdapter
from .transport.auth import GenesysAuth
from .transport.drive import answered_401
from .transport.login import Timeout
from .transport.pools import reset_session_pools

#: Connect and read timeout, in seconds, of a request made without ``timeout=``. A slow analytics query
#: gets a minute; ``RetryPolicy().max_time`` still leaves room for a retry after a read timeout (tested).
DEFAULT_TIMEOUT = (10.0, 60.0)
#: A URL with a scheme (RFC 3986, section 3.1); anything else is a path under the API base URL.
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class GenesysSession(requests.Session):
    """A session with a :class:`GenesysAdapter` mounted on the API base URL.

    Relative paths (``"/api/v2/organizations/me"``, or ``"api/v2/organizations/me"``) are resolved against the
    API base URL; absolute URLs are used as they are (and get a token only when they are under the API base).
    A request made without ``timeout=`` gets ``default_timeout``, so no call can hang forever.

    Args:
        auth: The auth whose tokens the session uses.
        owns_auth: Close ``auth`` (its token-request session) when this session is closed.
        default_timeout: Connect and read timeout for requests that give none (None: wait forever).
        **adapter_options: Passed to :class:`GenesysAdapter`.
    """

    #: What pickling and copying keep: requests' own attributes and the session's Genesys settings.
    __attrs__ = [  # noqa: RUF012  (a plain list, as in requests.Session)
        *requests.Session.__attrs__,
        "genesys_auth",
        "_owns_auth",
        "base_url",
        "default_timeout",
    ]

    def __init__(
        self,
        auth: GenesysAuth,
        *,
        owns_auth: bool = False,
        default_timeout: Timeout | None = DEFAULT_TIMEOUT,
        **adapter_options: Any,
    ) -> None:
        super().__init__()
        self.genesys_auth = auth
        self._owns_auth = owns_auth
        self.base_url = auth.api_url
        self.default_timeout = default_timeout
        self.mount(self.base_url + "/", GenesysAdapter(auth, **adapter_options))
        fork_safety.register(self)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        response = super().send(request, **kwargs)
        if response.history:
            # requests rebuilds ``history`` when it follows a redirect, which loses a 401 answered by
            # a re-send whose answer was a redirect: put it back in front of that answer.
            for position, hop in enumerate(response.history):
                rejected = answered_401(hop)
                if rejected is not None and rejected not in response.history:
                    response.history.insert(position, rejected)
                    break
        return response

    def after_fork_in_child(self) -> None:
        """A forked child opens its own connections instead of sharing the parent's sockets."""
        reset_session_pools(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]  # requests' stubs omit it
        fork_safety.register(self)

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        url = request.url
        if isinstance(url, str) and not _ABSOLUTE.match(url):
            # "api/v2/users" means what "/api/v2/users" does, as on the command line.
            request.url = self.base_url + (url if url.startswith("/") else "/" + url)
        return super().prepare_request(request)

    def close(self) -> None:
        super().close()
        if self._owns_auth:
            self.genesys_auth.close()

    def __repr__(self) -> str:
        return f"GenesysSession({self.base_url!r})"


def session(credentials: TokenSource | None = None, **options: Any) -> GenesysSession:
    """A ready-made session for the Genesys Cloud API.

    Args:
        credentials: The credentials; by default :func:`from_env` (environment and ``.env``).
        **options: ``timeout`` (connect and read seconds) applies to token requests and is the
            session's ``default_timeout``; ``clock``, ``wait_timeout``, ``http``, ``retry`` (a
            :class:`RetryPolicy` for token and API requests) and ``store`` (a shared token store:
            ``"file"``, a Redis URL...; by default ``GENESYS_TOKEN_STORE`` from the environment or ``.env``),
            ``rate_limit`` (requests per minute per token; by default ``GENESYS_RATE_LIMIT``, else learned
            from 429s), ``pacing`` and ``token_pool`` (tokens one client may hold; by default
            ``GENESYS_TOKEN_POOL``, else 1) go to :class:`GenesysAuth`; the rest to :class:`GenesysAdapter`.

    Raises:
        ConfigurationError: No credentials were given and the environment lacks some.
    """
    names = ("clock", "timeout", "wait_timeout", "http", "retry", "store", "rate_limit", "pacing", "token_pool")
    auth_options = {k: options.pop(k) for k in names if k in options}
    if "store" not in auth_options:
        auth_options["store"] = token_store_setting(credentials_given=credentials is not None)
    for name, value in pacing_settings().items():
        auth_options.setdefault(name, value)
    auth = GenesysAuth(credentials if credentials is not None else from_env(), **auth_options)
    if "timeout" in auth_options:
        options.setdefault("default_timeout", auth_options["timeout"])
    return GenesysSession(auth, owns_auth=True, **options)
