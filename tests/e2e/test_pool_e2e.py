"""The token pool against the emulator's per-token limit: opened under demand, N tokens at most, replaced alone."""

from __future__ import annotations

import asyncio
import pickle
from typing import Callable

import pytest
import requests

from genesys_auth_adapter import (
    AccessToken,
    ClientCredentials,
    ConfigurationError,
    GenesysAuth,
    PacingPolicy,
    RetryPolicy,
    session,
)
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.httpx import GenesysHttpxAuth, async_client

from .conftest import TIMEOUT, credentials_for
from .test_pacing_e2e import USERS, hammer

ONCE = RetryPolicy(max_attempts=1)
LIMIT = 10  # requests per second per token, at the emulator and in the configured budget
#: One-second windows; a pool opens a token once a slot on every open one is 0.2 s away or more.
POLICY = PacingPolicy(budget=LIMIT, window=1.0, jitter=0.2, pool_after=0.2)


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory(rate_limit=LIMIT, rate_window=1.0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pool", [1, 3])
def test_six_threads_open_the_pools_tokens_and_each_is_paced_to_its_budget(emu: Emulator, pool: int) -> None:
    with session(credentials_for(emu), retry=ONCE, pacing=POLICY, token_pool=pool, timeout=TIMEOUT) as s:
        results = hammer(lambda: s.get(USERS).status_code, threads=6, seconds=3.0)
    counters = emu.counters()
    assert counters["token_requests"] == pool
    # Every token paced inside its own limit (a loaded machine may delay a paced send past the jitter allowance).
    assert [status for _, status in results if status not in (200, 429)] == []
    assert sum(1 for _, status in results if status == 429) <= 0.03 * len(results)
    per_token = 3.0 * LIMIT / 1.2 + 1  # 3 s at 10 per 1.2 s (the jitter allowance)
    # (at most one more per thread: a call begun before the end may wait for its slot past it)
    assert 0.7 * pool * per_token <= len(results) <= pool * per_token + 6


@pytest.mark.timeout(60)
def test_one_thread_that_one_token_serves_opens_no_other(emu: Emulator) -> None:
    with session(credentials_for(emu), retry=ONCE, pacing=POLICY, token_pool=4, timeout=TIMEOUT) as s:
        results = hammer(lambda: s.get(USERS).status_code, threads=1, seconds=2.0)
        pool = s.genesys_auth.pacing.pool if s.genesys_auth.pacing else None
    assert [status for _, status in results if status != 200] == []
    assert len(results) >= 12  # paced at 10 per 1.2 s: never more than one slot (0.12 s) ahead
    assert emu.counters()["token_requests"] == 1
    assert pool is not None and pool.opened == 1


@pytest.mark.timeout(60)
def test_a_revoked_pool_token_is_replaced_alone(emu: Emulator) -> None:
    retry = RetryPolicy(max_attempts=3, max_time=10.0)  # a 429 of a send delayed on a loaded machine: retried
    with session(credentials_for(emu), retry=retry, pacing=POLICY, token_pool=3, timeout=TIMEOUT) as s:
        hammer(lambda: s.get(USERS).status_code, threads=6, seconds=1.5)
        pool = s.genesys_auth.pacing.pool if s.genesys_auth.pacing else None
        assert pool is not None and emu.counters()["token_requests"] == 3
        before = [pool.held(slot) for slot in range(3)]
        victim = before[2]
        assert victim is not None
        emu.revoke(victim)
        results = hammer(lambda: s.get(USERS).status_code, threads=6, seconds=1.5)
        after = [pool.held(slot) for slot in range(3)]
    counters = emu.counters()
    assert [status for _, status in results if status != 200] == []  # the 401 was answered by a re-send
    assert counters["token_requests"] == 4  # slot 2's replacement, nothing else
    assert after[:2] == before[:2] and after[2] not in (None, victim)
    assert counters["api_401"] >= 1


@pytest.mark.timeout(60)
def test_the_auth_hook_sends_on_the_pool_and_replaces_only_the_token_it_sent(emu: Emulator) -> None:
    auth = GenesysAuth(credentials_for(emu), retry=ONCE, pacing=POLICY, token_pool=2)
    try:
        with requests.Session() as http:

            def get() -> int:
                return http.get(emu.api_url + USERS, auth=auth, timeout=TIMEOUT).status_code

            assert [status for _, status in hammer(get, threads=4, seconds=1.5) if status != 200] == []
            pool = auth.pacing.pool if auth.pacing else None
            assert pool is not None and emu.counters()["token_requests"] == 2
            main, second = pool.held(0), pool.held(1)
            assert second is not None
            emu.revoke(second)
            assert [status for _, status in hammer(get, threads=4, seconds=1.5) if status != 200] == []
            assert pool.held(0) == main and pool.held(1) not in (None, second)
    finally:
        auth.close()
    assert emu.counters()["token_requests"] == 3
    assert emu.counters()["api_429_by_limit"] == {}


@pytest.mark.timeout(60)
def test_httpx_async_tasks_share_the_pool(emu: Emulator) -> None:
    async def main() -> list[int]:
        async with async_client(credentials_for(emu), retry=ONCE, pacing=POLICY, token_pool=3) as http:
            go = asyncio.Event()
            loop = asyncio.get_running_loop()

            async def worker() -> list[int]:
                await go.wait()  # every task starts at once
                end = loop.time() + 3.0
                statuses = []
                while loop.time() < end:
                    statuses.append((await http.get(USERS)).status_code)
                return statuses

            tasks = [asyncio.ensure_future(worker()) for _ in range(6)]
            go.set()
            return [status for task in await asyncio.gather(*tasks) for status in task]

    statuses = asyncio.run(main())
    counters = emu.counters()
    assert [s for s in statuses if s != 200] == []
    assert counters["token_requests"] == 3 and counters["api_429_by_limit"] == {}
    assert len(statuses) >= 0.7 * 3 * (3.0 * LIMIT / 1.2)


@pytest.mark.timeout(60)
def test_httpx_sync_threads_share_the_pool(emu: Emulator) -> None:
    import httpx

    auth = GenesysHttpxAuth(credentials_for(emu), retry=ONCE, pacing=POLICY, token_pool=2)
    with httpx.Client(auth=auth, base_url=emu.api_url, transport=auth.transport()) as http:
        results = hammer(lambda: http.get(USERS).status_code, threads=4, seconds=2.0)
    assert [status for _, status in results if status != 200] == []
    assert emu.counters()["token_requests"] == 2 and emu.counters()["api_429_by_limit"] == {}


# -- Configuration ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 2.5, "4", True, 33])
def test_a_bad_token_pool_is_a_clear_configuration_error(creds: ClientCredentials, value: object) -> None:
    with pytest.raises(ConfigurationError, match="token_pool is how many tokens one client may hold"):
        GenesysAuth(creds, token_pool=value)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="token_pool is how many tokens one client may hold"):
        GenesysHttpxAuth(creds, token_pool=value)  # type: ignore[arg-type]


