"""``GenesysAdapter``: an ``HTTPAdapter`` that attaches tokens and re-sends once after a 401."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.models import PreparedRequest

from .auth import GenesysAuth

_TimeoutArg = Union[None, float, tuple[float, float], tuple[float, None]]
_CertArg = Union[None, bytes, str, tuple[Union[bytes, str], Union[bytes, str]]]


class GenesysAdapter(HTTPAdapter):
    """Mount on a session for the API base URL: every request under it gets a token.

    ``session.mount(creds.api_url + "/", GenesysAdapter(auth))``. Requests to other URLs that reach
    this adapter anyway (a wider mount) are sent without a token. After a 401 the same prepared
    request is re-sent once with a new token (the same code as :class:`GenesysAuth` uses).

    Args:
        auth: The auth that holds the token manager; it may be shared by several adapters.
        transport: Another adapter to send through (a proxy adapter, a test double such as
            ``requests_mock.Adapter``); by default this adapter's own connection pools.
        **kwargs: Passed to ``HTTPAdapter`` (``pool_connections``, ``pool_maxsize``, ...).
    """

    def __init__(self, auth: GenesysAuth, *, transport: BaseAdapter | None = None, **kwargs: Any) -> None:
        if not isinstance(auth, GenesysAuth):
            raise TypeError(f"GenesysAdapter needs a GenesysAuth, got {type(auth).__name__}")
        super().__init__(**kwargs)
        self.auth = auth
        self._transport = transport

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
        if request.url not in self.auth.scope:
            return self._send(request, stream, timeout, verify, cert, proxies)
        auth = self.auth
        wall = auth.manager.clock.wall

        def send_once(prepared: PreparedRequest) -> requests.Response:
            sent_wall = wall()
            response = self._send(prepared, stream, timeout, verify, cert, proxies)
            auth.observe(response, sent_wall)
            return response

        request.headers["Authorization"] = auth.header()
        return auth.resend_after_401(send_once(request), send_once)

    def __repr__(self) -> str:
        return f"GenesysAdapter({self.auth!r})"
