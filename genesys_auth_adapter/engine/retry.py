"""Retry policy: an immutable value and a pure function that says how long to wait, or to stop.

The policy knows nothing of HTTP libraries: an attempt's outcome is described by an
:class:`Outcome` (a status with its ``Retry-After`` header and body, or a connection failure that
happened before or possibly after the request was sent). A throttle signalled with another status
than 429 (Genesys' login service answers 400 ``invalid_request`` "rate limit exceeded") is marked
``throttled`` by the login port and treated exactly like a 429. The request flow
(:mod:`genesys_auth_adapter.engine.flow`) applies it: the one retry loop, for API and token requests and
for every front end.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Callable

from .skew import parse_http_date

#: The response header Genesys support asks for (quoted in errors and retry logs).
CORRELATION_HEADER = "ININ-Correlation-Id"

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
        detail: A short description for logs and error messages (status, code, correlation id; for a
            connection failure its root cause); by default the status and correlation id.
        correlation_id: The ``ININ-Correlation-Id`` header, if any.
        date: The raw ``Date`` header, if any: the response's clock sample.
        sent_wall: Local wall time just before the request was sent.
        received_wall: Local wall time when the response arrived.
        foreign: The answer came from outside the API base (a redirect the HTTP library followed): it is
            handed to the caller as it is, never taken for the API's 401, 429 or clock.
        throttled: The server said "too many requests" with another status than 429 (the login
            service's 400 "rate limit exceeded"); the policy treats it as a 429.
        carried: The answered request carried the ``Authorization`` value the flow sent (or, like the
            flow, none). False when a redirect hop lost it: that request's 401 says nothing of the token.
            Front ends check it for a 401 only.
    """

    status: int | None = None
    failure: Failure | None = None
    retry_after: str | None = None
    body: str = ""
    detail: str = ""
    throttled: bool = False
    correlation_id: str | None = None
    date: str | None = None
    sent_wall: float | None = None
    received_wall: float | None = None
    foreign: bool = False
    carried: bool = True

    @property
    def description(self) -> str:
        """``detail``, or the status and correlation id when no detail was given."""
        if self.detail:
            return self.detail
        text = "no response" if self.status is None else f"HTTP {self.status}"
        return text + (f" (correlation id {self.correlation_id})" if self.correlation_id else "")

    def attempt(self, number: int, wait: float | None, *, resent: bool = False, paced: Paced | None = None) -> Attempt:
        """This outcome as attempt ``number`` of a request's history (``paced``: the wait for its slot)."""
        if paced is None:
            return Attempt(number, self.status, self.correlation_id, wait, self.description, resent)
        return Attempt(number, self.status, self.correlation_id, wait, self.description, resent, paced)

    @property
    def is_throttle(self) -> bool:
        """A 429, or a throttle signalled another way."""
        return self.status == 429 or self.throttled


