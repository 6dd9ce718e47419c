"""TokenManager: fetch once, reuse, refresh ahead, replace once per rejection, single flight."""

from __future__ import annotations

import logging
import threading

import pytest

from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.manager import STALE_RETRY_DELAY, TokenManager
from genesys_auth_adapter.engine.token import IssuedToken, Token

from .fakes import FakeFetch, FetchFailed, GatedFetch, WaiterCount, run_in_threads

THREADS = 32
TOKEN_LOGGER = "genesys_auth_adapter.token"


def test_first_header_fetches_once(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: the first request gets a token; a manager does no I/O before it is asked."""
    manager = TokenManager(fetch, clock=clock)
    assert fetch.calls == 0 and manager.current is None
    assert manager.header() == "Bearer token-1"
    assert fetch.calls == 1
    assert manager.token_requests == 1
    assert manager.current is not None and manager.current.generation == 1


def test_a_fresh_token_is_reused_without_fetching(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: one token per lifetime, not one token per request (Genesys throttles token minting)."""
    manager = TokenManager(fetch, clock=clock)
    headers = set()
    for _ in range(50):
        headers.add(manager.header())
        headers.add(manager.token().header)
        clock.advance(5.0)  # 250 s in all: still before refresh_at = 270 s
    assert headers == {"Bearer token-1"}
    assert fetch.calls == 1


def test_a_stale_token_triggers_exactly_one_refresh(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: past refresh_at the next call refreshes once and returns the new token."""
    manager = TokenManager(fetch, clock=clock)
    manager.header()
    clock.advance(280.0)  # stale: refresh_at is 270 s, expiry 300 s
    assert manager.header() == "Bearer token-2"
    assert manager.header() == "Bearer token-2"
    assert manager.token().header == "Bearer token-2"
    assert fetch.calls == 2


def test_a_failed_stale_refresh_keeps_the_old_token_and_backs_off(
    clock: ManualClock, fetch: FakeFetch, caplog: pytest.LogCaptureFixture
) -> None:
    """Pins: a login outage while the token still works costs no request, one warning, no retry storm."""
    caplog.set_level(logging.DEBUG, logger=TOKEN_LOGGER)
    manager = TokenManager(fetch, clock=clock)
    manager.header()
    clock.advance(280.0)
    fetch.error = FetchFailed("login service down")
    assert manager.header() == "Bearer token-1"
    assert fetch.calls == 2
    warnings = [r for r in caplog.records if r.name == TOKEN_LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "login service down" in warnings[0].getMessage()
    # No new attempt before STALE_RETRY_DELAY has passed.
    clock.advance(STALE_RETRY_DELAY - 0.5)
    assert manager.header() == "Bearer token-1"
    assert manager.token().header == "Bearer token-1"
    assert fetch.calls == 2
    # Then it tries again, and succeeds once the service is back.
    clock.advance(0.5)
    fetch.error = None
    assert manager.header() == "Bearer token-3"
    assert fetch.calls == 3


def test_an_expired_token_with_a_failing_fetch_raises_the_fetch_error(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: an expired token is never sent; the caller sees the real cause of the failure."""
    manager = TokenManager(fetch, clock=clock)
    manager.header()
    clock.advance(300.0)  # expired
    error = FetchFailed("invalid_client")
    fetch.error = error
    with pytest.raises(FetchFailed) as caught:
        manager.header()
    assert caught.value is error
    with pytest.raises(FetchFailed):
        manager.token()
    assert fetch.calls == 3  # every call retries: there is no usable token to fall back on


def test_rejected_current_header_fetches_exactly_once(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: a 401 for the current token replaces it with one token request."""
    manager = TokenManager(fetch, clock=clock)
    first = manager.header()
    new = manager.rejected(first)
    assert new.header == "Bearer token-2"
    assert new.generation == 2
    assert fetch.calls == 2
    assert manager.header() == "Bearer token-2"
    assert fetch.calls == 2


def test_rejected_old_header_fetches_nothing_and_returns_the_current_token(
    clock: ManualClock, fetch: FakeFetch
) -> None:
    """Pins: a late 401 for an already replaced token must not throw away the new one."""
    manager = TokenManager(fetch, clock=clock)
    old = manager.header()
    current = manager.rejected(old)
    assert manager.rejected(old) is current
    assert manager.rejected(old).header == "Bearer token-2"
    assert fetch.calls == 2


def test_discard_drops_only_the_matching_token(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: discard(header) forgets the token that carried it, and only that one."""
    manager = TokenManager(fetch, clock=clock)
    header = manager.header()
    manager.discard("Bearer someone-else")
    assert manager.current is not None
    manager.discard(header)
    assert manager.current is None
    assert fetch.calls == 1
    assert manager.header() == "Bearer token-2"
    assert fetch.calls == 2


def test_invalidate_forgets_the_token(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: invalidate() makes the next request fetch a new token."""
    manager = TokenManager(fetch, clock=clock)
    manager.header()
    manager.invalidate()
    assert manager.current is None
    assert manager.header() == "Bearer token-2"


def test_a_stale_token_is_returned_at_once_while_another_thread_refreshes(clock: ManualClock) -> None:
    """Pins: an ahead-of-time refresh never blocks the other threads; they keep using the valid token."""
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def fetch() -> IssuedToken:
        calls.append(1)
        if len(calls) == 2:
            started.set()
            assert release.wait(5)
        return IssuedToken(f"token-{len(calls)}", expires_in=300.0)

    manager = TokenManager(fetch, clock=clock)
    manager.header()
    clock.advance(280.0)
    refresher = threading.Thread(target=manager.header, daemon=True)
    refresher.start()
    try:
        assert started.wait(5)
        assert manager.header() == "Bearer token-1"
        assert manager.token().header == "Bearer token-1"
    finally:
        release.set()
        refresher.join(5)
    assert manager.header() == "Bearer token-2"
    assert len(calls) == 2


def test_single_flight_for_32_threads_rejecting_the_same_header(
    clock: ManualClock, flight_waiters: WaiterCount
) -> None:
    """Pins: 32 concurrent 401s for one token cause one token request, and all get the same new token."""
    gated = GatedFetch(flight_waiters, 0)
    manager = TokenManager(gated, clock=clock)
    header = manager.header()
    gated.expected = THREADS - 1  # hold the next token request open until 31 threads wait for it
    results = run_in_threads(THREADS, lambda: manager.rejected(header))
    assert gated.calls == 2
    tokens = [result for result in results if isinstance(result, Token)]
    assert len(tokens) == THREADS, results
    assert {token.header for token in tokens} == {"Bearer token-2"}
    assert len({id(token) for token in tokens}) == 1
    assert manager.header() == "Bearer token-2"


def test_single_flight_for_32_threads_with_an_expired_token(clock: ManualClock, flight_waiters: WaiterCount) -> None:
    """Pins: 32 threads that find the token expired cause one token request and share its token."""
    gated = GatedFetch(flight_waiters, 0)
    manager = TokenManager(gated, clock=clock)
    manager.token()
    clock.advance(301.0)
    gated.expected = THREADS - 1
    results = run_in_threads(THREADS, manager.token)
    assert gated.calls == 2
    tokens = [result for result in results if isinstance(result, Token)]
    assert len(tokens) == THREADS, results
    assert {token.header for token in tokens} == {"Bearer token-2"}
    assert len({id(token) for token in tokens}) == 1


def test_a_failed_shared_fetch_reaches_every_waiter(clock: ManualClock, flight_waiters: WaiterCount) -> None:
    """Pins: when the one token request fails, all 32 callers get its error and nobody retries it."""
    error = FetchFailed("login service down")
    gated = GatedFetch(flight_waiters, THREADS - 1, error=error)
    manager = TokenManager(gated, clock=clock)
    results = run_in_threads(THREADS, manager.token)
    assert gated.calls == 1
    assert all(result is error for result in results), results


def test_waiting_longer_than_wait_timeout_raises_timeout_error(clock: ManualClock) -> None:
    """Pins: a hung login request does not hang every other thread forever."""
    started, release = threading.Event(), threading.Event()

    def fetch() -> IssuedToken:
        started.set()
        assert release.wait(5)
        return IssuedToken("token-1", expires_in=300.0)

    manager = TokenManager(fetch, clock=clock, wait_timeout=0.05)
    leader = threading.Thread(target=manager.token, daemon=True)
    leader.start()
    try:
        assert started.wait(5)
        with pytest.raises(TimeoutError, match="wait_timeout"):
            manager.token()
        with pytest.raises(TimeoutError):
            manager.rejected("Bearer old")
    finally:
        release.set()
        leader.join(5)
    assert manager.header() == "Bearer token-1"


@pytest.mark.parametrize("wait_timeout", [0.0, -1.0])
def test_wait_timeout_must_be_positive(wait_timeout: float) -> None:
    """Pins: a zero or negative wait would make every waiter time out at once."""
    with pytest.raises(ValueError, match="wait_timeout"):
        TokenManager(FakeFetch(), wait_timeout=wait_timeout)


def test_repr_shows_no_token(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: the manager's repr names the token generation, never its value."""
    manager = TokenManager(fetch, clock=clock)
    manager.header()
    assert "token-1" not in repr(manager)
    assert "#1" in repr(manager)


def test_an_initial_token_is_used_without_a_fetch(clock: ManualClock, fetch: FakeFetch) -> None:
    """Pins: a token the caller already has costing a token request (or being handed out only once)."""
    manager = TokenManager(fetch, clock=clock, initial=IssuedToken("given", expires_in=100.0))
    assert manager.header() == "Bearer given"
    assert fetch.calls == 0 and manager.token_requests == 0
    current = manager.current
    assert current is not None and current.generation == 1
    assert current.expires_at == clock.monotonic() + 100.0  # counted from the manager's creation
    manager.rejected("Bearer given")
    assert manager.header() == "Bearer token-1"
    assert manager.current is not None and manager.current.generation == 2


def test_the_ahead_of_expiry_refresh_uses_fetch_ahead_and_the_rest_use_fetch(clock: ManualClock) -> None:
    """Pins: the quick source used for a rejected or expired token (or the full one ahead of expiry)."""
    full, quick = FakeFetch(expires_in=300.0), FakeFetch(expires_in=300.0)
    manager = TokenManager(full, clock=clock, fetch_ahead=quick)
    manager.header()  # no token yet: full
    clock.advance(280.0)  # stale
    manager.header()  # ahead of expiry: quick
    current = manager.current
    assert current is not None
    manager.rejected(current.header)  # rejected: full
    clock.advance(400.0)  # expired
    manager.header()  # expired: full
    assert (full.calls, quick.calls) == (3, 1)


def test_a_waiter_does_not_inherit_a_failed_quick_refresh(clock: ManualClock, flight_waiters: WaiterCount) -> None:
    """Pins: a 401 waiter getting the one-attempt refresh's error instead of a token."""
    release, started = threading.Event(), threading.Event()
    quick_calls: list[int] = []

    def quick() -> IssuedToken:
        quick_calls.append(1)
        started.set()
        assert release.wait(5)
        raise FetchFailed("the quick attempt failed")

    full = FakeFetch(expires_in=300.0)
    manager = TokenManager(full, clock=clock, fetch_ahead=quick, initial=IssuedToken("old", expires_in=300.0))
    clock.advance(280.0)  # stale: the next header() leads a quick flight
    refresher = threading.Thread(target=manager.header, daemon=True)
    refresher.start()
    assert started.wait(5)  # the quick flight is under way
    results: list[str] = []
    rejected = threading.Thread(target=lambda: results.append(manager.rejected("Bearer old").header), daemon=True)
    rejected.start()
    assert flight_waiters.wait_for(1)  # the 401 thread is waiting on the quick flight
    release.set()
    refresher.join(5)
    rejected.join(5)
    assert results == ["Bearer token-1"]
    assert (len(quick_calls), full.calls) == (1, 1)


class InterruptingClock(ManualClock):
    """A manual clock whose next wall reading raises KeyboardInterrupt (Ctrl-C at the worst moment)."""

    interrupt_next = False

    def wall(self) -> float:
        if self.interrupt_next:
            self.interrupt_next = False
            raise KeyboardInterrupt
        return super().wall()


def test_an_interrupt_as_a_token_request_starts_does_not_wedge_the_flight() -> None:
    """Pins: KeyboardInterrupt between registering a flight and the fetch left the flight registered
    forever: every later caller waited for it and failed with WaitTimeout."""
    clock = InterruptingClock()
    fetch = FakeFetch(clock)
    manager = TokenManager(fetch, clock=clock, wait_timeout=0.2)
    clock.interrupt_next = True
    with pytest.raises(KeyboardInterrupt):
        manager.header()
    assert manager.header() == "Bearer token-1"
    assert fetch.calls == 1


def test_an_interrupt_during_the_fetch_releases_the_flight(clock: ManualClock, fetch: FakeFetch) -> None:
    manager = TokenManager(fetch, clock=clock, wait_timeout=0.2)
    fetch.error = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        manager.header()
    fetch.error = None
    assert manager.header() == "Bearer token-2"


def test_a_waiter_does_not_inherit_the_leaders_interrupt(clock: ManualClock, flight_waiters: WaiterCount) -> None:
    """Pins: a KeyboardInterrupt in the leading thread used to be re-raised in every waiting thread."""
    started = threading.Event()
    calls: list[int] = []

    def fetch() -> IssuedToken:
        calls.append(1)
        if len(calls) == 1:  # the leader: interrupted once this thread's waiter is provably waiting
            started.set()
            assert flight_waiters.wait_for(1)
            raise KeyboardInterrupt
        return IssuedToken(f"token-{len(calls)}", expires_in=300.0)

    manager = TokenManager(fetch, clock=clock)
    leader_saw: list[BaseException] = []

    def lead() -> None:
        try:
            manager.header()
        except BaseException as exc:
            leader_saw.append(exc)

    leader = threading.Thread(target=lead, daemon=True)
    leader.start()
    assert started.wait(5)
    # A second thread joins the leader's flight, sees it interrupted, and leads a flight of its own
    # (not the main thread: an inherited KeyboardInterrupt there would stop the test run).
    assert run_in_threads(1, manager.header) == ["Bearer token-2"]
    leader.join(5)
    assert [type(e) for e in leader_saw] == [KeyboardInterrupt]
    assert len(calls) == 2


def test_a_failed_refresh_ahead_of_expiry_warns_once_per_token(
    clock: ManualClock, fetch: FakeFetch, caplog: pytest.LogCaptureFixture
) -> None:
    """Pins: a token with a lifetime and no way to refresh it (AccessToken without refresh=) logged a
    warning every few seconds from the refresh margin to expiry."""
    caplog.set_level(logging.DEBUG, logger=TOKEN_LOGGER)
    manager = TokenManager(fetch, clock=clock)
    manager.header()
    fetch.error = FetchFailed("no refresh callback")
    clock.advance(271.0)  # stale: refresh_at 270 s, expiry 300 s
    for _ in range(5):
        assert manager.header() == "Bearer token-1"
        clock.advance(STALE_RETRY_DELAY)
    assert fetch.calls == 6  # it still tries, every STALE_RETRY_DELAY
    warnings = [r for r in caplog.records if r.name == TOKEN_LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "s left" in warnings[0].getMessage()
    # A new token that also cannot be refreshed gets its own single warning.
    clock.advance(10.0)
    fetch.error = None
    assert manager.header() == "Bearer token-7"
    fetch.error = FetchFailed("no refresh callback")
    clock.advance(271.0)
    manager.header()
    clock.advance(STALE_RETRY_DELAY)
    manager.header()
    warnings = [r for r in caplog.records if r.name == TOKEN_LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 2


def test_verified_checks_a_provisional_token_once_then_takes_it_again(clock: ManualClock) -> None:
    """Pins: a token taken from a store before the server's clock was known was handed out with its guessed
    lifetime; verified() sends one request with it (a clock sample), then takes it again, for real."""
    answers = [IssuedToken("stored", expires_in=360.0, provisional=True), IssuedToken("stored", expires_in=86000.0)]
    manager = TokenManager(lambda: answers.pop(0), clock=clock)
    checks: list[str | None] = []

    def verify() -> None:
        current = manager.current
        checks.append(None if current is None else current.header)
        manager.offset.observe(clock.wall(), 0.0, clock.wall(), clock.wall())  # the response's Date

    token = manager.verified(verify)
    assert checks == ["Bearer stored"]  # sent once, with the provisional token
    assert token.access_token == "stored" and not token.provisional
    assert token.remaining(clock.monotonic()) == pytest.approx(86000.0)
    assert token.generation == 1  # the same token, not a new one
    assert manager.verified(verify) is token and checks == ["Bearer stored"]  # no second check


def test_verified_does_not_check_a_token_this_process_requested(clock: ManualClock, fetch: FakeFetch) -> None:
    manager = TokenManager(fetch, clock=clock)

    def verify() -> None:
        raise AssertionError("a token from a login needs no check")

    assert manager.verified(verify).header == "Bearer token-1"
    assert fetch.calls == 1


def test_verified_takes_a_provisional_token_again_without_a_check_once_the_clock_is_known(clock: ManualClock) -> None:
    answers = [IssuedToken("stored", expires_in=360.0, provisional=True), IssuedToken("stored", expires_in=86000.0)]
    manager = TokenManager(lambda: answers.pop(0), clock=clock)
    manager.token()
    manager.offset.observe(clock.wall(), 0.0, clock.wall(), clock.wall())  # an API response meanwhile

    def verify() -> None:
        raise AssertionError("the server's clock is known already")

    token = manager.verified(verify)
    assert not token.provisional and answers == []


class FreshFetch(FakeFetch):
    """The fetch of a token request that must not take a stored token: hands out ``fresh-1``, ``fresh-2``..."""

    def __call__(self) -> IssuedToken:
        issued = super().__call__()
        return IssuedToken(issued.access_token.replace("token", "fresh"), expires_in=issued.expires_in)


def test_a_token_from_a_store_is_not_known_to_be_minted_after_anything(clock: ManualClock) -> None:
    stored = TokenManager(lambda: IssuedToken("shared", expires_in=300.0, stored=True), clock=clock)
    own = TokenManager(FakeFetch(clock), clock=clock)
    stored.header()
    own.header()
    assert stored.current is not None and stored.current.minted_at is None
    assert own.current is not None and own.current.minted_at == clock.monotonic()


def test_a_replacement_asked_for_after_a_time_is_never_a_token_asked_for_before_it(
    clock: ManualClock, fetch: FakeFetch
) -> None:
    """Pins issue 13 (7): the replacement of a re-send's token that was rejected too must be minted after
    the request's first 401, not be the current token another thread got from an earlier flight."""
    fresh = FreshFetch(clock)
    manager = TokenManager(fetch, clock=clock, fetch_fresh=fresh)
    resent_with = manager.rejected(manager.header())  # the token a request was re-sent with
    manager.rejected(resent_with.header)  # another thread's replacement of it, from a flight before the 401
    clock.advance(1.0)
    after = clock.monotonic()
    new = manager.rejected(resent_with.header, after=after)
    assert new.header == "Bearer fresh-1"
    assert new.minted_since(after)
    assert (fetch.calls, fresh.calls) == (3, 1)
    # A later caller with the same requirement takes it: one token request for all of them.
    assert manager.rejected(resent_with.header, after=after) is new
    assert fresh.calls == 1


def test_a_flight_that_began_before_the_time_is_waited_for_but_its_token_not_taken(
    clock: ManualClock, flight_waiters: WaiterCount
) -> None:
    gated = GatedFetch(flight_waiters, expected=1)
    began = threading.Event()

    def leading() -> IssuedToken:
        began.set()
        return gated()  # held until the other thread waits for this flight

    fresh = FreshFetch(clock)
    manager = TokenManager(leading, clock=clock, fetch_fresh=fresh)
    leader = threading.Thread(target=manager.header, daemon=True)
    leader.start()
    assert began.wait(5)
    clock.advance(1.0)
    after = clock.monotonic()
    got = manager.rejected("Bearer token-0", after=after)
    leader.join(5)
    assert got.header == "Bearer fresh-1"
    assert (gated.calls, fresh.calls) == (1, 1)
