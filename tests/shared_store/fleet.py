"""Running a fleet of real processes against the emulator (shared by the file and Redis fleet tests)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from genesys_auth_adapter import PacingPolicy
from genesys_auth_adapter.emulator import Emulator

from . import workers

PROCESSES = 6
BOUND = 60.0


def run_fleet(emu: Emulator, store: Any) -> list[tuple[str, int, str]]:
    """PROCESSES processes GET at once; then the emulator revokes every token and they GET again."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    go_again = context.Event()
    results = context.Queue()
    members = [
        context.Process(target=workers.fleet_member, args=(emu.env(), store, start, go_again, results), daemon=True)
        for _ in range(PROCESSES)
    ]
    for member in members:
        member.start()
    try:
        firsts = [results.get(timeout=BOUND) for _ in members]
        emu.revoke_all()
        go_again.set()
        seconds = [results.get(timeout=BOUND) for _ in members]
    finally:
        for member in members:
            member.join(BOUND)
            if member.is_alive():
                member.kill()
    return firsts + seconds


MEMBERS = 3
THREADS = 2
SECONDS = 3.0
LIMIT = 8  # requests per second per token, at the emulator and in the configured budget
POOL = 3  # tokens of the pool, for the whole fleet


def run_paced_fleet(emu: Emulator, store: Any, pool: int = 1) -> tuple[list[int], set[str]]:
    """Every member's statuses, and the tokens they sent (fingerprints): MEMBERS processes x THREADS threads,
    released together at a barrier, with a token pool of ``pool``."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(MEMBERS)
    results = context.Queue()
    policy = PacingPolicy(budget=LIMIT, window=1.0, jitter=0.3, pool_after=0.2)
    threads = THREADS if pool == 1 else 3
    members = [
        context.Process(
            target=workers.paced_member,
            args=(emu.env(), store, policy, threads, SECONDS, start, results, pool),
            daemon=True,
        )
        for _ in range(MEMBERS)
    ]
    for member in members:
        member.start()
    try:
        reports = [results.get(timeout=BOUND) for _ in members]
    finally:
        for member in members:
            member.join(BOUND)
            if member.is_alive():
                member.kill()
    assert [r for r in reports if r[0] == "error"] == []
    return [status for _, statuses, _ in reports for status in statuses], {p for _, _, ps in reports for p in ps}
