"""The asyncio driver of the token state: the same steps as the thread driver, awaited.

It shares the :class:`~.state.TokenState` (and so the token and the one flight) with the thread
driver of the same auth object: threads and tasks that need a token at once cause one token request
between them. No asyncio lock exists: the state's steps are short and never span an ``await``, and a
waiting task waits on a future of its own event loop (made afresh for each wait), so an auth object
can be used from any number of event loops, and a cancelled task leaves nothing held.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Callable

from .flight import Flight
from .state import TokenState, WaitTimeout
from .token import Freshness, IssuedToken, Token

AsyncFetchToken = Callable[[], Awaitable[IssuedToken]]


class AsyncTokens:
    """Keeps a usable token for asyncio tasks.

    Args:
        state: The token state, shared with the auth object's thread driver.
        fetch: Gets a new token (an ``httpx.AsyncClient`` request, never a blocking call).
        fetch_ahead: Gets a new token ahead of expiry (one quick attempt); ``fetch`` by default.
        fetch_fresh: Gets a token minted by its own token request, never a stored one; ``fetch`` by default.
    """

    def __init__(
        self,
        state: TokenState,
        fetch: AsyncFetchToken,
        fetch_ahead: AsyncFetchToken | None = None,
        fetch_fresh: AsyncFetchToken | None = None,
    ) -> None:
        self.state = state
        self._fetch = fetch
        self._fetch_ahead = fetch_ahead if fetch_ahead is not None else fetch
        self._fetch_fresh = fetch_fresh if fetch_fresh is not None else fetch

    async def header(self) -> str:
        """The ``Authorization`` value of a usable token; a fresh token costs no await at all."""
        return self.state.fresh_header() or (await self.token()).header

    async def token(self) -> Token:
        """A usable token: the current one if fresh, else a new one (see ``TokenManager.token``)."""
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
                return await self._replace(token, join_running=False) or token
            except Exception as exc:  # the current token still works
                state.refresh_failed(token, exc)
                return token
        new = await self._replace(token, join_running=True)
        assert new is not None
        return new

    async def verified(self, verify: Callable[[], Awaitable[object]]) -> Token:
        """A usable token whose lifetime is known (see ``TokenManager.verified``)."""
        token = await self.token()
        if not token.provisional:
            return token
        if self.state.offset.estimate is None:
            await verify()
        new = await self._replace(token, join_running=True)
        assert new is not None
        return new

    async def rejected(self, header: str, after: float | None = None) -> Token:
        """The API rejected ``header``: a token to re-send with (one token request for all callers); with
        ``after``, one asked for at or after that monotonic time (see ``TokenManager.rejected``)."""
        self.state.discard(header)
        new = await self._replace(None, join_running=True, after=after)
        assert new is not None
        return new

    async def _replace(self, seen: Token | None, *, join_running: bool, after: float | None = None) -> Token | None:
        state = self.state
        flight: Flight | None = None
        for _ in range(2):
            mine = Flight(quick=not join_running, fresh=after is not None)
            try:
                claim = state.claim(seen, mine, join_running=join_running, after=after)
                if claim.token is not None:
                    return claim.token
                if claim.lead:
                    return await self._lead(mine)
            finally:
                state.end(mine)  # a cancelled leader ends its flight too: its waiters lead their own
            flight = claim.flight
            if flight is None:
                return None
            if not await flight.wait_async(state.wait_timeout):
                raise WaitTimeout(
                    f"Waited {state.wait_timeout:.0f} s for a token request made by another task or thread; "
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
        raise WaitTimeout("The token request made by another task was interrupted twice; try again.")

    async def _lead(self, flight: Flight) -> Token:
        state = self.state
        try:
            sent_monotonic, sent_wall = state.started()
            fetch = self._fetch_ahead if flight.quick else self._fetch_fresh if flight.fresh else self._fetch
            issued = await fetch()
            return state.obtained(flight, issued, sent_monotonic, sent_wall)
        except BaseException as exc:
            state.failed(flight, exc)
            raise
