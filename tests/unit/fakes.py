"""Fake fetch functions for the token-engine tests."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.token import IssuedToken

T = TypeVar("T")


class FakeFetch:
    """A fetch function that hands out ``token-1``, ``token-2``, ... and counts its calls.

    Args:
        clock: When given, each call advances it by ``round_trip`` seconds (a slow login service).
        expires_in: The lifetime of every token handed out.
        round_trip: Seconds a call takes on ``clock``.
    """

    def __init__(self, clock: ManualClock | None = None, *, expires_in: float | None = 300.0, round_trip: float = 0.0):
        self.clock = clock
        self.expires_in = expires_in
        self.round_trip = round_trip
        self.calls = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def __call__(self) -> IssuedToken:
        with self._lock:
            self.calls += 1
            number = self.calls
        if self.clock is not None and self.round_trip:
            self.clock.advance(self.round_trip)
        if self.error is not None:
            raise self.error
        return IssuedToken(f"token-{number}", expires_in=self.expires_in)


class FetchFailed(Exception):
    """The error fake fetch functions raise."""


class WaiterCount:
    """Counts threads that started waiting for another thread's token request."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.value = 0

    def arrive(self) -> None:
        with self._cond:
            self.value += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` threads are waiting (True) or ``timeout`` real seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.value >= count, timeout)


class GatedFetch:
    """A fetch that holds its token request open until ``waiters`` threads wait for it.

    It then returns ``token-N`` or raises ``error``. If the waiters never all arrive it raises
    AssertionError after a bounded wait, so a broken single flight fails the test instead of hanging.
    """

    def __init__(self, waiters: WaiterCount, expected: int, *, error: BaseException | None = None) -> None:
        self.waiters = waiters
        self.expected = expected
        self.error = error
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> IssuedToken:
        with self._lock:
            self.calls += 1
            number = self.calls
        if not self.waiters.wait_for(self.expected):
            raise AssertionError(f"only {self.waiters.value} of {self.expected} threads joined the token request")
        if self.error is not None:
            raise self.error
        return IssuedToken(f"token-{number}", expires_in=300.0)


def run_in_threads(count: int, target: Callable[[], T]) -> list[T | BaseException]:
    """Call ``target`` from ``count`` threads started together; return each result or exception."""
    results: list[T | BaseException] = [AssertionError("thread did not run")] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait(timeout=5)
        try:
            results[index] = target()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads), "a thread is still blocked"
    return results
