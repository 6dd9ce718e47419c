"""Fixtures for the pure token-engine tests: a manual clock and a fake fetch function."""

from __future__ import annotations

import pytest

from genesys_auth_adapter.engine import manager as manager_module
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.flight import Flight

from .fakes import FakeFetch, WaiterCount


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fetch(clock: ManualClock) -> FakeFetch:
    return FakeFetch(clock)


@pytest.fixture
def flight_waiters(monkeypatch: pytest.MonkeyPatch) -> WaiterCount:
    """Count threads that wait for another thread's token request.

    The manager makes each thread that joins a running token request wait on that request's
    flight; this swaps in a flight that counts its waiters, so a fetch can hold its request open
    until every thread is provably waiting, with no sleeps.
    """
    count = WaiterCount()

    class CountedFlight(Flight):
        def wait(self, timeout: float) -> bool:
            count.arrive()
            return super().wait(timeout)

    monkeypatch.setattr(manager_module, "Flight", CountedFlight)
    return count
