"""All mutable emulator state, under one lock: tokens, rate windows, faults, counters, the request log, jobs.

Routes on every origin's threads call in here; nothing else in the package keeps mutable state, so this one
lock is the whole concurrency story. Methods hold it only for dictionary work, never across I/O or sleeps.
"""

from __future__ import annotations

import copy
import hashlib
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from . import tokens
from .data import ConversationQuery
from .faults import Fault
from .messages import Request

#: How many API-origin requests :meth:`EmulatorState.requests` remembers.
LOG_SIZE = 1000

_WINDOW = 60.0
_PRUNE_AT = 10_000

_COUNTER_NAMES = (
    "token_requests",
    "tokens_issued",
    "api_requests",
    "api_401",
    "api_429",
    "storage_requests",
    "storage_authorization_headers",
    "faults_injected",
    "login_connections",
    "api_connections",
    "storage_connections",
)


@dataclass(frozen=True)
class RateDecision:
    """The outcome of counting one request against its token's window."""

    count: int
    allowed: int
    reset: int
    exceeded: bool


@dataclass(frozen=True)
class JobView:
    """A snapshot of an analytics job.

    Attributes:
        state: ``QUEUED`` until the job has been polled once, ``FULFILLED`` after.
        query: What the job selects.
        submitted: Server time of submission.
        completed: Server time the job became fulfilled, or None.
    """

    state: str
    query: ConversationQuery
    submitted: float
    completed: float | None


class TokenHold:
    """Holds the answer to one token request after its token is minted, until :meth:`release`.

    A revocation meanwhile revokes that token too: a token minted just before a revocation and received
    just after it. The login origin waits at most :data:`HOLD_LIMIT` seconds, so a test that never
    releases cannot hang the emulator.
    """

    def __init__(self) -> None:
        self._minted = threading.Event()
        self._released = threading.Event()

    def wait_minted(self, timeout: float) -> bool:
        """Wait until the held request's token is minted; False if ``timeout`` seconds passed first."""
        return self._minted.wait(timeout)

    def release(self) -> None:
        """Let the held answer go."""
        self._released.set()

    def hold(self) -> None:
        """Called by the login origin once the token is minted: wait for :meth:`release` (bounded)."""
        self._minted.set()
        self._released.wait(HOLD_LIMIT)


#: The longest a token answer is held (seconds).
HOLD_LIMIT = 30.0


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _Pending:
    remaining: int
    fault: Fault


@dataclass
class _Job:
    query: ConversationQuery
    submitted: float
    completed: float | None = None


