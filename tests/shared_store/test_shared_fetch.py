"""Cross-process single flight, with auth objects that share nothing but a store (as processes would).

Each ``GenesysAuth`` has its own token state, lock and flights, exactly as a separate process has; only
the store connects them. The multi-process tests (real subprocesses) live with the file and Redis stores.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import requests

from genesys_auth_adapter import AccessToken, ConfigurationError, GenesysAuth, ManualClock, from_env, session
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.engine.state import STALE_RETRY_DELAY
from genesys_auth_adapter.stores import MemoryTokenStore, StoredToken, StoreError
from genesys_auth_adapter.stores.base import Lease

ME = "/api/v2/organizations/me"
TIMEOUT = (5.0, 15.0)


class CountingStore(MemoryTokenStore):
    """A memory store that counts its operations and can be made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {"load": 0, "save": 0, "delete_if": 0, "acquire": 0}
        self.broken = False

    def _count(self, name: str) -> None:
        self.calls[name] += 1
        if self.broken:
            raise StoreError("the store is down")

    def load(self, key: str) -> StoredToken | None:
        self._count("load")
        return super().load(key)

    def save(self, key: str, token: StoredToken) -> None:
        self._count("save")
        super().save(key, token)

    def delete_if(self, key: str, access_token: str) -> bool:
        self._count("delete_if")
        return super().delete_if(key, access_token)

    def acquire(self, key: str, *, wait: float) -> Lease | None:
        self._count("acquire")
        return super().acquire(key, wait=wait)


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()


def get(emu: Emulator, auth: GenesysAuth, path: str = ME) -> requests.Response:
    return requests.get(emu.api_url + path, auth=auth, timeout=TIMEOUT)


def auths(emu: Emulator, store: MemoryTokenStore, count: int) -> list[GenesysAuth]:
    return [GenesysAuth(from_env(emu.env(), use_dotenv=False), store=store) for _ in range(count)]


def test_a_second_process_uses_the_stored_token(emu: Emulator) -> None:
    store = CountingStore()
    first, second = auths(emu, store, 2)
    assert get(emu, first).status_code == 200
    assert get(emu, second).status_code == 200
    assert emu.counters()["token_requests"] == 1
    assert first.shared is not None and first.shared.source == "login"
    assert second.shared is not None and second.shared.source == "store"
    assert first.header() == second.header()


def test_eight_processes_with_an_empty_store_make_one_token_request(emu: Emulator) -> None:
    emu.set_token_delay(0.2)  # the leader's request is still out when the others look
    store = CountingStore()
    fleet = auths(emu, store, 8)
    start = threading.Barrier(len(fleet), timeout=10)
    statuses: list[int] = []

    def run(auth: GenesysAuth) -> None:
        start.wait()
        statuses.append(get(emu, auth).status_code)

    threads = [threading.Thread(target=run, args=(auth,), daemon=True) for auth in fleet]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert statuses == [200] * 8
    assert emu.counters()["token_requests"] == 1
    assert len({auth.header() for auth in fleet}) == 1


def test_a_revocation_costs_the_fleet_one_token_request(emu: Emulator) -> None:
    store = CountingStore()
    fleet = auths(emu, store, 4)
    for auth in fleet:
        assert get(emu, auth).status_code == 200
    emu.revoke_all()
    for auth in fleet:
        assert get(emu, auth).status_code == 200  # each sees its own 401 and re-sends
    assert emu.counters()["token_requests"] == 2  # the first token and one replacement for all four
    assert store.calls["delete_if"] >= 4  # each process told the store to forget the token it saw rejected


def test_a_rejected_token_is_never_taken_back_from_the_store(emu: Emulator) -> None:
    """Compare-and-delete: the store forgets the rejected token; a newer one stays."""
    store = CountingStore()
    first, second = auths(emu, store, 2)
    get(emu, first)
    get(emu, second)
    emu.revoke_all()
    assert get(emu, first).status_code == 200  # first replaces the token in the store
    new = first.header()
    assert get(emu, second).status_code == 200  # second's 401 must not delete first's new token
    assert second.header() == new
    assert emu.counters()["token_requests"] == 2


