"""What a child made by ``os.fork`` inherits: the token yes; locks, flights and pooled sockets no."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from requests.adapters import HTTPAdapter

from genesys_auth_adapter import ClientCredentials, GenesysSession, IssuedToken, from_env, session
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.oauth import TokenRequest
from genesys_auth_adapter.stores import MemoryTokenStore, TokenStore
from genesys_auth_adapter.stores.file import FileTokenStore

from .conftest import in_forked_child

pytestmark = pytest.mark.usefixtures("fork_allowed")

ME = "/api/v2/organizations/me"


def idle_local_ports(adapter: HTTPAdapter) -> set[int]:
    """The local ports of the keep-alive connections waiting in an adapter's pools."""
    ports = set()
    for key in list(adapter.poolmanager.pools.keys()):
        pool = adapter.poolmanager.pools[key]
        for conn in list(pool.pool.queue):  # type: ignore[union-attr]
            if conn is not None and conn.sock is not None:
                ports.add(conn.sock.getsockname()[1])
    return ports


def genesys_adapter(s: GenesysSession) -> HTTPAdapter:
    adapter = s.get_adapter(s.base_url + "/")
    assert isinstance(adapter, HTTPAdapter)
    return adapter


def test_a_child_forked_while_the_parent_holds_a_token_uses_it(emu: Emulator) -> None:
    with session(from_env(emu.env(), use_dotenv=False)) as s:
        parent_header = s.get(ME).request.headers["Authorization"]

        def child() -> tuple[int, bool]:
            response = s.get(ME)
            return response.status_code, response.request.headers["Authorization"] == parent_header

        assert in_forked_child(child) == (200, True)
    assert emu.counters()["token_requests"] == 1


class SignallingCredentials:
    """Client credentials that say when a token request starts (so a test can fork in the middle of it)."""

    def __init__(self, inner: ClientCredentials) -> None:
        self.inner = inner
        self.started = threading.Event()

    @property
    def api_url(self) -> str:
        return self.inner.api_url

    def initial_token(self) -> IssuedToken | None:
        return None

    def token_request(self) -> TokenRequest:
        self.started.set()
        return self.inner.token_request()

    def obtain(self) -> IssuedToken:
        raise AssertionError("not used: a token request is made")


def test_a_child_forked_during_a_token_request_makes_its_own(emu: Emulator) -> None:
    """Pins: the child used to wait for the parent's token request, which never ends in the child,
    and then fail with TokenWaitTimeout blaming the login service."""
    emu.set_token_delay(1.0)
    source = SignallingCredentials(from_env(emu.env(), use_dotenv=False))
    # A waiter gives up after 0.5 s; the child's own token request takes 1 s and must succeed.
    with session(source, wait_timeout=0.5) as s:
        parent = threading.Thread(target=lambda: s.get(ME), daemon=True)
        parent.start()
        assert source.started.wait(10)
        status = in_forked_child(lambda: s.get(ME).status_code)
        parent.join(10)
    assert status == 200
    assert emu.counters()["token_requests"] == 2  # the parent's and the child's own


def test_a_child_never_reuses_the_parents_keep_alive_connections(emu: Emulator) -> None:
    """Pins: parent and child used to share pooled sockets (one GET in eight stalled 60 s and failed)."""
    with session(from_env(emu.env(), use_dotenv=False)) as s:
        assert s.get(ME).status_code == 200
        parent_ports = idle_local_ports(genesys_adapter(s))
        assert len(parent_ports) == 1

        def child() -> dict[str, Any]:
            inherited = idle_local_ports(genesys_adapter(s))
            statuses = [s.get(ME).status_code for _ in range(3)]
            return {"inherited": inherited, "statuses": statuses, "used": idle_local_ports(genesys_adapter(s))}

        seen = in_forked_child(child)
        assert seen["inherited"] == set()
        assert seen["statuses"] == [200, 200, 200]
        assert seen["used"] and seen["used"].isdisjoint(parent_ports)
        # The parent's connection was left alone and still serves it.
        assert s.get(ME).status_code == 200
        assert idle_local_ports(genesys_adapter(s)) == parent_ports


