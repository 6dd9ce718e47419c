"""What the httpx front end tells the request flow: httpx failures classified, responses described.

httpx raises a connection failure out of ``Client.send``, past the auth flow, so an auth flow alone
could never retry one. The library's transports (:mod:`.transport`) therefore hand a failure of a
request the flow sent back as a marked response, which the flow sees as an outcome and either retries
or re-raises.
"""

from __future__ import annotations

import httpx

from ..engine.retry import Failure, Outcome
from ..engine.retry import response_outcome as describe
from ..transport.scope import ApiScope

#: Request extension (a :class:`Mark`): the flow sent this request; the transport hands its connection
#: failures back and keeps the token on the hops inside the API base only.
CAPTURE = "genesys_auth_adapter.capture_failures"
#: Response extension of such a marked response: the (Failure, exception) pair.
FAILED = "genesys_auth_adapter.failure"


class Mark:
    """What the flow sent a request with, carried by httpx onto every redirect hop (in the extensions).

    A hop out of the API base loses ``Authorization`` and httpx copies the stripped headers onto the next
    hop, so a hop back inside gets ``authorization`` again from here.
    """

    __slots__ = ("authorization", "url")

    def __init__(self, authorization: str | None = None, url: httpx.URL | None = None) -> None:
        self.authorization = authorization
        #: The URL the flow sent the request to (under the API base): the first hop is the one to it.
        self.url = url

    def __repr__(self) -> str:
        return "Mark(authorization=<redacted>)"


def in_scope(url: httpx.URL, scope: ApiScope) -> bool:
    """Whether an httpx URL is under the API base (on its parts: no string is built)."""
    return scope.contains_parts(url.scheme, url.host, url.port, url.path)


def classify(exc: BaseException) -> Failure | None:
    """Whether an httpx error happened before the request left, after, or is not retryable."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Failure.NOT_SENT
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError)):
        return Failure.MAYBE_SENT
    if isinstance(exc, httpx.RemoteProtocolError):  # the server closed the connection mid-answer
        return Failure.MAYBE_SENT
    return None


def failed(response: httpx.Response) -> tuple[Failure, BaseException] | None:
    """The connection failure a marked response stands for, or None for a real response."""
    failure = response.extensions.get(FAILED)
    return failure if isinstance(failure, tuple) else None


def marked_failure(request: httpx.Request, failure: Failure, exc: BaseException) -> httpx.Response:
    """A stand-in response for a failure of a request the flow sent (never seen by the caller)."""
    return httpx.Response(599, request=request, extensions={FAILED: (failure, exc)})


def response_outcome(
    response: httpx.Response, sent_wall: float, received_wall: float, authorization: str | None, body: str = ""
) -> Outcome:
    """Describe an httpx API response for the request flow.

    Args:
        response: The answer to the last hop.
        sent_wall: Local wall time just before the request was sent.
        received_wall: Local wall time when the response arrived.
        authorization: The value the flow sent the request with, compared (for a 401 only) with what the
            last hop carried.
        body: The text of a 429, read by the caller.
    """
    status = response.status_code
    carried = status != 401 or response.request.headers.get("Authorization") == authorization
    return describe(status, response.headers, lambda: body, sent_wall, received_wall, carried)