def test_a_token_that_must_be_minted_after_a_401_is_never_the_stored_one(emu: Emulator) -> None:
    """After a re-send with a stored token was rejected too, the stored token (maybe minted before the
    revocation) is not taken again: the process makes its own token request, under the fetch lock, and
    stores its answer for the others."""
    store = CountingStore()
    first, second = auths(emu, store, 2)
    assert get(emu, first).status_code == 200
    stored = first.header()
    new = second.manager.rejected("Bearer some-rejected-token", after=second.manager.clock.monotonic())
    assert new.header != stored and new.minted_at is not None
    assert emu.counters()["token_requests"] == 2
    assert store.calls["acquire"] == 2  # first's fetch and second's fresh one, each under the fetch lock
    assert first.shared is not None and store.load(first.shared.key) is not None
    assert "Bearer " + store.load(first.shared.key).access_token == new.header  # type: ignore[union-attr]


def test_an_async_token_that_must_be_minted_after_a_401_is_never_the_stored_one(emu: Emulator) -> None:
    import asyncio

    from genesys_auth_adapter.httpx import GenesysHttpxAuth

    store = CountingStore()
    (first,) = auths(emu, store, 1)
    assert get(emu, first).status_code == 200
    auth = GenesysHttpxAuth(from_env(emu.env(), use_dotenv=False), store=store)
    later = auth.state.clock.monotonic()
    taken = asyncio.run(auth.async_tokens.rejected("Bearer some-rejected-token"))
    assert taken.header == first.header() and taken.minted_at is None  # a plain replacement: the stored one
    # The re-send with it was rejected too (another 401 for a header that is not the stored one's, so that
    # the store still holds it): the next token is this process's own.
    new = asyncio.run(auth.async_tokens.rejected("Bearer another-rejected-token", after=later))
    assert new.header != taken.header and new.minted_since(later)
    assert emu.counters()["token_requests"] == 2


def test_no_store_io_while_the_token_is_fresh(emu: Emulator) -> None:
    store = CountingStore()
    (auth,) = auths(emu, store, 1)
    get(emu, auth)
    before = dict(store.calls)
    for _ in range(20):
        assert get(emu, auth).status_code == 200
    assert store.calls == before


def test_a_broken_store_never_fails_a_request_and_warns_once_per_outage(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="genesys_auth_adapter.store")
    store = CountingStore()
    store.broken = True
    fleet = auths(emu, store, 2)
    for auth in fleet:
        assert get(emu, auth).status_code == 200
    emu.revoke_all()
    for auth in fleet:
        assert get(emu, auth).status_code == 200
    outage = [r for r in caplog.records if "not usable" in r.getMessage()]
    assert len(outage) == 2  # one warning per process (auth) per outage
    assert all("down" in r.getMessage() for r in outage)
    # The store comes back: the next token request goes through it again, and says so.
    store.broken = False
    emu.revoke_all()
    assert get(emu, fleet[0]).status_code == 200
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert store.calls["save"] >= 1


