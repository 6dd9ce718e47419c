"""A fleet of real (spawned) processes sharing one token's rate budget through the file store.

The same through Redis: ``tests/stores/test_redis_paced_fleet.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

from .fleet import LIMIT, run_paced_fleet


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory(rate_limit=LIMIT, rate_window=1.0)


@pytest.mark.timeout(120)
def test_a_fleet_sharing_the_file_store_shares_one_budget(emu: Emulator, tmp_path: Path) -> None:
    statuses = run_paced_fleet(emu, f"file:{tmp_path / 'tokens'}")
    assert emu.counters()["token_requests"] == 1  # one token, so one budget for the fleet
    assert [s for s in statuses if s != 200] == []  # three processes kept it between them
    assert len(statuses) >= LIMIT  # and sent
