"""Eight processes meet a revocation at once: one refresh, no invalid_grant, every request answered.

Spawned processes share a login through the file store or Redis. They all hold the login's access token;
the emulator revokes every access token; each process then sends a request, gets a 401, and needs a new
token. The one refresh is held by the emulator (after it rotated the refresh token) until every process
has received its 401, so all eight are waiting for the login at the same moment.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from genesys_auth_adapter import CodeClient, login_with_browser
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.stores.logins import save_login

from .conftest import SHARED_URL
from .refresh_workers import CHILD_WAIT, call_twice_as_the_user, open_store, play_browser

PROCESSES = 8
ME = "/api/v2/users/me"


def wait_for(condition: Callable[[], bool], why: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` every 20 ms for at most ``timeout`` seconds (the emulator has no event for it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {why}")
        time.sleep(0.02)


@pytest.fixture(params=["file", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, str]:
    if request.param == "file":
        return ("file", str(tmp_path / "store"), "")
    request.getfixturevalue("shared_redis")  # the shared server, under a prefix of this test's own
    return ("redis", SHARED_URL, request.getfixturevalue("prefix"))


@pytest.mark.timeout(4 * CHILD_WAIT)
def test_eight_processes_meeting_a_revocation_make_one_refresh(
    genesys_emulator_factory: Callable[..., Emulator], store_spec: tuple[str, str, str]
) -> None:
    emu = genesys_emulator_factory()
    env = emu.env("code")
    client = {
        "client_id": env["GENESYS_CLIENT_ID"],
        "client_secret": env["GENESYS_CLIENT_SECRET"],
        "redirect_uri": env["GENESYS_REDIRECT_URI"],
        "login_url": emu.login_url,
        "api_url": emu.api_url,
    }
    login = login_with_browser(CodeClient(**client), open_browser=False, show_url=play_browser, timeout=20)
    store = open_store(*store_spec)
    try:
        assert save_login(store, login)
    finally:
        store.close()

    spawn = multiprocessing.get_context("spawn")
    ready, go, out = spawn.Barrier(PROCESSES + 1), spawn.Event(), spawn.Queue()
    args = (client, store_spec, emu.api_url + ME, ready, go, out)
    processes = [spawn.Process(target=call_twice_as_the_user, args=args, daemon=True) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    try:
        ready.wait(CHILD_WAIT)  # every process has made its first call with the stored token
        before = emu.counters()
        assert before["token_requests_by_grant"].get("refresh_token", 0) == 0
        emu.revoke_all()
        hold = emu.hold_next_refresh()
        go.set()
        try:
            assert hold.wait_minted(30), "no refresh arrived"
            wait_for(lambda: emu.counters()["api_401"] - before["api_401"] >= PROCESSES, "every process's 401")
        finally:
            hold.release()
        results: list[Any] = [out.get(timeout=CHILD_WAIT) for _ in range(PROCESSES)]
    finally:
        for process in processes:
            process.join(CHILD_WAIT)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes), [process.exitcode for process in processes]
    assert results == [(200, 200, 2)] * PROCESSES  # each: the 401, then the re-send with the new token
    counters = emu.counters()
    refreshes = counters["token_requests_by_grant"].get("refresh_token", 0)
    print(
        f"{PROCESSES} processes, {store_spec[0]} store: {refreshes} refresh, "
        f"{counters['refresh_tokens_rejected']} invalid_grant, {counters['api_401'] - before['api_401']} 401s"
    )
    assert refreshes == 1
    assert counters["refresh_tokens_rejected"] == 0
    assert counters["api_401"] - before["api_401"] == PROCESSES
    store = open_store(*store_spec)
    try:  # the one refresh's successor is what the store keeps now, bound to the client
        kept = store.load(login.client.store_identity().refresh_key)
    finally:
        store.close()
    assert kept is not None and kept.token_type == "refresh_token"
    assert kept.access_token != login.refresh_token and kept.binding == login.client.store_identity().binding()
