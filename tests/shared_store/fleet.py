"""Running a fleet of real processes against the emulator (shared by the file and Redis fleet tests)."""

from __future__ import annotations

import multiprocessing
from typing import Any

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
