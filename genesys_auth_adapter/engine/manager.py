"""The thread driver of the token state: the current token, refreshed ahead, replaced once per rejection.

Reading a fresh token takes no lock (one attribute read and one clock read). Every token request
is a *flight* (see :mod:`.state`): the first thread that needs a new token leads it, every other
thread or asyncio task that needs one meanwhile waits for the same flight and shares its result. So
any number of threads that see one stale or rejected token cause exactly one token request. The
asyncio driver (:mod:`.aio`) follows the same steps on the same state.
"""

from __future__ import annotations

from typing import Callable

from .clock import SYSTEM_CLOCK, Clock
from .flight import Flight
from .skew import ClockOffset
from .state import STALE_RETRY_DELAY, TokenState, WaitTimeout
from .token import Freshness, IssuedToken, Token

__all__ = ["STALE_RETRY_DELAY", "FetchToken", "TokenManager", "WaitTimeout"]

FetchToken = Callable[[], IssuedToken]


class TokenManager:
    """Keeps a usable token for threads and replaces it when it gets old or is rejected.

    Args:
        fetch: Gets a new token; called by one thread at a time, with no lock held.
        clock: The clock for deadlines and clock-offset samples.
        offset: The clock-offset estimator to feed; a new one by default.
        wait_timeout: How long a thread waits for another thread's token request, in seconds.
        fetch_ahead: Gets a new token while the current one is still valid (an ahead-of-expiry
            refresh, made inside some caller's request); ``fetch`` by default. A source makes this
            one quick (no long retries), since a failure costs nothing but a later try.
        initial: A token to start with (one the caller already has); its lifetime counts from now.
        state: The token state to drive; by default a new one from the arguments above. Pass the
            state of another driver (the asyncio one) to share its token.
        fetch_fresh: Gets a token minted by its own token request, never one a shared store holds
            (after a re-send was rejected too); ``fetch`` by default.
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
        state: TokenState | None = None,
        fetch_fresh: FetchToken | None = None,
    ) -> None:
        if state is None:
            state = TokenState(clock=clock, offset=offset, wait_timeout=wait_timeout, initial=initial)
        self.state = state
        self._fetch = fetch
        self._fetch_ahead = fetch_ahead if fetch_ahead is not None else fetch
        self._fetch_fresh = fetch_fresh if fetch_fresh is not None else fetch

    @property
    def clock(self) -> Clock:
        """The clock this manager reads."""
        return self.state.clock

    @property
    def offset(self) -> ClockOffset:
        """The clock-offset estimate."""
        return self.state.offset

    @property
    def wait_timeout(self) -> float:
        """How long a thread waits for another thread's token request, in seconds."""
        return self.state.wait_timeout

    @property
    def current(self) -> Token | None:
        """The token held now, whatever its freshness, or None."""
        return self.state.current

    @property
    def token_requests(self) -> int:
        """How many token requests were started."""
        return self.state.token_requests

    def header(self) -> str:
        """The ``Authorization`` header value of a usable token, fetching one if needed.

        The hot path: a fresh token is returned with no lock and no decoding.
        """
        return self.state.fresh_header() or self.token().header

    def token(self) -> Token:
        """A usable token: the current one if fresh, else a new one.

        A stale (still valid) token is returned at once when another thread is already refreshing
        it, or when the refresh fails; only an expired or missing token makes the caller wait.

        Raises:
            Exception: Whatever ``fetch`` raised, when there is no usable token.
            WaitTimeout: Another thread's token request did not finish within ``wait_timeout``.
        """
        state = self.state
        token = state.current
        now = state.clock.monotonic()
        freshness = Freshness.INVALID if token is None else token.freshness(now)
        if token is not None and freshness is Freshness.FRESH:
            return token
        if token is not None and freshness is Freshness.STALE:
            if not state.refresh_due(now):
                return token
            try:
                return self._replace(token, join_running=False) or token
            except Exception as exc:  # the current token still works: say why (once per token) and go on
                state.refresh_failed(token, exc)
                return token
        new = self._replace(token, join_running=True)
        assert new is not None
        return new

    def verified(self, verify: Callable[[], object]) -> Token:
        """A usable token whose lifetime is known: what the library hands out (``token()``).

        A token taken from a store before any response showed the server's clock (``provisional``) may
        already have expired on that clock. ``verify`` then sends one request with it (through the
        request flow: its ``Date`` is a clock sample, and a 401 replaces the token), after which the
        token is taken again with its lifetime on the server's clock.

        Raises:
            Exception: Whatever ``fetch`` or ``verify`` raised.
            WaitTimeout: Another thread's token request did not finish within ``wait_timeout``.
        """
        token = self.token()
        if not token.provisional:
            return token
        if self.offset.estimate is None:
            verify()
        new = self._replace(token, join_running=True)
        assert new is not None
        return new

    def rejected(self, header: str, after: float | None = None) -> Token:
        """The API rejected a request that carried ``header``: return a token to re-send it with.

        If the current token is still the rejected one it is dropped and exactly one new token is
        requested; if another thread has already replaced it, the replacement is returned with no
        token request at all. With ``after``, only a token this process asked for at or after that
        monotonic time will do: a stored one is not taken, and one from an older flight is replaced.

        Raises:
            Exception: Whatever ``fetch`` raised.
            WaitTimeout: Another thread's token request did not finish within ``wait_timeout``.
        """
        self.state.discard(header)
        new = self._replace(None, join_running=True, after=after)
        assert new is not None
        return new

    def discard(self, header: str) -> None:
        """Drop the current token if it is the one that carried ``header`` (a rejected token)."""
        self.state.discard(header)

    def invalidate(self) -> None:
        """Forget the current token; the next request gets a new one."""
        self.state.invalidate()

    def _replace(self, seen: Token | None, *, join_running: bool, after: float | None = None) -> Token | None:
        """Get a token newer than ``seen``, leading or joining the one flight.

        Only the ahead-of-expiry path passes ``join_running=False``: it holds a valid token, so it
        does not wait for another caller's flight, and what it leads is a quick flight
        (``fetch_ahead``). A thread that joined a quick flight that failed, or a flight whose leader
        was interrupted (``KeyboardInterrupt``, a cancelled task), does not inherit that outcome: it
        leads a full flight itself (at most once). With ``after``, a joined flight's token that was
        not asked for at or after that time is not taken either: the thread leads a fresh flight
        (``fetch_fresh``), or joins a newer one; after two flights it takes what the last one got.

        Returns None only when ``join_running`` is False and another caller's flight is running.
        """
        state = self.state
        flight: Flight | None = None
        for _ in range(2):
            mine = Flight(quick=not join_running, fresh=after is not None)
            try:
                claim = state.claim(seen, mine, join_running=join_running, after=after)
                if claim.token is not None:
                    return claim.token
                if claim.lead:
                    return self._lead(mine)
            finally:
                # Whatever happened above (an exception of any kind included), a flight this thread
                # registered ends here: the next caller never waits for a flight nobody leads.
                state.end(mine)
            flight = claim.flight
            if flight is None:
                return None
            if not flight.wait(state.wait_timeout):
                raise WaitTimeout(
                    f"Waited {state.wait_timeout:.0f} s for a token request made by another thread; "
                    "the login service may be slow. Raise wait_timeout or check connectivity."
                )
            if flight.token is not None and (after is None or flight.token.minted_since(after)):
                return flight.token
            if isinstance(flight.error, Exception) and not flight.quick:
                raise flight.error
        assert flight is not None
        if flight.token is not None:
            return flight.token
        if isinstance(flight.error, Exception):
            raise flight.error
        raise WaitTimeout("The token request made by another thread was interrupted twice; try again.")

    def _lead(self, flight: Flight) -> Token:
        state = self.state
        try:
            sent_monotonic, sent_wall = state.started()
            issued = (self._fetch_ahead if flight.quick else self._fetch_fresh if flight.fresh else self._fetch)()
            return state.obtained(flight, issued, sent_monotonic, sent_wall)
        except BaseException as exc:
            state.failed(flight, exc)
            raise

    def __repr__(self) -> str:
        token = self.state.current
        held = "no token" if token is None else f"token #{token.generation}"
        return f"TokenManager({held}, {self.state.token_requests} token requests)"
