"""The one retry loop, for API requests (in the adapter) and token requests (in the login client).

It turns each attempt's response or exception into an :class:`~..engine.retry.Outcome`, asks the pure
:func:`~..engine.retry.decide` what to do, sleeps on the injected clock and tries again. Budgets are
counted per request; when one runs out the caller gets a :class:`RetryExhaustedError` listing every
attempt.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random as _random
from collections.abc import Iterator
from typing import Callable

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ..engine.clock import Clock
from ..engine.retry import Decision, Failure, Outcome, RetryPolicy, RetryState, decide
from ..engine.skew import ClockOffset
from ..errors import CORRELATION_HEADER, RetryExhaustedError

_log = logging.getLogger("genesys_auth_adapter.retry")

_override: contextvars.ContextVar[RetryPolicy | None] = contextvars.ContextVar(
    "genesys_auth_adapter_retry", default=None
)

#: Name of the attribute set on every response that went through the loop: how many sends it took.
ATTEMPTS_ATTRIBUTE = "genesys_attempts"


@contextlib.contextmanager
def retry_policy(policy: RetryPolicy | None) -> Iterator[None]:
    """Use ``policy`` for the API requests made inside the ``with`` block (this thread/context only).

    Token requests keep the auth's own policy: one token request serves every thread that needs a
    token, so no single caller's override decides it.

    Example:
        ``with retry_policy(RetryPolicy(max_attempts=1)): session.post(...)``
    """
    token = _override.set(policy)
    try:
        yield
    finally:
        _override.reset(token)


def effective_policy(default: RetryPolicy) -> RetryPolicy:
    """The policy for a request now: a :func:`retry_policy` override, else ``default``."""
    return _override.get() or default


def attempts(response: requests.Response) -> int:
    """How many sends a response took (1 when it was not retried)."""
    return int(getattr(response, ATTEMPTS_ATTRIBUTE, 1))


def classify(exc: BaseException) -> Failure | None:
    """Whether a requests exception happened before the request left, after, or is not retryable."""
    if isinstance(exc, requests.exceptions.SSLError):
        return None  # a certificate problem does not go away by waiting
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.NOT_SENT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure.MAYBE_SENT
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return Failure.NOT_SENT
        return Failure.MAYBE_SENT
    return None


def outcome_of(response: requests.Response, *, throttled: bool = False, note: str = "") -> Outcome:
    """Describe a response for the policy; reads the body only for a throttle.

    Args:
        response: The response.
        throttled: The response says "too many requests" with another status than 429 (see
            ``throttle`` of :func:`send_with_retries`); the policy then treats it as a 429.
        note: Words to add after the status in logs and errors, e.g. the OAuth error.
    """
    detail = f"HTTP {response.status_code}" + (f" {note}" if note else "")
    correlation_id = response.headers.get(CORRELATION_HEADER)
    if correlation_id:
        detail += f" (correlation id {correlation_id})"
    body = response.text[:1000] if throttled or response.status_code == 429 else ""
    return Outcome(
        status=response.status_code,
        retry_after=response.headers.get("Retry-After"),
        body=body,
        detail=detail,
        throttled=throttled,
    )


def send_with_retries(
    send: Callable[[], requests.Response],
    *,
    method: str,
    what: Callable[[], str],
    policy: RetryPolicy,
    clock: Clock,
    offset: ClockOffset,
    can_resend: Callable[[], bool] = lambda: True,
    random: Callable[[], float] = _random.random,
    throttle: Callable[[requests.Response], Outcome | None] | None = None,
) -> requests.Response:
    """Send, and send again while the policy says so.

    Args:
        send: Makes one attempt; returns the response or raises a requests exception.
        method: The HTTP method, for the policy's idempotency rules.
        what: Describes the request for logs and errors (``"GET /api/v2/users"``, never a token);
            called only when a retry is considered, to keep the common case cheap.
        policy: The retry policy.
        clock: Monotonic time for budgets, wall time for ``Retry-After`` dates, and sleep.
        offset: The server clock offset, to read ``Retry-After`` dates in server time.
        can_resend: Called before each retry; False when the body cannot be sent again (the last
            response or error is then given to the caller as it is).
        random: Jitter source.
        throttle: Looks at a response the policy would not retry by its status alone and returns
            an :class:`Outcome` marked ``throttled`` when it is a throttle in disguise (the login
            service's 400 "rate limit exceeded"), else None. Not called for 2xx-3xx responses, so
            API requests (which pass None) pay nothing for it.

    Returns:
        The final response; its ``genesys_attempts`` attribute says how many sends it took.

    Raises:
        RetryExhaustedError: The outcome was retryable but attempts or time ran out.
        requests.RequestException: A connection error that is not to be retried.
    """
    started = clock.monotonic()
    state: RetryState | None = None  # made on the first retryable outcome, off the hot path
    while True:
        response: requests.Response | None = None
        error: requests.RequestException | None = None
        try:
            response = send()
            status = response.status_code
            if status == 429 or status in policy.retry_statuses:
                outcome = outcome_of(response)
            else:
                disguised = throttle(response) if throttle is not None and status >= 400 else None
                if disguised is None:
                    # Nothing to retry, the common case: no bookkeeping on the hot path.
                    if state is not None:
                        setattr(response, ATTEMPTS_ATTRIBUTE, state.attempts + 1)
                    return response
                outcome = disguised
        except requests.RequestException as exc:
            failure = classify(exc)
            if failure is None:
                raise
            error = exc
            outcome = Outcome(failure=failure, detail=f"{type(exc).__name__} ({failure.value})")
        if state is None:
            state = RetryState(started=started)
        tried = state.record(outcome.detail)
        decision = decide(
            policy,
            method,
            tried,
            outcome,
            now=clock.monotonic(),
            server_now=offset.server_time(clock.wall()),
            random=random,
        )
        if decision.retry and not can_resend():
            _log.warning("Not retrying %s after %s: its body cannot be sent again.", what(), outcome.detail)
            decision = Decision(retry=False)
        state = state.record(f"{outcome.detail}, waited {decision.wait:.1f} s") if decision.retry else tried
        if response is not None and (decision.retry or decision.exhausted):
            # Read the (small) error body: the connection goes back to the pool for the next attempt,
            # and an exhausted request's last response stays readable on the error.
            _ = response.content
        if not decision.retry:
            if decision.exhausted:
                raise _exhausted(what(), state, decision.reason, clock.monotonic(), response) from error
            if error is not None:
                raise error
            assert response is not None
            setattr(response, ATTEMPTS_ATTRIBUTE, state.attempts)
            return response
        _log.info(
            "Retrying %s in %.1f s (attempt %d of %d): %s.",
            what(),
            decision.wait,
            state.attempts + 1,
            policy.max_attempts,
            outcome.detail,
        )
        clock.sleep(decision.wait)


def _exhausted(
    what: str, state: RetryState, reason: str, now: float, response: requests.Response | None
) -> RetryExhaustedError:
    lines = "; ".join(f"attempt {n}: {line}" for n, line in enumerate(state.history, 1))
    return RetryExhaustedError(
        f"{what} gave up after {state.attempts} attempt(s) in {now - state.started:.1f} s: {reason}. {lines}.",
        attempts=state.attempts,
        history=state.history,
        last_status=None if response is None else response.status_code,
        correlation_id=None if response is None else response.headers.get(CORRELATION_HEADER),
        response=response,
        request=None if response is None else response.request,
    )
