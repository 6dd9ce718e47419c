"""Transports that make httpx hold the library's guarantees on every hop and every failure.

``GenesysTransport`` (sync) and ``AsyncGenesysTransport`` wrap httpx's own transports. For requests
the Genesys auth flow sent (marked in their extensions, which httpx carries onto redirect hops):

- a hop outside the API base never carries the token (httpx drops ``Authorization`` only when the
  origin changes, so a same-host hop out of a path-prefixed base would keep it);
- a connection failure comes back as a marked stand-in response, so the one request flow decides
  whether to retry it (an auth flow never sees an exception raised by the transport).

Other requests pass through untouched. :func:`~genesys_auth_adapter.httpx.client` and
:func:`~genesys_auth_adapter.httpx.async_client` install them; pass ``transport=auth.transport()``
(or ``auth.async_transport()``) to a client you build yourself.
"""

from __future__ import annotations

import httpx

from ..transport.scope import ApiScope
from .outcomes import CAPTURE, classify, in_scope, marked_failure


def _guard(request: httpx.Request, scope: ApiScope) -> bool:
    """Strip the token from a hop outside the scope; True when this request is the flow's."""
    if not request.extensions.get(CAPTURE):
        return False
    if "Authorization" in request.headers and not in_scope(request.url, scope):
        del request.headers["Authorization"]
    return True


class GenesysTransport(httpx.BaseTransport):
    """Wraps a sync httpx transport (by default ``httpx.HTTPTransport()``) for one API scope."""

    def __init__(self, scope: ApiScope, inner: httpx.BaseTransport | None = None) -> None:
        self.scope = scope
        self.inner = inner if inner is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not _guard(request, self.scope):
            return self.inner.handle_request(request)
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError as exc:
            failure = classify(exc)
            if failure is None:
                raise
            return marked_failure(request, failure, exc)

    def close(self) -> None:
        self.inner.close()


class AsyncGenesysTransport(httpx.AsyncBaseTransport):
    """Wraps an async httpx transport (by default ``httpx.AsyncHTTPTransport()``) for one API scope."""

    def __init__(self, scope: ApiScope, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.scope = scope
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not _guard(request, self.scope):
            return await self.inner.handle_async_request(request)
        try:
            return await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            failure = classify(exc)
            if failure is None:
                raise
            return marked_failure(request, failure, exc)

    async def aclose(self) -> None:
        await self.inner.aclose()