def response_outcome(
    status: int,
    headers: Mapping[str, str],
    body: Callable[[], str],
    sent_wall: float,
    received_wall: float,
    carried: bool = True,
) -> Outcome:
    """Describe an API response for the request flow, whichever HTTP library it came from.

    Cheap for the common case: a response below 400 costs one header look-up, and ``body`` (the text,
    for Genesys' "[N] seconds" hint) is read only for a 429. ``carried``: see :attr:`Outcome.carried`.
    """
    if status < 400:
        return Outcome(status=status, date=headers.get("Date"), sent_wall=sent_wall, received_wall=received_wall)
    return Outcome(
        status=status,
        retry_after=headers.get("Retry-After"),
        body=body()[:1000] if status == 429 else "",
        correlation_id=headers.get(CORRELATION_HEADER),
        date=headers.get("Date"),
        sent_wall=sent_wall,
        received_wall=received_wall,
        carried=carried,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry; shared safely by any number of threads.

    Attributes:
        max_attempts: Attempts per request at most, the first included (1 disables retries). A 401's one
            re-send with a new token counts as an attempt, and is made even when it is the one past this.
        max_time: Seconds from the first send after which no retry starts (finite, so every wait is
            bounded). The default leaves room for one retry after a read timeout under the
            session's default timeouts (10 s connect + 60 s read).
        backoff: Base of the exponential backoff in seconds (attempt n waits up to backoff * 2**(n-1)).
        max_backoff: Cap of one backoff wait, in seconds.
        retry_statuses: Statuses retried for ``methods`` (429 is retried for every method anyway).
        methods: Methods that are safe to send twice: retried after 5xx and after a connection that
            failed once the request was sent.
        retry_429: Retry 429 (and other throttles) for every method (Genesys did not process the request).

    Raises:
        ValueError: A value that is not a number, or out of range (the message names it and says what
            is allowed). The engine does not import ``requests``, so this is a plain ``ValueError``
            rather than the library's ``ConfigurationError`` (which also is one).
    """

    max_attempts: int = 5
    max_time: float = 120.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    retry_statuses: frozenset[int] = field(default=frozenset({502, 503, 504}))
    methods: frozenset[str] = IDEMPOTENT_METHODS
    retry_429: bool = True

    def __post_init__(self) -> None:
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(
                f"RetryPolicy max_attempts must be a whole number >= 1 (1 turns retries off), not {attempts!r}"
            )
        _check_seconds("max_time", self.max_time, positive=True)
        _check_seconds("backoff", self.backoff, positive=False)
        _check_seconds("max_backoff", self.max_backoff, positive=False)
        if isinstance(self.methods, str) or isinstance(self.retry_statuses, (str, int)):
            raise ValueError("methods and retry_statuses are collections, e.g. methods=frozenset({'GET', 'PUT'})")
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
        if outcome.is_throttle:
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
    if outcome.is_throttle and outcome.body:
        match = _BODY_RETRY_AFTER.search(outcome.body)
        if match:
            return float(match.group(1))
    return None


def _check_seconds(name: str, value: object, *, positive: bool) -> None:
    """Refuse a duration that is not a finite number in range, naming the setting."""
    # At most threading.TIMEOUT_MAX (which also rules out inf; NaN fails every comparison): a budget
    # ends up in Event.wait(), which refuses more.
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (value > 0 if positive else value >= 0)
        and value <= threading.TIMEOUT_MAX
    ):
        return
    allowed = "> 0 (every wait must end: for a long budget give e.g. 600)" if positive else ">= 0"
    raise ValueError(f"RetryPolicy {name} must be a finite number of seconds {allowed}, not {value!r}")


@dataclass(frozen=True)
class Attempt:
    """One attempt of a request that was retried or gave up: what came back and how long was waited.

    Attributes:
        number: 1 for the first attempt.
        status: The HTTP status, or None when the attempt failed to connect or lost the connection.
        correlation_id: The ``ININ-Correlation-Id`` of the response, if any.
        wait: Seconds waited before the next attempt, or None for the last one.
        detail: What happened, for people: ``HTTP 503 (correlation id ...)``,
            ``ConnectionError (not sent): connection refused``.
        resent: A 401 answered with a new token and an immediate re-send.
        paced: The wait for a slot in the token's (or a limit's) rate budget before this attempt was sent.
    """

    number: int
    status: int | None
    correlation_id: str | None
    wait: float | None
    detail: str
    resent: bool = False
    paced: Paced | None = None

    def __str__(self) -> str:
        before = "" if self.paced is None else f"{self.paced}, then "
        if self.resent:
            return f"{before}{self.detail}, re-sent with a new token"
        return before + (self.detail if self.wait is None else f"{self.detail}, waited {self.wait:.1f} s")


@dataclass(frozen=True)
class Paced:
    """A wait for a slot in a rate budget (see :mod:`.pacer`) before an attempt was sent.

    Attributes:
        seconds: How long it waited.
        cause: Which lane and budget set the wait (``token 3fa9c2d1e0b4a7f6, paced at 300 requests per 60 s
            (learned from limit ...)``); a token appears only as its fingerprint.
    """

    seconds: float
    cause: str

    def __str__(self) -> str:
        return f"paced {self.seconds:.1f} s for a slot on {self.cause}"


@dataclass(frozen=True)
class RetryState:
    """Progress of one request through its retries; each attempt makes a new value.

    Attributes:
        started: Monotonic time the request started.
        attempts: Attempts made so far.
        history: The attempts that were retried.
    """

    started: float
    attempts: int = 0
    history: tuple[Attempt, ...] = ()

    def record(
        self, outcome: Outcome, wait: float | None = None, *, resent: bool = False, paced: Paced | None = None
    ) -> RetryState:
        """The state after one more attempt that got ``outcome``; with ``wait``, it is kept in the history."""
        if wait is None:
            return replace(self, attempts=self.attempts + 1)
        attempt = outcome.attempt(self.attempts + 1, wait, resent=resent, paced=paced)
        return replace(self, attempts=self.attempts + 1, history=(*self.history, attempt))

    def ended(self, outcome: Outcome, paced: Paced | None = None) -> tuple[Attempt, ...]:
        """The full history once ``outcome`` (already recorded) ends the request."""
        return (*self.history, outcome.attempt(self.attempts, None, paced=paced))


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
    if not elapsed + wait <= policy.max_time:  # also stops on a NaN wait, which compares False
        return Decision(
            retry=False,
            exhausted=True,
            reason=f"waiting {wait:.1f} s more would pass the {policy.max_time:.0f} s time budget "
            f"({elapsed:.1f} s used)",
        )
    return Decision(retry=True, wait=wait)


_override: contextvars.ContextVar[RetryPolicy | None] = contextvars.ContextVar(
    "genesys_auth_adapter_retry", default=None
)


@contextlib.contextmanager
def retry_policy(policy: RetryPolicy | None) -> Iterator[None]:
    """Use ``policy`` for the API requests made inside the ``with`` block (this thread, task or context only).

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
