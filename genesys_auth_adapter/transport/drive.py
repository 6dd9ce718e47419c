"""The requests driver of the request flow: send, convert, sleep, and turn the verdict into a result.

Both requests front ends use it: :class:`~genesys_auth_adapter.GenesysAdapter` for every send of a
request, and :class:`~genesys_auth_adapter.GenesysAuth`'s response hook (the way requests' digest
auth answers its 401), whose first send requests itself has already made.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest

from ..engine.clock import Clock
from ..engine.flow import SendKind, Sent, Verdict, VerdictKind, needs_decision, settle
from ..engine.manager import TokenManager
from ..engine.pacer import Pacer
from ..engine.retry import Outcome, RetryPolicy
from ..engine.skew import ClockOffset
from ..engine.token import Token
from ..errors import CORRELATION_HEADER, RateBudgetError, RetryExhaustedError, UnreplayableBodyError, without_query
from ..oauth import failure_outcome
from .body import prepare_replay
from .outcomes import ATTEMPTS_ATTRIBUTE, classify, response_outcome

SendRaw = Callable[[PreparedRequest], requests.Response]

# Set on a response the flow already answered (a 401 re-sent once): a second layer (auth= on a
# session that also mounts the adapter) never re-sends again.
_HANDLED = "_genesys_auth_handled"
# Set on a response that answers a re-send: the 401 it replaced (requests rebuilds ``history`` when
# it follows a redirect, and GenesysSession puts the 401 back).
_REPLACED_401 = "_genesys_auth_replaced_401"


def was_handled(response: requests.Response) -> bool:
    """True when the request flow has already answered this response's request."""
    return bool(getattr(response, _HANDLED, False))


def handled(response: requests.Response) -> None:
    """Mark ``response`` as answered by the request flow (see :func:`was_handled`)."""
    setattr(response, _HANDLED, True)


def answered_401(response: requests.Response) -> requests.Response | None:
    """The 401 that ``response`` (the answer to a re-send) replaced, or None."""
    rejected = getattr(response, _REPLACED_401, None)
    return rejected if isinstance(rejected, requests.Response) else None


