"""``GenesysAdapter``: an ``HTTPAdapter`` that attaches tokens and re-sends once after a 401."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union, cast

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.models import PreparedRequest

from ..engine import fork_safety
from ..engine.retry import RetryPolicy, effective_policy
from .auth import GenesysAuth
from .drive import RequestsDriver
from .pools import reset_pools
from .redirects import drop_token_before_leaving

_TimeoutArg = Union[None, float, tuple[float, float], tuple[float, None]]
_CertArg = Union[None, bytes, str, tuple[Union[bytes, str], Union[bytes, str]]]


class GenesysAdapter(HTTPAdapter):
    """Mount on a session for the API base URL: every request under it gets a token.

    ``session.mount(creds.api_url + "/", GenesysAdapter(auth))``. Requests to other URLs that reach
    this adapter anyway (a wider mount) are sent without a token. After a 401 the same prepared
    request is re-sent once with a new token (the same code as :class:`GenesysAuth` uses). Rate
    limits (429), 502/503/504 and connection failures are retried under ``retry``; see
    :class:`~genesys_auth_adapter.RetryPolicy`.

    Args:
        auth: The auth that holds the token manager; it may be shared by several adapters.
        retry: The retry policy of this adapter's requests; by default the auth's. Override it for
            some requests with :func:`~genesys_auth_adapter.retry_policy`.
        transport: Another adapter to send through (a proxy adapter, a test double such as
            ``requests_mock.Adapter``); by default this adapter's own connection pools.
        **kwargs: Passed to ``HTTPAdapter`` (``pool_connections``, ``pool_maxsize``, ...).
    """

    def __init__(
        self,
        auth: GenesysAuth,
        *,
        retry: RetryPolicy | None = None,
        transport: BaseAdapter | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(auth, GenesysAuth):
            raise TypeError(f"GenesysAdapter needs a GenesysAuth, got {type(auth).__name__}")
        super().__init__(**kwargs)
        self.auth = auth
        self.retry = retry if retry is not None else auth.retry
        self._transport = transport
        fork_safety.register(self)

    def _send(
        self,
        request: PreparedRequest,
        stream: bool,
        timeout: _TimeoutArg,
        verify: bool | str,
        cert: _CertArg,
        proxies: Mapping[str, str] | None,
    ) -> requests.Response:
        if self._transport is not None:
            sent: requests.Response = self._transport.send(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )
            return sent
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: _TimeoutArg = None,
        verify: bool | str = True,
        cert: _CertArg = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        auth = self.auth
        if request.url not in auth.scope:
            return self._send(request, stream, timeout, verify, cert, proxies)

        def send(prepared: PreparedRequest) -> requests.Response:
            return self._send(prepared, stream, timeout, verify, cert, proxies)

        driver = RequestsDriver(request, send, auth.manager, auth.manager.clock)
        response = auth.send(driver, (request.method or "GET").upper(), effective_policy(self.retry))
        drop_token_before_leaving(response, request, auth.scope)
        return response

    def after_fork_in_child(self) -> None:
        """A forked child opens its own connections instead of sharing the parent's sockets."""
        reset_pools(self)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(cast("dict[str, Any]", super().__getstate__()))
        state.update(auth=self.auth, retry=self.retry, _transport=self._transport)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]  # requests' stubs omit it
        fork_safety.register(self)

    def __repr__(self) -> str:
        return f"GenesysAdapter({self.auth!r})"
