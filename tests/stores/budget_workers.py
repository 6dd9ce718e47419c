"""Functions run in spawned processes by the budget store tests (importable by a fresh interpreter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genesys_auth_adapter.engine.budget import Budget, Counted, Rate
from genesys_auth_adapter.engine.gcra import Lane, Lesson
from genesys_auth_adapter.stores.budget import BudgetStore

#: Longest a child waits for its siblings before giving up (the parent fails the test then).
CHILD_WAIT = 20.0
SCOPE = "fleet"
#: 10 requests per second: a lane every process reserves on.
LANE = Lane("t.fleet", Rate.of(Budget(10, 1.0)), 1.0, "token", 0)
EPISODE = 1_700_000_060.0


def open_store(kind: str, where: str, prefix: str) -> BudgetStore:
    """The budget store of ``kind`` (``file`` or ``redis``) at ``where``, on the system clock."""
    if kind == "file":
        from genesys_auth_adapter.stores.file import FileTokenStore

        return FileTokenStore(where).budgets()
    from genesys_auth_adapter.stores.redis import RedisTokenStore

    return RedisTokenStore(where, prefix=prefix, read_timeout=5).budgets()


def reserve_slots(kind: str, where: str, prefix: str, rounds: int, barrier: Any, out: str) -> None:
    """Reserve ``rounds`` slots on :data:`LANE` as fast as possible; write the slot times to ``out``."""
    store = open_store(kind, where, prefix)
    barrier.wait(CHILD_WAIT)  # every process starts reserving at once
    slots = []
    for _ in range(rounds):
        reservation = store.reserve(SCOPE, [LANE], max_wait=1000.0)
        if not reservation.granted:
            raise SystemExit(3)
        slots.append(reservation.at)
    Path(out).write_text(json.dumps(slots))
    store.close()


def report_counts(kind: str, where: str, prefix: str, rounds: int, barrier: Any) -> None:
    """Report ``rounds`` counts of 10 answered requests for one episode, each in its own lesson."""
    store = open_store(kind, where, prefix)
    lesson = Lesson(events=(("token", Counted(10, 0, 60.0, None, None, EPISODE)),))
    barrier.wait(CHILD_WAIT)
    for _ in range(rounds):
        store.learn(SCOPE, lesson)
    store.close()
