"""The asyncio token driver: single flight for tasks, cancellation, and one state shared with threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Callable, TypeVar

import pytest

from genesys_auth_adapter.engine import aio as aio_module
from genesys_auth_adapter.engine.aio import AsyncTokens
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.manager import TokenManager
from genesys_auth_adapter.engine.state import TokenState, WaitTimeout
from genesys_auth_adapter.engine.token import IssuedToken

T = TypeVar("T")
TASKS = 200


def run(coroutine: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Run a test coroutine on a fresh event loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coroutine(), timeout)

    return asyncio.run(bounded())


class GatedFetch:
    """An async fetch that holds each token request until ``release`` is set; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.error: BaseException | None = None

    async def __call__(self) -> IssuedToken:
        self.calls += 1
        number = self.calls
        self.started.set()
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return IssuedToken(f"token-{number}", expires_in=300.0)


def waiting_tasks(state: TokenState) -> int:
    """How many tasks wait on the flight in progress (the callbacks they registered)."""
    flight = state._flight
    return 0 if flight is None else len(flight._callbacks)


async def until(condition: Callable[[], bool], limit: int = 10_000) -> None:
    """Yield to the event loop until ``condition`` holds (bounded: no sleeps, no hang)."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def test_200_tasks_with_no_token_cause_one_token_request() -> None:
    async def scenario() -> None:
        state = TokenState(clock=ManualClock())
        fetch = GatedFetch()
        tokens = AsyncTokens(state, fetch)
        tasks = [asyncio.ensure_future(tokens.header()) for _ in range(TASKS)]
        # Every task is provably waiting for the one token request before it is answered.
        await until(lambda: waiting_tasks(state) == TASKS - 1)
        fetch.release.set()
        headers = await asyncio.gather(*tasks)
        assert set(headers) == {"Bearer token-1"}
        assert fetch.calls == 1

    run(scenario)


def test_200_tasks_rejecting_one_token_cause_one_token_request() -> None:
    async def scenario() -> None:
        state = TokenState(clock=ManualClock())
        fetch = GatedFetch()
        fetch.release.set()
        tokens = AsyncTokens(state, fetch)
        old = await tokens.header()
        fetch.release.clear()
        tasks = [asyncio.ensure_future(tokens.rejected(old)) for _ in range(TASKS)]
        await until(lambda: waiting_tasks(state) == TASKS - 1)
        fetch.release.set()
        new = await asyncio.gather(*tasks)
        assert {token.header for token in new} == {"Bearer token-2"}
        assert fetch.calls == 2

    run(scenario)


def test_a_cancelled_leader_leaves_nothing_held_and_its_waiters_lead_their_own() -> None:
    """Pins: a task cancelled in the middle of its token request must not leave the flight (or a lock) held."""

    async def scenario() -> None:
        state = TokenState(clock=ManualClock(), wait_timeout=5.0)
        fetch = GatedFetch()
        tokens = AsyncTokens(state, fetch)
        leader = asyncio.ensure_future(tokens.header())
        await fetch.started.wait()
        waiter = asyncio.ensure_future(tokens.header())
        await until(lambda: waiting_tasks(state) == 1)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        # The waiter did not inherit the cancellation: it leads a request of its own.
        await until(lambda: fetch.calls == 2)
        fetch.release.set()
        assert await waiter == "Bearer token-2"
        assert state._flight is None

    run(scenario)


def test_a_cancelled_waiter_leaves_no_callback_behind() -> None:
    async def scenario() -> None:
        state = TokenState(clock=ManualClock())
        fetch = GatedFetch()
        tokens = AsyncTokens(state, fetch)
        leader = asyncio.ensure_future(tokens.header())
        await fetch.started.wait()
        waiter = asyncio.ensure_future(tokens.header())
        await until(lambda: waiting_tasks(state) == 1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert waiting_tasks(state) == 0
        fetch.release.set()
        assert await leader == "Bearer token-1"

    run(scenario)


def test_waiting_is_bounded_and_never_blocks_the_event_loop() -> None:
    async def scenario() -> None:
        state = TokenState(clock=ManualClock(), wait_timeout=0.2)
        fetch = GatedFetch()
        tokens = AsyncTokens(state, fetch)
        leader = asyncio.ensure_future(tokens.header())
        await fetch.started.wait()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.ensure_future(ticker())
        with pytest.raises(WaitTimeout):
            await tokens.header()
        ticking.cancel()
        assert ticks >= 5  # the loop kept running other tasks while this one waited
        fetch.release.set()
        assert await leader == "Bearer token-1"

    run(scenario)


def test_threads_and_tasks_sharing_one_state_make_one_token_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread leads; tasks on an event loop in another thread wait for the same flight, and the
    other way round."""
    state = TokenState(clock=ManualClock(), wait_timeout=10.0)
    calls: list[str] = []
    thread_fetch_started = threading.Event()
    release = threading.Event()

    def thread_fetch() -> IssuedToken:
        calls.append("thread")
        thread_fetch_started.set()
        assert release.wait(10)
        return IssuedToken(f"token-{len(calls)}", expires_in=300.0)

    async def task_fetch() -> IssuedToken:
        calls.append("task")
        return IssuedToken(f"token-{len(calls)}", expires_in=300.0)

    manager = TokenManager(thread_fetch, state=state)
    tokens = AsyncTokens(state, task_fetch)
    leader = threading.Thread(target=manager.header, daemon=True)
    leader.start()
    assert thread_fetch_started.wait(5)

    async def tasks() -> list[str]:
        pending = [asyncio.ensure_future(tokens.header()) for _ in range(50)]
        await until(lambda: waiting_tasks(state) == 50)
        release.set()
        return list(await asyncio.gather(*pending))

    assert set(run(tasks)) == {"Bearer token-1"}
    leader.join(5)
    assert calls == ["thread"]

    # Now a task leads and threads wait for it (provably: its flight counts the threads waiting).
    started, proceed = threading.Event(), threading.Event()
    thread_waiters = threading.Semaphore(0)

    class CountedFlight(aio_module.Flight):
        def wait(self, timeout: float) -> bool:
            thread_waiters.release()
            return super().wait(timeout)

    monkeypatch.setattr(aio_module, "Flight", CountedFlight)

    async def slow_task_fetch() -> IssuedToken:
        calls.append("task")
        started.set()
        await asyncio.get_running_loop().run_in_executor(None, proceed.wait, 10)
        return IssuedToken(f"token-{len(calls)}", expires_in=300.0)

    tokens = AsyncTokens(state, slow_task_fetch)
    header = manager.header()
    state.discard(header)
    results: list[str] = []
    loop_thread = threading.Thread(target=lambda: results.append(run(tokens.header)), daemon=True)
    loop_thread.start()
    assert started.wait(5)
    threads = [threading.Thread(target=lambda: results.append(manager.header()), daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert thread_waiters.acquire(timeout=5)
    proceed.set()
    for thread in [*threads, loop_thread]:
        thread.join(10)
    assert results == ["Bearer token-2"] * 9
    assert calls == ["thread", "task"]


def test_a_replacement_asked_for_after_a_time_is_not_a_stored_token() -> None:
    """Pins issue 13 (7) for tasks: after a re-send with a stored token was rejected too, the next token
    comes from a token request of this process (fetch_fresh), not from the store again."""
    clock = ManualClock()
    calls = {"fetch": 0, "fresh": 0}

    async def fetch() -> IssuedToken:
        calls["fetch"] += 1
        return IssuedToken("shared", expires_in=300.0, stored=True)

    async def fetch_fresh() -> IssuedToken:
        calls["fresh"] += 1
        return IssuedToken("fresh", expires_in=300.0)

    tokens = AsyncTokens(TokenState(clock=clock), fetch, fetch_fresh=fetch_fresh)

    async def scenario() -> list[str]:
        shared = await tokens.header()
        replaced = await tokens.rejected("Bearer older", after=clock.monotonic())  # "shared" is current
        return [shared, replaced.header, (await tokens.rejected("Bearer older", after=clock.monotonic())).header]

    assert run(scenario) == ["Bearer shared", "Bearer fresh", "Bearer fresh"]
    assert calls == {"fetch": 1, "fresh": 1}
