"""Retry policy: an immutable value and a pure function that says how long to wait, or to stop.

The policy knows nothing of HTTP libraries: an attempt's outcome is described by an
:class:`Outcome` (a status with its ``Retry-After`` header and body, or a connection failure that
happened before or possibly after the request was sent). The send loop that applies it lives in
:mod:`genesys_auth_adapter.transport.retrying`, the one retry mechanism for API and token requests.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from typing import Callable

from .skew import parse_http_date

#: Methods safe to send twice: the same set as urllib3's ``Retry.DEFAULT_ALLOWED_METHODS`` (a test checks).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_BODY_RETRY_AFTER = re.compile(r"retry the request in \[?(\d+(?:\.\d+)?)\]? seconds", re.IGNORECASE)


class Failure(enum.Enum):
    """What kind of connection failure an attempt ended with."""

    NOT_SENT = "not sent"  # connect error or connect timeout: the server never saw the request
    MAYBE_SENT = "maybe sent"  # read timeout, dropped connection: the server may have acted on it


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt, as far as retrying is concerned.

    Attributes:
        status: The HTTP status, or None for a connection failure.
        failure: The connection failure kind, or None when a response arrived.
        retry_after: The raw ``Retry-After`` header, if any.
        body: The start of the response body (for Genesys' "Retry the request in [N] seconds").
        detail: A short description for logs and error messages (status, code, correlation id).
    """

    status: int | None = None
    failure: Failure | None = None
    retry_after: str | None = None
    body: str = ""
    detail: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry; shared safely by any number of threads.

    Attributes:
        max_attempts: Sends per request at most, the first included (1 disables retries).
        max_time: Seconds from the first send after which no retry starts.
        backoff: Base of the exponential backoff in seconds (attempt n waits up to backoff * 2**(n-1)).
        max_backoff: Cap of one backoff wait, in seconds.
        retry_statuses: Statuses retried for ``methods`` (429 is retried for every method anyway).
        methods: Methods that are safe to send twice: retried after 5xx and after a connection that
            failed once the request was sent.
        retry_429: Retry 429 for every method (Genesys did not process the request).
    """

    max_attempts: int = 5
    max_time: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    retry_statuses: frozenset[int] = field(default=frozenset({502, 503, 504}))
    methods: frozenset[str] = IDEMPOTENT_METHODS
    retry_429: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_time < 0 or self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("max_time, backoff and max_backoff must not be negative")
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def with_methods(self, *methods: str) -> RetryPolicy:
        """A copy that also treats ``methods`` as safe to repeat."""
        return replace(self, methods=self.methods | {m.upper() for m in methods})

    def is_retryable(self, method: str, outcome: Outcome) -> bool:
        """Whether this outcome deserves another attempt at all (budgets aside)."""
        repeatable = method.upper() in self.methods
        if outcome.failure is Failure.NOT_SENT:
            return True
        if outcome.failure is Failure.MAYBE_SENT:
            return repeatable
        if outcome.status == 429:
            return self.retry_429
        return outcome.status in self.retry_statuses and repeatable

    def delay(
        self,
        attempt: int,
        outcome: Outcome,
        *,
        server_now: float,
        random: Callable[[], float],
    ) -> float:
        """Seconds to wait before attempt ``attempt + 1``.

        The server's word comes first: ``Retry-After`` in seconds, or as an HTTP date read against
        ``server_now`` (the local clock corrected by the estimated offset), or Genesys' "Retry the
        request in [N] seconds" in the body. Otherwise a jittered exponential backoff.

        Args:
            attempt: How many attempts were made so far (1 after the first).
            outcome: What the last attempt got.
            server_now: The current time on the server's clock, in Unix seconds.
            random: Returns a number in [0, 1), for jitter.
        """
        told = server_retry_after(outcome, server_now)
        if told is not None:
            return told
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        # "Equal jitter": at least half the ceiling, so waits still grow, spread over the rest.
        return ceiling / 2 + random() * ceiling / 2


def server_retry_after(outcome: Outcome, server_now: float) -> float | None:
    """The wait the server asked for, in seconds, or None when it did not say."""
    header = (outcome.retry_after or "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            when = parse_http_date(header)
            if when is not None:
                return max(0.0, when - server_now)
    if outcome.status == 429 and outcome.body:
        match = _BODY_RETRY_AFTER.search(outcome.body)
        if match:
            return float(match.group(1))
    return None


@dataclass(frozen=True)
class RetryState:
    """Progress of one request through its retries; each attempt makes a new value.

    Attributes:
        started: Monotonic time of the first send.
        attempts: Attempts made so far.
        history: One line per attempt that was retried or ended the request.
    """

    started: float
    attempts: int = 0
    history: tuple[str, ...] = ()

    def record(self, line: str) -> RetryState:
        return replace(self, attempts=self.attempts + 1, history=(*self.history, line))


@dataclass(frozen=True)
class Decision:
    """What to do after an attempt: wait ``wait`` seconds and retry, or stop.

    Attributes:
        retry: True to send again after ``wait`` seconds.
        wait: Seconds to wait first.
        exhausted: True when the outcome was retryable but a budget ran out.
        reason: Why the request stops, when it does.
    """

    retry: bool
    wait: float = 0.0
    exhausted: bool = False
    reason: str = ""


def decide(
    policy: RetryPolicy,
    method: str,
    state: RetryState,
    outcome: Outcome,
    *,
    now: float,
    server_now: float,
    random: Callable[[], float],
) -> Decision:
    """Apply ``policy`` to the latest attempt: the pure heart of retrying.

    Args:
        policy: The policy.
        method: The request's HTTP method.
        state: The state after recording the latest attempt.
        outcome: What the latest attempt got.
        now: The monotonic time now.
        server_now: The server's wall clock now (for HTTP-date ``Retry-After``).
        random: Returns a number in [0, 1), for jitter.
    """
    if not policy.is_retryable(method, outcome):
        return Decision(retry=False)
    if state.attempts >= policy.max_attempts:
        return Decision(retry=False, exhausted=True, reason=f"no attempts left ({policy.max_attempts} allowed)")
    wait = policy.delay(state.attempts, outcome, server_now=server_now, random=random)
    elapsed = now - state.started
    if elapsed + wait > policy.max_time:
        return Decision(
            retry=False,
            exhausted=True,
            reason=f"waiting {wait:.1f} s more would pass the {policy.max_time:.0f} s time budget "
            f"({elapsed:.1f} s used)",
        )
    return Decision(retry=True, wait=wait)
