"""The token state: the current token, the one flight in progress, and the rules around them.

No I/O and no waiting: each method is a short step that the token drivers (threads in
:mod:`.manager`, asyncio in :mod:`.aio`) compose. The steps that read and change several fields at
once take an internal lock for an instant, never across a token request or an ``await``, so threads
and asyncio tasks can share one state: they still cause one token request between them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass

from . import fork_safety
from .clock import Clock
from .flight import Flight
from .skew import ClockOffset
from .token import Freshness, IssuedToken, Token, build_token

_log = logging.getLogger("genesys_auth_adapter.token")

#: After a failed token request, no ahead-of-time refresh starts for this long (the old token still works).
STALE_RETRY_DELAY = 5.0


class WaitTimeout(TimeoutError):
    """Another thread's or task's token request did not finish within ``wait_timeout``."""


class RefreshDeferred(Exception):
    """An ahead-of-expiry refresh was not made because someone else (another process) is making it.

    The current token still works; the refresh is tried again a few seconds later, without a warning.
    """


@dataclass(frozen=True)
class Claim:
    """What a caller that needs a token newer than one it saw should do.

    Exactly one of: use ``token``; lead ``flight`` (it was registered for this caller); or wait for
    ``flight``, which another caller leads. With ``join_running=False`` a running flight is neither
    led nor joined: ``token`` and ``flight`` are then both None.
    """

    token: Token | None = None
    flight: Flight | None = None
    lead: bool = False


class TokenState:
    """The token shared by every driver of one auth object.

    Args:
        clock: The clock for deadlines and clock-offset samples.
        offset: The clock-offset estimate (fed by the flow, and by JWT claims here).
        wait_timeout: How long a caller waits for another caller's token request, in seconds.
        initial: A token to start with (one the caller already has); its lifetime counts from now.

    Raises:
        ValueError: ``wait_timeout`` is not a finite number of seconds above 0.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        offset: ClockOffset | None = None,
        wait_timeout: float = 120.0,
        initial: IssuedToken | None = None,
    ) -> None:
        number = isinstance(wait_timeout, (int, float)) and not isinstance(wait_timeout, bool)
        if not (number and 0 < wait_timeout < float("inf")):  # NaN fails the comparison too
            raise ValueError(f"wait_timeout must be a finite number of seconds > 0, not {wait_timeout!r}")
        self.clock = clock
        self.offset = offset if offset is not None else ClockOffset()
        self.wait_timeout = float(wait_timeout)
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._flight: Flight | None = None
        self._generation = 0
        self._stale_retry_at = float("-inf")
        self._warned_generation = 0  # the token whose failed ahead-of-expiry refresh was logged as a warning
        self.token_requests = 0
        #: The last few rejected ``Authorization`` values, newest last.
        self.rejected: deque[str] = deque(maxlen=8)
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
    def current(self) -> Token | None:
        """The token held now, whatever its freshness, or None."""
        return self._token

    def fresh_header(self, now: float | None = None) -> str | None:
        """The hot path: the header of a token that needs nothing done at monotonic time ``now`` (by default
        the clock's), or None. Nothing: not due for a refresh, and its lifetime not a guess (``provisional``)."""
        token = self._token
        if token is None or token.provisional:
            return None
        if token.refresh_at is None or (self.clock.monotonic() if now is None else now) < token.refresh_at:
            return token.header
        return None

    def refresh_due(self, now: float) -> bool:
        """Whether an ahead-of-expiry refresh may start now (not right after one failed)."""
        return now >= self._stale_retry_at

    def claim(self, seen: Token | None, flight: Flight, *, join_running: bool, after: float | None = None) -> Claim:
        """Decide, atomically, how a caller gets a token newer than ``seen``.

        Args:
            seen: The token the caller has (stale, expired or rejected), or None.
            flight: A new flight, registered and led by the caller if none is running.
            join_running: False for an ahead-of-expiry refresh, which neither waits for nor joins
                a running flight (it still holds a valid token); its flight is quick.
            after: Only a token this process asked for at or after this monotonic time will do (a
                re-send's token that was rejected too may have predated a revocation).
        """
        with self._lock:
            current = self._token
            if (
                current is not None
                and current is not seen
                and current.freshness(self.clock.monotonic()) is not Freshness.INVALID
                and (after is None or current.minted_since(after))
            ):
                return Claim(token=current)
            running = self._flight
            if running is None or running.done:  # a finished flight left registered is over
                self._flight = flight
                return Claim(flight=flight, lead=True)
            return Claim(flight=running) if join_running else Claim()

    def started(self) -> tuple[float, float]:
        """A token request is about to be sent: count it; returns (monotonic, wall) send times."""
        self.token_requests += 1
        return self.clock.monotonic(), self.clock.wall()

    def obtained(self, flight: Flight, issued: IssuedToken, sent_monotonic: float, sent_wall: float) -> Token:
        """Install the token ``flight`` obtained and hand it to the flight's waiters.

        The token held already, taken again (from a store, now with its lifetime on the server's clock),
        keeps its number: it is not a new token.
        """
        with self._lock:
            held = self._token
            again = held is not None and held.access_token == issued.access_token
            if not again:
                self._generation += 1
            token = build_token(
                issued,
                generation=self._generation,
                sent_monotonic=sent_monotonic,
                sent_wall=sent_wall,
                received_wall=self.clock.wall(),
                offset=self.offset,
            )
            self._token = token
            self._stale_retry_at = float("-inf")
            flight.token = token
        remaining = token.remaining(sent_monotonic)
        valid = "no expiry given" if remaining is None else f"valid {remaining:.0f} s"
        if token.provisional:
            # Its deadline is only an upper bound on the local clock: a number here would mislead.
            _log.info(
                "Obtained token #%d from the token store; its lifetime is known after the first response "
                "from the server.",
                token.generation,
            )
        elif again:
            _log.info("Token #%d: %s on the server's clock.", token.generation, valid)
        else:
            _log.info("Obtained token #%d (%s).", token.generation, valid)
        return token

    def failed(self, flight: Flight, error: BaseException) -> None:
        """Record that ``flight`` failed (an interrupt or a cancellation included)."""
        flight.error = error
        if isinstance(error, Exception):
            with self._lock:
                # Set before the flight ends, so no caller slips in a second request meanwhile.
                self._stale_retry_at = self.clock.monotonic() + STALE_RETRY_DELAY

    def end(self, flight: Flight) -> None:
        """Unregister ``flight`` if it is the current one and wake its waiters (any flight: a no-op
        for one never registered). Drivers call it in a ``finally``, so no flight outlives its leader."""
        try:
            with self._lock:
                if self._flight is flight:
                    self._flight = None
        finally:
            flight.finish()

    def refresh_failed(self, token: Token, error: Exception) -> None:
        """An ahead-of-expiry refresh failed; the current token still works. Warn once per token."""
        if isinstance(error, RefreshDeferred):
            _log.debug("Refresh ahead of expiry deferred: %s.", error)
            return
        left = token.remaining(self.clock.monotonic())
        level = logging.DEBUG if self._warned_generation == token.generation else logging.WARNING
        self._warned_generation = token.generation
        _log.log(
            level,
            "Refreshing the token ahead of expiry failed (%s); using the current one%s.",
            error,
            "" if left is None else f" ({left:.0f} s left)",
        )

    def discard(self, header: str) -> None:
        """Drop the current token if it is the one that carried ``header`` (a rejected token).

        The header is also remembered (the last few), so that the next token request, made by whoever
        leads it, can tell a shared store to forget that token too and not hand it out again.
        """
        with self._lock:
            current = self._token
            if current is not None and current.header == header:
                _log.info("The API rejected token #%d; it will be replaced.", current.generation)
                self._token = None
            if header not in self.rejected:
                self.rejected.append(header)

    def invalidate(self) -> None:
        """Forget the current token; the next request gets a new one."""
        with self._lock:
            self._token = None

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
        return f"TokenState({held}, {self.token_requests} token requests)"