def test_a_pool_without_pacing_or_with_a_given_token_is_refused(creds: ClientCredentials) -> None:
    with pytest.raises(ConfigurationError, match="token_pool= needs pacing"):
        GenesysAuth(creds, token_pool=2, pacing=False)
    given = AccessToken("a-token-of-yours", api_url=creds.api_url)
    with pytest.raises(ConfigurationError, match="AccessToken"):
        GenesysAuth(given, token_pool=2)
    auth = GenesysAuth(creds, token_pool=1, pacing=False)  # a pool of one is no pool: allowed
    auth.close()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "33"])
def test_genesys_token_pool_in_the_environment(
    creds: ClientCredentials, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GENESYS_TOKEN_POOL", "4")
    with session(creds) as s:
        assert s.genesys_auth.pacing is not None and s.genesys_auth.pacing.pool is not None
        assert s.genesys_auth.pacing.pool.size == 4
    monkeypatch.setenv("GENESYS_TOKEN_POOL", value)
    with pytest.raises(ConfigurationError, match=f"GENESYS_TOKEN_POOL must be a whole number from 1 to 32.*{value}"):
        session(creds)


def test_a_pickled_auth_has_a_pool_of_the_same_size_and_no_token(creds: ClientCredentials) -> None:
    auth = GenesysAuth(creds, token_pool=3)
    try:
        header = auth.header()
        data = pickle.dumps(auth)
        assert header.split()[-1].encode() not in data
        copy = pickle.loads(data)
        try:
            assert copy.pacing is not None and copy.pacing.pool is not None and copy.pacing.pool.size == 3
            assert copy.pacing.pool.opened == 1
        finally:
            copy.close()
    finally:
        auth.close()


def test_the_pool_is_not_built_for_one_token(creds: ClientCredentials) -> None:
    auth = GenesysAuth(creds)
    try:
        assert auth.pacing is not None and auth.pacing.pool is None and auth.pacing.pacer.pool == 1
    finally:
        auth.close()
