"""The token manager: one current token, refreshed ahead of expiry, replaced once per rejection.

Reading the current token takes no lock (one attribute read and one clock read). Everything that
changes state happens under one lock, and every token request is a *flight*: the first thread that
needs a new token leads it, every other thread that needs one meanwhile waits for the same flight and
shares its result or its error. So any number of threads that see one stale or rejected token cause
exactly one token request.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from . import fork_safety
from .clock import SYSTEM_CLOCK, Clock
from .skew import ClockOffset
from .token import Freshness, IssuedToken, Token, build_token

_log = logging.getLogger("genesys_auth_adapter.token")

FetchToken = Callable[[], IssuedToken]

#: After a failed token request, no ahead-of-time refresh starts for this long (the old token still works).
STALE_RETRY_DELAY = 5.0


class WaitTimeout(TimeoutError):
    """Another thread's token request did not finish within the manager's ``wait_timeout``."""


class _Flight:
    """One token request in progress, shared by every thread that waits for it."""

    def __init__(self, *, quick: bool) -> None:
        self.done = threading.Event()
        self.quick = quick  # an ahead-of-expiry attempt, which gives up sooner than a waiter would
        self.token: Token | None = None
        self.error: BaseException | None = None


class TokenManager:
    """Keeps a usable token and replaces it when it gets old or is rejected.

    Args:
        fetch: Gets a new token; called by one thread at a time, with no lock held.
        clock: The clock for deadlines and clock-offset samples.
        offset: The clock-offset estimator to feed; a new one by default.
        wait_timeout: How long a thread waits for another thread's token request, in seconds.
        fetch_ahead: Gets a new token while the current one is still valid (an ahead-of-expiry
            refresh, made inside some caller's request); ``fetch`` by default. A source makes this
            one quick (no long retries), since a failure costs nothing but a later try.
        initial: A token to start with (one the caller already has); its lifetime counts from now.
    """

    def __init__(
        self,
        fetch: FetchToken,
        *,
        clock: Clock = SYSTEM_CLOCK,
        offset: ClockOffset | None = None,
        wait_timeout: float = 120.0,
        fetch_ahead: FetchToken | None = None,
        initial: IssuedToken | None = None,
    ) -> None:
        number = isinstance(wait_timeout, (int, float)) and not isinstance(wait_timeout, bool)
        if not (number and 0 < wait_timeout < float("inf")):  # NaN fails the comparison too
            raise ValueError(f"wait_timeout must be a finite number of seconds > 0, not {wait_timeout!r}")
        self._fetch = fetch
        self._fetch_ahead = fetch_ahead if fetch_ahead is not None else fetch
        self._clock = clock
        self.offset = offset if offset is not None else ClockOffset()
        self._wait_timeout = wait_timeout
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._flight: _Flight | None = None
        self._generation = 0
        self._stale_retry_at = float("-inf")
        self._warned_generation = 0  # the token whose failed ahead-of-expiry refresh was logged as a warning
        self.token_requests = 0
        fork_safety.register(self)
        if initial is not None:
            now_monotonic, now_wall = clock.monotonic(), clock.wall()
            self._generation = 1
            self._token = build_token(
                initial,
                generation=1,
                sent_monotonic=now_monotonic,
                sent_wall=now_wall,
                received_wall=now_wall,
                offset=self.offset,
            )

    @property
    def clock(self) -> Clock:
        """The clock this manager reads."""
        return self._clock

    @property
    def wait_timeout(self) -> float:
        """How long a thread waits for another thread's token request, in seconds."""
        return self._wait_timeout

    @property
    def current(self) -> Token | None:
        """The token held now, whatever its freshness, or None."""
        return self._token

    def header(self) -> str:
        """The ``Authorization`` header value of a usable token, fetching one if needed.

        The hot path: a fresh token is returned with no lock and no decoding.
        """
        token = self._token
        if token is not None and (token.refresh_at is None or self._clock.monotonic() < token.refresh_at):
            return token.header
        return self.token().header

    def token(self) -> Token:
        """A usable token: the current one if fresh, else a new one.

        A stale (still valid) token is returned at once when another thread is already refreshing
        it, or when the refresh fails; only an expired or missing token makes the caller wait.

        Raises:
            Exception: Whatever ``fetch`` raised, when there is no usable token.
            WaitTimeout: Another thread's token request did not finish within ``wait_timeout``.
        """
        token = self._token
        now = self._clock.monotonic()
        state = Freshness.INVALID if token is None else token.freshness(now)
        if token is not None and state is Freshness.FRESH:
            return token
        if token is not None and state is Freshness.STALE:
            if now < self._stale_retry_at:
                return token
            try:
                return self._replace(token, join_running=False) or token
            except Exception as exc:  # the current token still works: say why (once per token) and go on
                left = token.remaining(now)
                level = logging.DEBUG if self._warned_generation == token.generation else logging.WARNING
                self._warned_generation = token.generation
                _log.log(
                    level,
                    "Refreshing the token ahead of expiry failed (%s); using the current one%s.",
                    exc,
                    "" if left is None else f" ({left:.0f} s left)",
                )
                return token
        new = self._replace(token, join_running=True)
        assert new is not None
        return new

    def rejected(self, header: str) -> Token:
        """The API rejected a request that carried ``header``: return a token to re-send it with.

        If the current token is still the rejected one it is dropped and exactly one new token is
        requested; if another thread has already replaced it, the replacement is returned with no
        token request at all.

        Args:
            header: The ``Authorization`` value the rejected request carried.

        Raises:
            Exception: Whatever ``fetch`` raised.
            WaitTimeout: Another thread's token request did not finish within ``wait_timeout``.
        """
        self.discard(header)
        new = self._replace(None, join_running=True)
        assert new is not None
        return new

    def discard(self, header: str) -> None:
        """Drop the current token if it is the one that carried ``header`` (a rejected token)."""
        with self._lock:
            current = self._token
            if current is not None and current.header == header:
                _log.info("The API rejected token #%d; it will be replaced.", current.generation)
                self._token = None

    def invalidate(self) -> None:
        """Forget the current token; the next request gets a new one."""
        with self._lock:
            self._token = None

    def _replace(self, seen: Token | None, *, join_running: bool) -> Token | None:
        """Get a token newer than ``seen``, leading or joining the one flight.

        Only the ahead-of-expiry path passes ``join_running=False``: it holds a valid token, so it
        does not wait for another thread's flight, and what it leads is a quick flight
        (``fetch_ahead``). A thread that needs a token and joined a quick flight that failed, or a
        flight whose leader was interrupted (``KeyboardInterrupt``, ``SystemExit``), does not inherit
        that outcome: it leads a full flight itself (at most once).

        Returns None only when ``join_running`` is False and another thread's flight is running.
        """
        flight: _Flight | None = None
        for _ in range(2):
            mine = _Flight(quick=not join_running)
            try:
                with self._lock:
                    current = self._token
                    if (
                        current is not None
                        and current is not seen
                        and current.freshness(self._clock.monotonic()) is not Freshness.INVALID
                    ):
                        return current
                    running = self._flight
                    if running is None or running.done.is_set():  # a finished flight left behind is over
                        self._flight = running = mine
                    flight = running
                if flight is mine:
                    return self._lead(mine, self._fetch_ahead if mine.quick else self._fetch)
            finally:
                # Whatever happened above (an exception of any kind included), a flight this thread
                # registered ends here: the next caller never waits for a flight nobody leads.
                self._end(mine)
            if not join_running:
                return None
            # Event.wait() raises OverflowError past TIMEOUT_MAX (about 292 years on Linux, 49 days on Windows).
            if not flight.done.wait(min(self._wait_timeout, threading.TIMEOUT_MAX)):
                raise WaitTimeout(
                    f"Waited {self._wait_timeout:.0f} s for a token request made by another thread; "
                    "the login service may be slow. Raise wait_timeout or check connectivity."
                )
            if flight.token is not None:
                return flight.token
            if isinstance(flight.error, Exception) and not flight.quick:
                raise flight.error
        assert flight is not None
        if isinstance(flight.error, Exception):
            raise flight.error
        raise WaitTimeout("The token request made by another thread was interrupted twice; try again.")

    def _lead(self, flight: _Flight, fetch: FetchToken) -> Token:
        """Make the token request of ``flight`` (registered by the caller, who also ends it)."""
        try:
            sent_monotonic, sent_wall = self._clock.monotonic(), self._clock.wall()
            self.token_requests += 1
            issued = fetch()
            with self._lock:
                self._generation += 1
                token = build_token(
                    issued,
                    generation=self._generation,
                    sent_monotonic=sent_monotonic,
                    sent_wall=sent_wall,
                    received_wall=self._clock.wall(),
                    offset=self.offset,
                )
                self._token = token
                self._stale_retry_at = float("-inf")
                flight.token = token
        except BaseException as exc:
            flight.error = exc
            if isinstance(exc, Exception):
                with self._lock:
                    # Set before the flight ends, so no thread slips in a second request meanwhile.
                    self._stale_retry_at = self._clock.monotonic() + STALE_RETRY_DELAY
            raise
        remaining = token.remaining(sent_monotonic)
        _log.info(
            "Obtained token #%d (%s).",
            token.generation,
            "no expiry given" if remaining is None else f"valid {remaining:.0f} s",
        )
        return token

    def _end(self, flight: _Flight) -> None:
        """Unregister ``flight`` if it is the current one and wake its waiters."""
        try:
            with self._lock:
                if self._flight is flight:
                    self._flight = None
        finally:
            flight.done.set()

    def after_fork_in_child(self) -> None:
        """Reset what a forked child cannot share: the lock and any token request in flight.

        The child keeps the parent's token (it is valid in any process). A flight the parent had
        running goes on in the parent only; the child's first caller that needs a token leads its own.
        """
        self._lock = threading.Lock()
        self._flight = None
        self.offset.after_fork_in_child()

    def __repr__(self) -> str:
        token = self._token
        held = "no token" if token is None else f"token #{token.generation}"
        return f"TokenManager({held}, {self.token_requests} token requests)"