def test_a_refresh_ahead_is_led_by_one_process(
    genesys_emulator_factory: Callable[..., Emulator], caplog: pytest.LogCaptureFixture
) -> None:
    """While one process refreshes ahead of expiry, the others keep their valid token (no warning, no
    token request) and then take the new one from the store."""
    caplog.set_level(logging.WARNING)
    emu = genesys_emulator_factory(token_lifetime=300)
    store = CountingStore()
    clocks = [ManualClock(wall=time.time(), monotonic=1000.0) for _ in range(2)]
    first, second = (GenesysAuth(from_env(emu.env(), use_dotenv=False), store=store, clock=c) for c in clocks)
    old = first.header()
    # second takes the stored token before it knows the server's clock: a provisional lifetime; its
    # first response is a clock sample, and when the guess runs out it takes the token again, for real.
    assert get(emu, second).request.headers["Authorization"] == old
    clocks[1].advance(65.0)
    assert second.header() == old
    token = second.manager.current
    assert token is not None and token.remaining(clocks[1].monotonic()) > 200
    assert emu.counters()["token_requests"] == 1
    # Another process holds the fetch lock (it is refreshing): second's refresh ahead is deferred.
    lease = store.acquire(second.shared.key, wait=0)  # type: ignore[union-attr]
    assert lease is not None
    clocks[1].advance(210.0)  # past refresh_at (270 s), well before expiry
    assert second.header() == old
    assert emu.counters()["token_requests"] == 1
    lease.release()
    # first refreshes (it takes the lock and stores the new token)...
    clocks[0].advance(275.0)
    new = first.header()
    assert new != old
    assert emu.counters()["token_requests"] == 2
    # ...and second, trying again a few seconds later, takes it from the store.
    clocks[1].advance(STALE_RETRY_DELAY)
    assert second.header() == new
    assert second.shared is not None and second.shared.source == "store"
    assert emu.counters()["token_requests"] == 2
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_process_that_does_not_know_the_server_clock_yet_trusts_a_stored_token_only_briefly(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    """Pins: a process with no Date sample read the stored expiry on its own clock: with the server 10 min
    ahead, a 120 s token looked good for 720 s, and the whole fleet met 401s at the real expiry."""
    emu = genesys_emulator_factory(token_lifetime=120, skew=600)
    store = CountingStore()
    writer, reader = auths(emu, store, 2)
    assert get(emu, writer).status_code == 200
    token = reader.token()  # from the store, with no clock sample yet
    assert reader.shared is not None and reader.shared.source == "store"
    left = token.remaining(reader.manager.clock.monotonic())
    assert left is not None and left <= 120


def test_a_token_you_supply_is_not_shared(emu: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="AccessToken"):
        GenesysAuth(AccessToken("given", api_url=emu.api_url), store=MemoryTokenStore())


def test_session_takes_a_store(emu: Emulator) -> None:
    store = MemoryTokenStore()
    s1 = session(from_env(emu.env(), use_dotenv=False), store=store)
    s2 = session(from_env(emu.env(), use_dotenv=False), store=store)
    with s1, s2:
        assert s1.get(ME).status_code == 200
        assert s2.get(ME).status_code == 200
    assert emu.counters()["token_requests"] == 1


def test_httpx_sync_and_async_clients_share_the_stored_token(emu: Emulator) -> None:
    import asyncio

    from genesys_auth_adapter.httpx import async_client, client

    store = CountingStore()
    with client(from_env(emu.env(), use_dotenv=False), store=store) as c:
        assert c.get(ME).status_code == 200

    async def two_more() -> list[int]:
        a = async_client(from_env(emu.env(), use_dotenv=False), store=store)
        b = async_client(from_env(emu.env(), use_dotenv=False), store=store)
        async with a, b:
            return [(await a.get(ME)).status_code, (await b.get(ME)).status_code]

    assert asyncio.run(two_more()) == [200, 200]
    assert emu.counters()["token_requests"] == 1


def test_an_auth_with_a_store_pickles_with_it(emu: Emulator, tmp_path: Path) -> None:
    import pickle

    from genesys_auth_adapter.stores.file import FileTokenStore

    by_name = GenesysAuth(from_env(emu.env(), use_dotenv=False), store=f"file:{tmp_path}")
    by_object = GenesysAuth(from_env(emu.env(), use_dotenv=False), store=FileTokenStore(path=str(tmp_path)))
    for auth in (by_name, by_object):
        clone = pickle.loads(pickle.dumps(auth))
        assert isinstance(clone.store, FileTokenStore)
        assert get(emu, clone).status_code == 200
    assert emu.counters()["token_requests"] == 1  # the clones shared one token through the directory


def test_a_short_lived_stored_token_is_shared_while_it_is_fresh(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    """Pins: a fixed 30 s floor made every stored token of a short lifetime useless: each process fetched its own."""
    emu = genesys_emulator_factory(token_lifetime=10)
    store = CountingStore()
    first, second = auths(emu, store, 2)
    assert get(emu, first).status_code == 200
    assert get(emu, second).status_code == 200
    assert emu.counters()["token_requests"] == 1


@pytest.mark.parametrize("bad", ["a b", "tök€n", ""])
def test_a_stored_value_no_header_can_carry_is_a_miss_not_a_crash(
    emu: Emulator, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Pins: one bad stored value made every request of every process raise ValueError."""
    caplog.set_level(logging.WARNING, logger="genesys_auth_adapter.store")
    store = CountingStore()
    (auth,) = auths(emu, store, 1)
    key = auth.shared.key  # type: ignore[union-attr]
    store._entries[key] = (
        b'{"access_token":' + json.dumps(bad).encode() + b',"token_type":"bearer","expires_at":null,"issued_at":1}'
    )
    assert get(emu, auth).status_code == 200
    assert emu.counters()["token_requests"] == 1
    stored = store.load(key)
    assert stored is not None and stored.access_token != bad  # replaced by the new token
