"""Transports that make httpx hold the library's guarantees on every hop and every failure.

``GenesysTransport`` (sync) and ``AsyncGenesysTransport`` wrap httpx's own transports. For requests
the Genesys auth flow sent (marked in their extensions, which httpx carries onto redirect hops):

- a hop outside the API base never carries the token (httpx drops ``Authorization`` only when the
  origin changes, so a same-host hop out of a path-prefixed base would keep it), and a hop back inside
  carries it again (httpx builds each hop from the previous hop's headers, which lost it);
- a connection failure comes back as a marked stand-in response, so the one request flow decides
  whether to retry it (an auth flow never sees an exception raised by the transport).

Other requests pass through untouched. :func:`~genesys_auth_adapter.httpx.client` and
:func:`~genesys_auth_adapter.httpx.async_client` install them; pass ``transport=auth.transport()``
(or ``auth.async_transport()``) to a client you build yourself.
"""

from __future__ import annotations

import httpx

from ..transport.scope import ApiScope
from .outcomes import CAPTURE, Mark, classify, in_scope, marked_failure


def _guard(request: httpx.Request, scope: ApiScope) -> bool:
    """Keep the token on the hops inside the scope only; True when this request is the flow's."""
    mark = request.extensions.get(CAPTURE)
    if not isinstance(mark, Mark):
        return False
    if request.url is mark.url:
        return True  # the flow's own request (httpx makes a new URL for each redirect hop): in scope
    headers = request.headers
    if "Authorization" in headers:
        if not in_scope(request.url, scope):
            del headers["Authorization"]
    elif mark.authorization is not None and in_scope(request.url, scope):
        headers["Authorization"] = mark.authorization  # back inside after a hop outside
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