def test_a_lock_held_by_another_parent_thread_does_not_block_the_child(emu: Emulator) -> None:
    """Pins: a child forked while another thread held the token manager's lock would block forever."""
    with session(from_env(emu.env(), use_dotenv=False)) as s:
        manager = s.genesys_auth.manager
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with manager.state._lock:
                holding.set()
                release.wait(10)

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        try:
            assert holding.wait(5)
            # The child's first request needs the lock (no token yet) and must not wait for the parent's thread.
            status = in_forked_child(lambda: s.get(ME).status_code)
        finally:
            release.set()
            holder.join(5)
    assert status == 200


def test_an_httpx_auth_makes_async_token_requests_in_a_forked_child(emu: Emulator) -> None:
    """The child's event loops get tokens with the SSL context the parent built (no client is inherited)."""
    import asyncio

    from genesys_auth_adapter.httpx import GenesysHttpxAuth

    auth = GenesysHttpxAuth(from_env(emu.env(), use_dotenv=False))

    async def new_token() -> str:
        current = auth.state.current
        if current is not None:
            auth.state.discard(current.header)
        return (await auth.atoken()).header

    parent_header = asyncio.run(new_token())

    def child() -> list[bool]:
        return [asyncio.run(new_token()) != parent_header for _ in range(2)]  # two loops in the child

    assert in_forked_child(child) == [True, True]
    assert emu.counters()["token_requests"] == 3


def test_a_child_forked_during_a_token_request_through_a_memory_store_makes_its_own(emu: Emulator) -> None:
    """Pins: the memory store's per-key fetch lock, held by the parent's leader, stayed held in the child,
    which waited wait_timeout / 2 on every token request and then raised TokenWaitTimeout blaming
    "another process"."""
    emu.set_token_delay(1.0)
    source = SignallingCredentials(from_env(emu.env(), use_dotenv=False))
    store = MemoryTokenStore()
    # The child's own token request takes 1 s; waiting for the parent's lock would give up after 0.25 s.
    with session(source, wait_timeout=0.5, store=store) as s:
        parent = threading.Thread(target=lambda: s.get(ME), daemon=True)
        parent.start()
        assert source.started.wait(10)
        status = in_forked_child(lambda: s.get(ME).status_code)
        parent.join(10)
    assert status == 200
    assert emu.counters()["token_requests"] == 2  # the parent's and the child's own


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_a_store_lock_held_by_another_parent_thread_does_not_block_the_child(kind: str, tmp_path: Path) -> None:
    """Pins: a store's own guard (the memory store's for compare-and-delete, the file store's for its
    warnings about a bad entry), held by a parent thread at fork time, stayed held in the child."""
    store: TokenStore = MemoryTokenStore() if kind == "memory" else FileTokenStore(tmp_path)
    (tmp_path / "k.json").write_bytes(b"not a token")  # the file store warns about it, under its guard
    guard = store._guard  # type: ignore[attr-defined]
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with guard:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert holding.wait(5)
        assert in_forked_child(lambda: (store.delete_if("k", "t"), store.load("k"))) == (False, None)
    finally:
        release.set()
        holder.join(5)


@pytest.mark.parametrize("lock", ["pacer", "budgets"])
def test_a_pacing_lock_held_by_another_parent_thread_does_not_block_the_child(emu: Emulator, lock: str) -> None:
    """A child forked while a parent thread held the pacer's (or its local budget store's) lock paces on."""
    with session(from_env(emu.env(), use_dotenv=False), rate_limit=600) as s:
        assert s.get(ME).status_code == 200
        pacing = s.genesys_auth.pacing
        assert pacing is not None
        held = pacing.pacer._lock if lock == "pacer" else pacing.pacer.local._lock
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with held:
                holding.set()
                release.wait(10)

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        try:
            assert holding.wait(5)
            status = in_forked_child(lambda: s.get(ME).status_code)  # the request takes a slot: both locks
        finally:
            release.set()
            holder.join(5)
    assert status == 200
