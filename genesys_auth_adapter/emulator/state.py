"""All mutable emulator state, under one lock: tokens, rate limits, faults, counters, the request log, jobs.

Routes on every origin's threads call in here; nothing else in the package keeps mutable state, so this one
lock is the whole concurrency story. Methods hold it only for dictionary work, never across I/O or sleeps.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import settings, tokens
from .data import ConversationQuery
from .faults import Fault
from .grants import GrantState
from .hold import HOLD_LIMIT as HOLD_LIMIT  # re-exported: tests import it from here
from .hold import TokenHold as TokenHold
from .messages import Request
from .ratelimit import RateLimiter, Refusal, check_endpoint_limits

#: How many API-origin requests :meth:`EmulatorState.requests` remembers.
LOG_SIZE = 1000

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
        rate_limit: Requests per window per token; 0 disables the per-token limit.
        rate_window: The rate-limit window, in seconds (Genesys': 60).
        endpoint_limits: Requests per window per organization, by path prefix under ``/api/v2/``.
        rate_limit_details: Put the ``limit`` object in the 429s of these limits.
        users: How many synthetic users exist.
        idle_timeout: Seconds a user token may stay unused (None: idle expiry off); see :mod:`.grants`.

    Raises:
        ValueError: On a setting outside its range (see :mod:`.settings`), naming it.
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
        rate_window: float = 60.0,
        endpoint_limits: Mapping[str, int] | None = None,
        rate_limit_details: bool = True,
        idle_timeout: float | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.use_jwt = use_jwt
        rate = _rate_settings(rate_limit, rate_window, endpoint_limits or {})
        self.users = settings.whole(users, "users", 0, settings.MAX_USERS)
        self._lock = threading.Lock()
        self._skew = settings.skew(skew)
        self._lifetime = settings.token_lifetime(token_lifetime)
        self._token_delay = 0.0
        self._token_hold: TokenHold | None = None
        self._key = tokens.new_signing_key()
        self._expiry: dict[str, float] = {}
        self._reject_all = False
        self._rate = rate
        self._limiter = RateLimiter(*rate)
        self._rate_details = _flag(rate_limit_details, "rate_limit_details")
        self._serial: dict[str, int] = {}
        self._issued_ever = 0
        self._by_token: dict[int, int] = {}
        self._429_by_limit: dict[str, int] = {}
        self._token_fault: _Pending | None = None
        self._api_fault: _Pending | None = None
        self._jobs: dict[str, _Job] = {}
        self._counts = dict.fromkeys(_COUNTER_NAMES, 0)
        self._by_path: dict[str, int] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        #: The user grants (codes, refresh tokens, user tokens, idle expiry), under their own lock.
        self.grants = GrantState(idle_timeout)

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
        """Moves the server clock to local time plus ``seconds`` (at most ten years either way)."""
        skew = settings.skew(seconds)
        with self._lock:
            self._skew = skew

    def set_token_lifetime(self, seconds: int) -> None:
        """Sets ``expires_in`` for tokens issued from now on (issued tokens keep theirs): 1 to 172800."""
        lifetime = settings.token_lifetime(seconds)
        with self._lock:
            self._lifetime = lifetime

    def set_token_delay(self, seconds: float) -> None:
        """Sets how long the login service waits before answering a token request: 0 to 600 seconds."""
        delay = settings.token_delay(seconds)
        with self._lock:
            self._token_delay = delay

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

    def issue_token(self, issuer: str, client_id: str | None = None) -> tuple[str, int]:
        """Mints a token and records it.

        Args:
            issuer: The ``iss`` claim of a JWT token.
            client_id: The ``sub`` claim of a JWT token; the client-credentials client by default.

        Returns:
            The token and its lifetime in seconds.
        """
        with self._lock:
            now, lifetime = self._now(), self._lifetime
        token = tokens.mint(
            as_jwt=self.use_jwt,
            now=now,
            lifetime=lifetime,
            client_id=client_id or self.client_id,
            issuer=issuer,
            key=self._key,
        )
        stale: list[str] = []
        with self._lock:
            if len(self._expiry) >= _PRUNE_AT:
                # A long manual run can mint many tokens; forget the expired ones now and then.
                current = self._now()
                stale = [t for t, expiry in self._expiry.items() if expiry <= current]
                for old in stale:
                    del self._expiry[old]
                    self._serial.pop(old, None)
                    self._limiter.forget(old)
            self._expiry[token] = now + lifetime
            self._issued_ever += 1
            self._serial[token] = self._issued_ever
            self._counts["tokens_issued"] += 1
        if stale:
            self.grants.forget_owners(stale)
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
            self._limiter.forget(token)
        self.grants.forget_owners([token])

    def revoke_all(self) -> None:
        """Revokes every access token issued so far (refresh tokens are :attr:`grants`' business)."""
        with self._lock:
            self._expiry.clear()
            self._limiter.clear_tokens()
        self.grants.forget_owners(None)

    def reject_all_tokens(self, reject: bool) -> None:
        """Makes every token, including ones issued later, invalid (or valid again)."""
        with self._lock:
            self._reject_all = bool(reject)

    # Rate limiting.

    def set_rate_limits(
        self,
        *,
        per_token: int | None = None,
        window: float | None = None,
        endpoints: Mapping[str, int] | None = None,
    ) -> None:
        """Changes the limits given (None keeps one); every window starts afresh.

        Raises:
            ValueError: On a value out of range, naming it; nothing changes then.
        """
        with self._lock:
            current = self._rate
        rate = _rate_settings(
            current[0] if per_token is None else per_token,
            current[1] if window is None else window,
            current[2] if endpoints is None else endpoints,
        )
        with self._lock:
            self._rate = rate
            self._limiter = RateLimiter(*rate)

    def set_rate_limit_details(self, include: bool) -> None:
        """Puts the ``limit`` object in rate-limit 429s (True) or leaves it out."""
        value = _flag(include, "rate limit details")
        with self._lock:
            self._rate_details = value

    def count_rate(self, token: str, path: str) -> tuple[Refusal, bool] | None:
        """Counts one request with a valid ``token`` for ``path`` against every limit that applies.

        Returns:
            None when the request is within every limit; else the refusal and whether its 429 names the
            limit (``rate_limit_details``).
        """
        with self._lock:
            serial = self._serial.get(token, 0)
            self._by_token[serial] = self._by_token.get(serial, 0) + 1
            refusal = self._limiter.count(token, path, self._now())
            if refusal is None:
                return None
            key = refusal.limit.key
            self._429_by_limit[key] = self._429_by_limit.get(key, 0) + 1
            return refusal, self._rate_details

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
            # Issue numbers, not tokens: a counter never shows a token.
            snapshot["requests_by_token"] = {str(serial): n for serial, n in sorted(self._by_token.items())}
            snapshot["api_429_by_limit"] = dict(self._429_by_limit)
        snapshot.update(self.grants.counters())
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
            self._by_token.clear()
            self._429_by_limit.clear()
            self._log.clear()
        self.grants.reset_counters()

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


def _rate_settings(per_token: object, window: object, endpoints: object) -> tuple[int, float, dict[str, int]]:
    return (
        settings.whole(per_token, "rate_limit", 0, settings.MAX_RATE_LIMIT),
        settings.seconds(window, "rate_window", 0, settings.MAX_RATE_WINDOW, low_open=True),
        check_endpoint_limits(endpoints),
    )


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return value
