"""Pacing against the emulator's rate limits: learned from the first 429, configured, refused, per endpoint."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest

from genesys_auth_adapter import (
    ClientCredentials,
    GenesysAuth,
    PacingPolicy,
    RateBudgetError,
    RetryPolicy,
    session,
)
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.httpx import async_client

from .conftest import TIMEOUT, credentials_for

USERS = "/api/v2/users"
QUERY = "/api/v2/analytics/conversations/details/query"
BODY = {"interval": "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z"}
ONCE = RetryPolicy(max_attempts=1)


def hammer(send: Callable[[], int], threads: int, seconds: float) -> list[tuple[float, int]]:
    """``threads`` threads, released together at a barrier, sending back to back for ``seconds``."""
    start = threading.Barrier(threads, timeout=10)
    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def loop(_: int) -> None:
        start.wait()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sent = time.monotonic()
            status = send()
            with lock:
                results.append((sent, status))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return sorted(results)


@pytest.mark.timeout(60)
def test_after_the_first_429_teaches_the_budget_no_request_is_refused_again(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    # No limit object in the 429s: the budget is learned from the count answered in the window.
    emu = genesys_emulator_factory(rate_limit=8, rate_window=2.0, rate_limit_details=False)
    policy = PacingPolicy(window=2.0, jitter=0.2, count_margin=0.2, probe=False, min_count=1)
    with session(credentials_for(emu), retry=ONCE, pacing=policy, timeout=TIMEOUT) as s:
        results = hammer(lambda: s.get(USERS).status_code, threads=4, seconds=7.0)
        learned = s.genesys_auth.pacing.pacer.budget() if s.genesys_auth.pacing else None
    throttled = [sent for sent, status in results if status == 429]
    assert throttled, "the emulator's limit was never met: the test proves nothing"
    after = [sent for sent in throttled if sent > throttled[0] + 2.0 + 0.5]
    assert after == []  # only the window of the first 429 saw any
    assert learned is not None and 1 <= learned.requests <= 8
    assert sum(1 for _, status in results if status == 200) >= 8  # and requests kept flowing


@pytest.mark.timeout(60)
def test_with_a_configured_rate_limit_no_request_is_ever_refused(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    emu = genesys_emulator_factory(rate_limit=10, rate_window=1.0)
    policy = PacingPolicy(budget=10, window=1.0, jitter=0.2)
    with session(credentials_for(emu), retry=ONCE, pacing=policy, timeout=TIMEOUT) as s:
        results = hammer(lambda: s.get(USERS).status_code, threads=4, seconds=3.0)
    assert [status for _, status in results if status != 200] == []
    assert len(results) >= 15  # paced, not stopped
    assert emu.counters()["api_429_by_limit"] == {}


def test_rate_limit_paces_from_the_first_request_at_requests_per_minute(creds: ClientCredentials) -> None:
    auth = GenesysAuth(creds, rate_limit=600)
    try:
        assert auth.pacing is not None
        budget = auth.pacing.pacer.budget()
        assert budget is not None and (budget.requests, budget.window) == (600, 60.0)
        assert auth.pacing.pacer.engaged
    finally:
        auth.close()


def test_a_request_whose_time_budget_cannot_cover_the_wait_fails_at_once_naming_the_budget(
    creds: ClientCredentials,
) -> None:
    policy = PacingPolicy(budget=1, window=60.0)
    with session(creds, retry=RetryPolicy(max_time=2.0), pacing=policy, timeout=TIMEOUT) as s:
        assert s.get(USERS).status_code == 200
        began = time.monotonic()
        with pytest.raises(RateBudgetError) as caught:
            s.get(USERS)
        assert time.monotonic() - began < 1.5  # at once, not after sleeping
        header = s.genesys_auth.header()
    error = caught.value
    assert "1 requests per 60 s (configured)" in str(error)
    assert "max_time" in str(error) and "GET /api/v2/users" in str(error)
    assert error.wait > 50 and error.time_left <= 2.0
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.budget, copy.wait, copy.time_left) == (error.budget, error.wait, error.time_left)
    token = header.split()[-1]
    assert token not in str(error) + repr(error) + str(pickle.dumps(error))


def test_the_auth_hook_paces_its_first_send_too(creds: ClientCredentials) -> None:
    import requests

    auth = GenesysAuth(creds, retry=RetryPolicy(max_time=2.0), pacing=PacingPolicy(budget=1, window=60.0))
    try:
        assert requests.get(creds.api_url + USERS, auth=auth, timeout=TIMEOUT).status_code == 200
        with pytest.raises(RateBudgetError, match="configured"):
            requests.get(creds.api_url + USERS, auth=auth, timeout=TIMEOUT)
    finally:
        auth.close()


def test_an_endpoint_limit_paces_only_its_family(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory(endpoint_limits={QUERY: 2})
    with session(credentials_for(emu), retry=RetryPolicy(max_time=3.0, max_attempts=1), timeout=TIMEOUT) as s:
        assert [s.post(QUERY, json=BODY).status_code for _ in range(3)] == [200, 200, 429]
        with pytest.raises(RateBudgetError, match=r"analytics\.conversations\.details\.query"):
            s.post(QUERY, json=BODY)  # its family waits for the window the 429 ends
        began = time.monotonic()
        assert [s.get(USERS).status_code for _ in range(5)] == [200] * 5  # the token's other requests do not
        assert time.monotonic() - began < 2.0
    assert s.genesys_auth.pacing is not None and s.genesys_auth.pacing.pacer.budget() is None


@pytest.mark.timeout(60)
def test_httpx_async_tasks_pace_with_asyncio_sleep_and_the_loop_keeps_serving(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    emu = genesys_emulator_factory(rate_limit=5, rate_window=1.0)
    policy = PacingPolicy(budget=5, window=1.0, jitter=0.2)

    async def main() -> tuple[list[int], int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.02)

        async with async_client(credentials_for(emu), retry=ONCE, pacing=policy) as http:
            await http.get(USERS)  # the token, before the clock starts
            tick = asyncio.ensure_future(ticker())
            statuses = [r.status_code for r in await asyncio.gather(*(http.get(USERS) for _ in range(10)))]
            done.set()
            await tick
        return statuses, ticks

    began = time.monotonic()
    statuses, ticks = asyncio.run(main())
    elapsed = time.monotonic() - began
    assert statuses == [200] * 10
    assert elapsed > 1.2  # 11 requests at 5 per 1.2 s were spread out
    assert ticks > elapsed / 0.02 / 4  # the loop ran the ticker while the requests waited


def test_a_pickled_auth_paces_by_the_same_options(creds: ClientCredentials) -> None:
    auth = GenesysAuth(creds, rate_limit=120)
    try:
        copy = pickle.loads(pickle.dumps(auth))
        try:
            assert copy.pacing is not None and copy.pacing is not auth.pacing  # its own pacer, same budget
            assert copy.pacing.pacer.budget() == auth.pacing.pacer.budget() if auth.pacing else False
        finally:
            copy.close()
    finally:
        auth.close()


def test_pacing_false_never_paces(creds: ClientCredentials) -> None:
    auth = GenesysAuth(creds, pacing=False)
    try:
        assert auth.pacing is None
    finally:
        auth.close()


@pytest.mark.parametrize("value", [0, -5, 2.5, "300", True])
def test_a_bad_rate_limit_is_a_clear_configuration_error(creds: ClientCredentials, value: object) -> None:
    from genesys_auth_adapter import ConfigurationError

    with pytest.raises(ConfigurationError, match="rate_limit is the requests per minute"):
        GenesysAuth(creds, rate_limit=value)  # type: ignore[arg-type]


def test_genesys_rate_limit_in_the_environment_configures_session(
    creds: ClientCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENESYS_RATE_LIMIT", "450")
    with session(creds) as s:
        assert s.genesys_auth.pacing is not None
        budget = s.genesys_auth.pacing.pacer.budget()
        assert budget is not None and budget.requests == 450
    monkeypatch.setenv("GENESYS_RATE_LIMIT", "lots")
    from genesys_auth_adapter import ConfigurationError

    with pytest.raises(ConfigurationError, match="GENESYS_RATE_LIMIT must be a whole number"):
        session(creds)


@pytest.mark.timeout(60)
def test_a_one_off_429_after_a_few_requests_teaches_no_budget(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    """Pins: two injected 429s (Retry-After 1 s, no limit object) after a single answered request taught a
    budget of about one request a minute, which then refused or slowed every later request."""
    emu = genesys_emulator_factory()
    with session(credentials_for(emu), timeout=TIMEOUT) as s:
        assert s.get(USERS).status_code == 200
        emu.fail_api_requests(2, status=429, retry_after=1)
        assert s.get(USERS).status_code == 200  # the two 429s waited out
        statuses = [s.get(USERS).status_code for _ in range(20)]
        learned = s.genesys_auth.pacing.pacer.budget() if s.genesys_auth.pacing else None
    assert statuses == [200] * 20
    assert learned is None  # nothing slows the requests after it