class EmulatorState:
    """The emulator's mutable state and configuration.

    Args:
        client_id: The one OAuth client id accepted.
        client_secret: Its secret.
        token_lifetime: ``expires_in`` of issued tokens, in seconds.
        skew: Server clock minus local clock, in seconds.
        use_jwt: Issue JWTs instead of opaque tokens.
        rate_limit: Requests per minute per token; 0 disables the limit.
        users: How many synthetic users exist.

    Raises:
        ValueError: On a non-positive lifetime or a negative rate limit or user count.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_lifetime: int,
        skew: float,
        use_jwt: bool,
        rate_limit: int,
        users: int,
    ) -> None:
        if rate_limit < 0 or users < 0:
            raise ValueError("rate_limit and users must not be negative")
        self.client_id = client_id
        self.client_secret = client_secret
        self.use_jwt = use_jwt
        self.rate_limit = rate_limit
        self.users = users
        self._lock = threading.Lock()
        self._skew = float(skew)
        self._lifetime = _positive_lifetime(token_lifetime)
        self._token_delay = 0.0
        self._token_hold: TokenHold | None = None
        self._key = tokens.new_signing_key()
        self._expiry: dict[str, float] = {}
        self._reject_all = False
        self._windows: dict[str, _Window] = {}
        self._token_fault: _Pending | None = None
        self._api_fault: _Pending | None = None
        self._jobs: dict[str, _Job] = {}
        self._counts = dict.fromkeys(_COUNTER_NAMES, 0)
        self._by_path: dict[str, int] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    def __repr__(self) -> str:
        return f"EmulatorState(client_id={self.client_id!r}, client_secret='***')"

    # Clock and settings.

    def now(self) -> float:
        """Returns server time: the local clock plus the configured skew."""
        with self._lock:
            return time.time() + self._skew

    def _now(self) -> float:
        return time.time() + self._skew

    def set_skew(self, seconds: float) -> None:
        """Moves the server clock to local time plus ``seconds``."""
        with self._lock:
            self._skew = float(seconds)

    def set_token_lifetime(self, seconds: int) -> None:
        """Sets ``expires_in`` for tokens issued from now on (issued tokens keep theirs)."""
        lifetime = _positive_lifetime(seconds)
        with self._lock:
            self._lifetime = lifetime

    def set_token_delay(self, seconds: float) -> None:
        """Sets how long the login service waits before answering a token request."""
        if seconds < 0:
            raise ValueError("token delay must not be negative")
        with self._lock:
            self._token_delay = float(seconds)

    def token_delay(self) -> float:
        """Returns the configured token delay in seconds."""
        with self._lock:
            return self._token_delay

    def hold_next_token(self) -> TokenHold:
        """Holds the next token request's answer once its token is minted (see :class:`TokenHold`)."""
        hold = TokenHold()
        with self._lock:
            self._token_hold = hold
        return hold

    def take_token_hold(self) -> TokenHold | None:
        """Consumes the pending hold, if any."""
        with self._lock:
            hold, self._token_hold = self._token_hold, None
            return hold

    # Tokens.

    def issue_token(self, issuer: str) -> tuple[str, int]:
        """Mints a token and records it.

        Args:
            issuer: The ``iss`` claim of a JWT token.

        Returns:
            The token and its lifetime in seconds.
        """
        with self._lock:
            now, lifetime = self._now(), self._lifetime
        token = tokens.mint(
            as_jwt=self.use_jwt, now=now, lifetime=lifetime, client_id=self.client_id, issuer=issuer, key=self._key
        )
        with self._lock:
            if len(self._expiry) >= _PRUNE_AT:
                # A long manual run can mint many tokens; forget the expired ones now and then.
                current = self._now()
                for stale in [t for t, expiry in self._expiry.items() if expiry <= current]:
                    del self._expiry[stale]
                    self._windows.pop(stale, None)
            self._expiry[token] = now + lifetime
            self._counts["tokens_issued"] += 1
        return token, lifetime

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` was issued, is not revoked, and has not expired by the server clock."""
        with self._lock:
            expiry = self._expiry.get(token)
            return not self._reject_all and expiry is not None and self._now() < expiry

    def revoke(self, token: str) -> None:
        """Revokes one token."""
        with self._lock:
            self._expiry.pop(token, None)
            self._windows.pop(token, None)

    def revoke_all(self) -> None:
        """Revokes every token issued so far."""
        with self._lock:
            self._expiry.clear()
            self._windows.clear()

    def reject_all_tokens(self, reject: bool) -> None:
        """Makes every token, including ones issued later, invalid (or valid again)."""
        with self._lock:
            self._reject_all = bool(reject)

    # Rate limiting.

    def count_rate(self, token: str) -> RateDecision | None:
        """Counts one request against the token's fixed one-minute window.

        Returns:
            The decision, or None when rate limiting is disabled.
        """
        if self.rate_limit <= 0:
            return None
        with self._lock:
            now = self._now()
            window = self._windows.get(token)
            # A clock set back (set_skew) also starts a new window, so a window never lasts over a minute.
            if window is None or not window.start <= now < window.start + _WINDOW:
                window = self._windows[token] = _Window(now)
            window.count += 1
            reset = max(1, math.ceil(window.start + _WINDOW - now))
            return RateDecision(window.count, self.rate_limit, reset, window.count > self.rate_limit)

    # Faults.

    def set_token_fault(self, count: int, fault: Fault) -> None:
        """Makes the next ``count`` token requests fail with ``fault`` (0 clears)."""
        pending = _pending(count, fault)
        with self._lock:
            self._token_fault = pending

    def set_api_fault(self, count: int, fault: Fault) -> None:
        """Makes the next ``count`` matching API requests fail with ``fault`` (0 clears)."""
        pending = _pending(count, fault)
        with self._lock:
            self._api_fault = pending

    def take_token_fault(self) -> Fault | None:
        """Consumes one pending token fault, if any."""
        with self._lock:
            fault, self._token_fault = self._take(self._token_fault, None)
            return fault

    def take_api_fault(self, path: str) -> Fault | None:
        """Consumes one pending API fault that applies to ``path``, if any."""
        with self._lock:
            fault, self._api_fault = self._take(self._api_fault, path)
            return fault

    def _take(self, pending: _Pending | None, path: str | None) -> tuple[Fault | None, _Pending | None]:
        if pending is None or (path is not None and not pending.fault.applies_to(path)):
            return None, pending
        self._counts["faults_injected"] += 1
        pending.remaining -= 1
        return pending.fault, pending if pending.remaining > 0 else None

    # Counters and the request log.

    def count(self, name: str) -> None:
        """Adds one to a counter named in :data:`_COUNTER_NAMES`."""
        with self._lock:
            self._counts[name] += 1

    def record_api_request(self, request: Request, status: int | None) -> None:
        """Counts an API-origin request and appends it to the log.

        Args:
            request: The request as received.
            status: The status answered, or None when the connection was dropped.
        """
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "authorization_present": request.header("authorization") is not None,
            "body_sha256": hashlib.sha256(request.body).hexdigest(),
            "body_length": len(request.body),
            "content_type": request.header("content-type"),
            "status": status,
        }
        with self._lock:
            self._counts["api_requests"] += 1
            self._by_path[request.path] = self._by_path.get(request.path, 0) + 1
            if status in (401, 429):
                self._counts[f"api_{status}"] += 1
            self._log.append(entry)

    def counters(self) -> dict[str, Any]:
        """Returns a JSON-serialisable snapshot of the counters."""
        with self._lock:
            snapshot: dict[str, Any] = dict(self._counts)
            snapshot["requests_by_path"] = dict(self._by_path)
            return snapshot

    def requests(self) -> list[dict[str, Any]]:
        """Returns copies of the logged API-origin requests, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._log))

    def reset_counters(self) -> None:
        """Zeroes every counter and empties the request log."""
        with self._lock:
            self._counts = dict.fromkeys(_COUNTER_NAMES, 0)
            self._by_path.clear()
            self._log.clear()

    # Analytics jobs.

    def create_job(self, query: ConversationQuery) -> str:
        """Records a new QUEUED job and returns its id."""
        job_id = str(uuid.uuid4())
        with self._lock:
            self._jobs[job_id] = _Job(query, self._now())
        return job_id

    def poll_job(self, job_id: str) -> JobView | None:
        """Reports a job's state, then advances it: the first poll sees QUEUED, later ones FULFILLED.

        Returns:
            The state as reported by this poll, or None for an unknown id.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            view = _view(job)
            if job.completed is None:
                job.completed = self._now()
            return view

    def job(self, job_id: str) -> JobView | None:
        """Returns a job's current state without advancing it, or None for an unknown id."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else _view(job)


def _view(job: _Job) -> JobView:
    state = "QUEUED" if job.completed is None else "FULFILLED"
    return JobView(state, job.query, job.submitted, job.completed)


def _pending(count: int, fault: Fault) -> _Pending | None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"fault count must be a non-negative integer, not {count!r}")
    return _Pending(count, fault) if count else None


def _positive_lifetime(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        raise ValueError(f"token lifetime must be a positive integer of seconds, not {seconds!r}")
    return seconds