class RequestsDriver:
    """Carries out the commands of one request's flow over ``requests``.

    Args:
        request: The prepared request; its ``Authorization`` header is set for each send.
        send: Sends a prepared request once, with no hooks and no redirects.
        tokens: The token driver.
        clock: Wall time for the clock samples; the sleeps of retries.
        first: The response to the first send when requests already made it (the ``auth=`` hook: the flow
            starts from it, see :class:`~..engine.flow.Sent`, and the re-send goes around ``Session.send``).
    """

    def __init__(
        self,
        request: PreparedRequest,
        send: SendRaw,
        tokens: TokenManager,
        clock: Clock,
        first: requests.Response | None = None,
    ) -> None:
        self.request = request
        self._send = send
        self._tokens = tokens
        self._clock = clock
        # Hook mode: re-sends go around Session.send, which is what sets ``elapsed``; the adapter's sends
        # get it from Session.send (for the whole request), so they are not timed here too.
        self._times_sends = first is not None
        self.response: requests.Response | None = first
        self.error: requests.RequestException | None = None
        self.replaced_401: requests.Response | None = None

    def authorize(self, rejected: str | None, after: float | None = None) -> str | Token:
        if rejected is not None:
            return self._tokens.rejected(rejected, after)
        return self._tokens.header()

    def drop(self, header: str) -> None:
        self._tokens.discard(header)

    def rewind(self) -> bool:
        return prepare_replay(self.request)

    def sleep(self, seconds: float) -> None:
        # The answer that is being retried is done with: give its connection back before waiting.
        if self.response is not None:
            _ = self.response.content
            self.response.close()
        self._clock.sleep(seconds)

    def send(self, authorization: str | None, kind: SendKind) -> Outcome:
        request = self.request
        previous = self.response
        if previous is not None:
            # Read the (small) answer to the end, so its connection goes back to the pool and it stays
            # readable in ``history``; keep a copy of the request it answered (with that token).
            _ = previous.content
            previous.close()
            previous.request = request.copy()
            if kind is SendKind.RESEND:
                self.replaced_401 = previous
                if request._cookies is not None and previous.raw is not None:  # type: ignore[attr-defined]
                    extract_cookies_to_jar(request._cookies, request, previous.raw)  # type: ignore[attr-defined,no-untyped-call]
                    request.prepare_cookies(request._cookies)  # type: ignore[attr-defined]
        if authorization is None:
            request.headers.pop("Authorization", None)
        else:
            request.headers["Authorization"] = authorization
        sent_wall = self._clock.wall()
        started = self._clock.monotonic() if self._times_sends else 0.0
        try:
            response = self._send(request)
        except requests.RequestException as exc:
            failure = classify(exc)
            if failure is None:
                raise
            self.response, self.error = None, exc
            return failure_outcome(failure, exc)
        received_wall = self._clock.wall()
        if self._times_sends:
            response.elapsed = timedelta(seconds=max(0.0, self._clock.monotonic() - started))
        self.response, self.error = response, None
        return response_outcome(response, sent_wall, received_wall, authorization)

    def send_first(
        self, authorization: str, started: float, policy: RetryPolicy | None, offset: ClockOffset, pacer: Pacer | None
    ) -> Sent | None:
        """The fast path's first send (see :func:`~..engine.flow.fast_header`), with ``authorization``.

        Returns None when its answer needs no decision (it was settled: sampled and counted, and
        :meth:`result` delivers it), else the send for the flow to start from (``request_flow(first=...)``).
        """
        request = self.request
        request.headers["Authorization"] = authorization
        clock = self._clock
        sent_wall = clock.wall()
        try:
            self.response = response = self._send(request)
        except requests.RequestException as exc:
            failure = classify(exc)
            if failure is None:
                raise
            self.error = exc
            return Sent(authorization, failure_outcome(failure, exc), started)
        received_wall = clock.wall()
        if needs_decision(response.status_code, policy):
            return Sent(authorization, response_outcome(response, sent_wall, received_wall, authorization), started)
        settle(offset, pacer, authorization, response.headers.get("Date"), sent_wall, received_wall)
        return None

    def abandon(self) -> None:
        """The flow stopped with an exception: release the last response's connection."""
        if self.response is not None:
            self.response.close()

    def result(self, verdict: Verdict) -> requests.Response:
        """The response the caller gets for ``verdict``, or the error it raises."""
        response = self.response
        if verdict.kind is VerdictKind.DELIVER:
            if self.error is not None:
                raise self.error
            assert response is not None
            if self.replaced_401 is not None:
                response.history.insert(0, self.replaced_401)
                setattr(response, _REPLACED_401, self.replaced_401)
            if verdict.sends > 1:
                setattr(response, ATTEMPTS_ATTRIBUTE, verdict.sends)
            handled(response)
            return response
        request = self.request
        if verdict.kind is VerdictKind.REFUSED:
            if response is not None:
                _ = response.content
                response.close()
            assert verdict.refusal is not None
            raise RateBudgetError.from_refusal(verdict.refusal, verdict.history, request)
        if verdict.kind is VerdictKind.UNREPLAYABLE:
            assert response is not None
            _ = response.content  # the Genesys error body stays readable on the error
            response.close()
            raise UnreplayableBodyError(
                f"{request.method} {without_query(request.url)} was rejected with HTTP 401 and its body "
                f"({type(request.body).__name__}) cannot be sent again, so it was not re-sent. The token has "
                "been dropped: send the request again. To have such requests re-sent automatically, pass the "
                "body as bytes, str, a dict, json= or a seekable binary file instead of a generator or stream.",
                response=response,
                request=request,
            )
        if response is not None:
            _ = response.content  # an exhausted request's last response stays readable on the error
        raise RetryExhaustedError(
            verdict.message,
            attempts=verdict.sends,
            history=verdict.history,
            last_status=None if response is None else response.status_code,
            correlation_id=None if response is None else response.headers.get(CORRELATION_HEADER),
            response=response,
            request=request,
        ) from self.error
