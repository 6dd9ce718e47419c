"""A fleet of real (spawned) processes sharing one token's rate budget through Redis."""

from __future__ import annotations

from typing import Callable

import pytest
from shared_store.fleet import LIMIT, POOL, SECONDS, run_paced_fleet

from genesys_auth_adapter.emulator import Emulator


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory(rate_limit=LIMIT, rate_window=1.0)


@pytest.mark.timeout(120)
def test_a_fleet_sharing_redis_shares_one_budget(emu: Emulator, shared_redis: str, prefix: str) -> None:
    statuses, _ = run_paced_fleet(emu, ("redis", shared_redis, prefix))
    assert emu.counters()["token_requests"] == 1  # one token, so one budget for the fleet
    assert [s for s in statuses if s != 200] == []  # three processes kept it between them
    assert len(statuses) >= LIMIT  # and sent


@pytest.mark.timeout(120)
def test_a_fleet_sharing_redis_holds_the_pools_tokens_once(emu: Emulator, shared_redis: str, prefix: str) -> None:
    statuses, tokens = run_paced_fleet(emu, ("redis", shared_redis, prefix), pool=POOL)
    counters = emu.counters()
    assert counters["token_requests"] == POOL and len(tokens) == POOL  # N tokens for the fleet, not N per process
    # Every token paced to its budget (a loaded machine may delay a paced send past the jitter allowance).
    assert [s for s in statuses if s not in (200, 429)] == [] and statuses.count(429) <= 0.03 * len(statuses)
    assert len(statuses) >= 0.7 * POOL * LIMIT / 1.3 * SECONDS
