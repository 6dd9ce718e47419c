"""A fleet of real (spawned) processes sharing one token's rate budget through the file store.

The same through Redis: ``tests/stores/test_redis_paced_fleet.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

from .fleet import LIMIT, POOL, SECONDS, run_paced_fleet


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory(rate_limit=LIMIT, rate_window=1.0)


@pytest.mark.timeout(120)
def test_a_fleet_sharing_the_file_store_shares_one_budget(emu: Emulator, tmp_path: Path) -> None:
    statuses, _ = run_paced_fleet(emu, f"file:{tmp_path / 'tokens'}")
    assert emu.counters()["token_requests"] == 1  # one token, so one budget for the fleet
    assert [s for s in statuses if s != 200] == []  # three processes kept it between them
    assert len(statuses) >= LIMIT  # and sent


@pytest.mark.timeout(120)
def test_a_fleet_sharing_the_file_store_holds_the_pools_tokens_once(emu: Emulator, tmp_path: Path) -> None:
    statuses, tokens = run_paced_fleet(emu, f"file:{tmp_path / 'tokens'}", pool=POOL)
    counters = emu.counters()
    assert counters["token_requests"] == POOL and len(tokens) == POOL  # N tokens for the fleet, not N per process
    # Every token paced to its budget (a loaded machine may delay a paced send past the jitter allowance).
    assert [s for s in statuses if s not in (200, 429)] == [] and statuses.count(429) <= 0.03 * len(statuses)
    assert len(statuses) >= 0.7 * POOL * LIMIT / 1.3 * SECONDS
