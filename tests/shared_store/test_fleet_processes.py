"""A fleet of real processes sharing one token through the file store (and, in test_redis_fleet, Redis)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

from . import workers
from .fleet import BOUND, PROCESSES, run_fleet


def test_a_fleet_sharing_the_file_store_makes_one_token_request_per_need(emu: Emulator, tmp_path: Path) -> None:
    reports = run_fleet(emu, f"file:{tmp_path / 'tokens'}")
    assert [r for r in reports if r[0] == "error"] == []
    firsts = [r for r in reports if r[0] == "first"]
    seconds = [r for r in reports if r[0] == "second"]
    assert [r[1] for r in firsts + seconds] == [200] * (2 * PROCESSES)
    assert len({r[2] for r in firsts}) == 1  # one token for the whole fleet...
    assert len({r[2] for r in seconds}) == 1  # ...and one replacement after the revocation
    assert emu.counters()["token_requests"] == 2


def test_without_a_store_every_process_has_its_own_token(emu: Emulator) -> None:
    """The baseline the store improves on (and proof the fleet test can tell the difference)."""
    reports = run_fleet(emu, "none")
    assert emu.counters()["token_requests"] == 2 * PROCESSES
    assert len({r[2] for r in reports if r[0] == "first"}) == PROCESSES


def test_a_lock_holder_killed_mid_fetch_does_not_block_the_fleet(emu: Emulator, tmp_path: Path) -> None:
    """SIGKILL the process that holds the fetch lock while its token request hangs: the next process gets
    the lock (the file lock dies with its holder) and its own token, well within its wait."""
    store = f"file:{tmp_path / 'tokens'}"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    emu.set_token_delay(30.0)  # the first token request hangs
    holder = context.Process(target=workers.lone_get, args=(emu.env(), store, results), daemon=True)
    holder.start()
    try:
        wait_for(lambda: emu.counters()["token_requests"] == 1)  # it holds the lock and its request is out
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(BOUND)
        emu.set_token_delay(0.0)
        follower = context.Process(target=workers.lone_get, args=(emu.env(), store, results), daemon=True)
        follower.start()
        status, _ = results.get(timeout=BOUND)
        follower.join(BOUND)
    finally:
        for process in (holder,):
            if process.is_alive():
                process.kill()
    assert status == 200
    assert emu.counters()["token_requests"] == 2


def wait_for(condition: Callable[[], bool], limit: float = BOUND) -> None:
    """Poll an emulator counter (a condition in another process) with short bounded waits."""
    import time

    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.02)


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()
