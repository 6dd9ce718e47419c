"""The httpx side of the request flow: marking a request as the flow's, describing each answer, and turning
the verdict into what the caller gets (the last response, returned by httpx, or an error).

:class:`~.auth.GenesysHttpxAuth` drives the flow with these for sync and async clients alike; they are the
counterpart of the requests front ends' :mod:`~genesys_auth_adapter.transport.drive`.
"""

from __future__ import annotations

from typing import Any, cast

import httpx

from ..engine.flow import Verdict, VerdictKind, needs_decision
from ..engine.retry import Outcome, RetryPolicy
from ..errors import CORRELATION_HEADER, RateBudgetError, RetryExhaustedError, UnreplayableBodyError, without_query
from ..oauth import failure_outcome
from ..transport.outcomes import ATTEMPTS_ATTRIBUTE
from ..transport.scope import ApiScope
from .outcomes import CAPTURE, FAILED, Mark, failed, in_scope, response_outcome


def answered_plainly(response: httpx.Response, request: httpx.Request, policy: RetryPolicy | None) -> bool:
    """Whether the fast path's answer needs no decision: an answer to this very request (no redirect hop, no
    connection failure) whose status :func:`~..engine.flow.needs_decision` lets pass."""
    return (
        response.request is request
        and FAILED not in response.extensions
        and not needs_decision(response.status_code, policy)
    )


def marked(request: httpx.Request, authorization: str | None) -> Mark:
    """Mark ``request`` as the flow's (see :class:`~.outcomes.Mark`), sent with ``authorization`` (None: not yet
    known); the caller puts the request's own extensions back when the request is done."""
    if authorization is not None:
        request.headers["Authorization"] = authorization
    mark = Mark(authorization, request.url)
    request.extensions = {**request.extensions, CAPTURE: mark}
    return mark


def authorize(request: httpx.Request, authorization: str | None) -> None:
    """Set the request's ``Authorization`` to ``authorization`` (None: none) for the flow's next send."""
    if authorization is None:
        request.headers.pop("Authorization", None)
    else:
        request.headers["Authorization"] = authorization


def outcome(
    response: httpx.Response,
    sent_wall: float,
    received_wall: float,
    authorization: str | None,
    body: str,
    scope: ApiScope,
) -> Outcome:
    """The outcome of a send the flow made: a connection failure, an answer from outside the API base, or the
    API's answer (``body``: the text of a 429, read by the caller)."""
    failure = failed(response)
    if failure is not None:
        return failure_outcome(*failure)
    if not in_scope(response.url, scope):  # httpx followed a redirect out of the API base
        return Outcome(status=response.status_code, foreign=True)
    return response_outcome(response, sent_wall, received_wall, authorization, body)


def refused(verdict: Verdict, request: httpx.Request, response: httpx.Response | None) -> None:
    """No slot in the rate budget within the request's time budget: the request was not sent (again)."""
    if response is not None and failed(response) is None:
        response.read()
    assert verdict.refusal is not None
    raise RateBudgetError.from_refusal(verdict.refusal, verdict.history, request)


def finish(verdict: Verdict, request: httpx.Request, response: httpx.Response) -> None:
    """Turn the verdict into what the caller sees: the last response (returned by httpx) or an error."""
    failure = failed(response)
    if verdict.kind is VerdictKind.DELIVER:
        if failure is not None:
            raise failure[1]  # a connection failure that is not retried reaches the caller as httpx raised it
        if verdict.sends > 1:
            setattr(response, ATTEMPTS_ATTRIBUTE, verdict.sends)
        return
    if verdict.kind is VerdictKind.UNREPLAYABLE:
        raise UnreplayableBodyError(
            f"{request.method} {without_query(request.url)} was rejected with HTTP 401 and its body cannot be "
            "sent again (a generator, an async iterator or a stream), so it was not re-sent. The token has been "
            "dropped: send the request again. To have such requests re-sent automatically, pass the body as "
            "bytes, str, json=, data= or a seekable file.",
            response=cast(Any, response),  # requests' stubs type these as requests objects
            request=cast(Any, request),
        )
    real = None if failure is not None else response
    raise RetryExhaustedError(
        verdict.message,
        attempts=verdict.sends,
        history=verdict.history,
        last_status=None if real is None else real.status_code,
        correlation_id=None if real is None else real.headers.get(CORRELATION_HEADER),
        response=real,
        request=request,
    ) from (failure[1] if failure is not None else None)
