"""The Redis store in use: a fleet of real processes, and a Redis that stops and comes back mid-run."""

from __future__ import annotations

import logging
from typing import Callable

import pytest
import requests
from shared_store.fleet import PROCESSES, run_fleet

from genesys_auth_adapter import GenesysAuth, from_env
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.stores.redis import RedisTokenStore

from .conftest import OwnRedis

ME = "/api/v2/organizations/me"


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()


def test_a_fleet_sharing_redis_makes_one_token_request_per_need(emu: Emulator, shared_redis: str, prefix: str) -> None:
    reports = run_fleet(emu, ("redis", shared_redis, prefix))
    assert [r for r in reports if r[0] == "error"] == []
    assert [r[1] for r in reports] == [200] * (2 * PROCESSES)
    assert len({r[2] for r in reports if r[0] == "first"}) == 1
    assert len({r[2] for r in reports if r[0] == "second"}) == 1
    assert emu.counters()["token_requests"] == 2


def test_requests_go_on_while_redis_is_down_and_sharing_resumes_when_it_is_back(
    emu: Emulator, own_redis: Callable[..., OwnRedis], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="genesys_auth_adapter.store")
    server = own_redis()
    store = RedisTokenStore(server.url())
    first, second = (GenesysAuth(from_env(emu.env(), use_dotenv=False), store=store) for _ in range(2))
    get = lambda auth: requests.get(emu.api_url + ME, auth=auth, timeout=(5, 15)).status_code  # noqa: E731
    try:
        assert [get(first), get(second)] == [200, 200]
        assert emu.counters()["token_requests"] == 1
        server.stop()  # Redis stopped mid-run
        emu.revoke_all()
        assert [get(first), get(second)] == [200, 200]  # each process falls back to its own token
        assert emu.counters()["token_requests"] == 3
        outage = [r for r in caplog.records if "not usable" in r.getMessage()]
        assert len(outage) == 2  # one warning per process for the outage
        assert all("127.0.0.1" in r.getMessage() for r in outage)
        server.start()  # Redis restarted (empty)
        emu.revoke_all()
        assert get(first) == 200
        assert get(second) == 200  # second finds first's new token in the store again
        assert emu.counters()["token_requests"] == 4
        assert any("answers again" in r.getMessage() for r in caplog.records)
    finally:
        first.close()
        second.close()
        store.close()


def test_an_auth_with_a_redis_store_object_refuses_to_pickle_saying_what_to_pass(
    emu: Emulator, shared_redis: str, prefix: str
) -> None:
    import pickle

    store = RedisTokenStore(shared_redis, prefix=prefix)
    auth = GenesysAuth(from_env(emu.env(), use_dotenv=False), store=store)
    try:
        with pytest.raises(TypeError, match="give store= as a string"):
            pickle.dumps(auth)
        clone = pickle.loads(pickle.dumps(GenesysAuth(from_env(emu.env(), use_dotenv=False), store=shared_redis)))
        assert isinstance(clone.store, RedisTokenStore)
        clone.close()
    finally:
        auth.close()
        store.close()


def test_httpx_async_clients_share_through_redis_asyncio(emu: Emulator, own_redis: Callable[..., OwnRedis]) -> None:
    import asyncio

    from genesys_auth_adapter.httpx import async_client, client
    from genesys_auth_adapter.stores.redis import AsyncRedisTokenStore

    server = own_redis()

    async def two_clients() -> list[int]:
        creds = from_env(emu.env(), use_dotenv=False)
        async with async_client(creds, store=server.url()) as a, async_client(creds, store=server.url()) as b:
            assert isinstance(a.auth.async_tokens._fetch.__self__.store, AsyncRedisTokenStore)  # type: ignore[union-attr]
            return [(await a.get(ME)).status_code, (await b.get(ME)).status_code]

    assert asyncio.run(two_clients()) == [200, 200]
    with client(from_env(emu.env(), use_dotenv=False), store=server.url()) as c:
        assert c.get(ME).status_code == 200
    assert emu.counters()["token_requests"] == 1


def test_waiting_for_another_process_that_holds_the_lock_is_bounded(
    emu: Emulator, shared_redis: str, prefix: str
) -> None:
    from genesys_auth_adapter import TokenWaitTimeout
    from genesys_auth_adapter.stores.shared import source_key

    store = RedisTokenStore(shared_redis, prefix=prefix)
    creds = from_env(emu.env(), use_dotenv=False)
    lease = store.acquire(source_key(creds) or "", wait=0)  # another process is (forever) requesting a token
    assert lease is not None
    auth = GenesysAuth(creds, store=store, wait_timeout=0.5)
    try:
        with pytest.raises(TokenWaitTimeout, match="another process"):
            auth.header()
        assert emu.counters()["token_requests"] == 0
    finally:
        lease.release()
        auth.close()
        store.close()


def test_the_lease_is_renewed_while_a_slow_token_request_goes_on(emu: Emulator, shared_redis: str, prefix: str) -> None:
    """Pins: a 30 s lease ran out during a slow token request (a long Retry-After), letting a second
    process in: two tokens for one fleet."""
    import threading

    emu.set_token_delay(2.5)  # longer than the lease below
    store = RedisTokenStore(shared_redis, prefix=prefix, lease=1.0)
    first, second = (GenesysAuth(from_env(emu.env(), use_dotenv=False), store=store) for _ in range(2))
    headers: list[str] = []
    leader = threading.Thread(target=lambda: headers.append(first.header()), daemon=True)
    try:
        leader.start()
        wait_for_token_request(emu)
        headers.append(second.header())  # waits for the lock, which must not run out meanwhile
        leader.join(10)
        assert len(set(headers)) == 1
        assert emu.counters()["token_requests"] == 1
    finally:
        first.close()
        second.close()
        store.close()


def wait_for_token_request(emu: Emulator) -> None:
    import time

    deadline = time.monotonic() + 10
    while emu.counters()["token_requests"] < 1:
        assert time.monotonic() < deadline, "the token request never started"
        time.sleep(0.01)
