"""ManualClock: the hand-driven clock every engine test relies on."""

from __future__ import annotations

import threading
import time

import pytest

from genesys_auth_adapter.engine.clock import ManualClock, SystemClock


def test_manual_clock_starts_at_the_given_readings() -> None:
    """Pins: the constructor arguments set the two readings independently."""
    clock = ManualClock(wall=5_000.0, monotonic=7.0)
    assert clock.wall() == 5_000.0
    assert clock.monotonic() == 7.0


def test_advance_moves_both_readings_by_the_same_amount() -> None:
    """Pins: advance() is elapsed time, seen by both the wall and the monotonic clock."""
    clock = ManualClock(wall=100.0, monotonic=10.0)
    clock.advance(2.5)
    clock.advance(0.5)
    assert clock.wall() == 103.0
    assert clock.monotonic() == 13.0


@pytest.mark.parametrize("step", [3600.0, -3600.0])
def test_jump_wall_moves_only_the_wall_clock(step: float) -> None:
    """Pins: an NTP step (either direction) leaves the monotonic reading untouched."""
    clock = ManualClock(wall=100_000.0, monotonic=10.0)
    clock.jump_wall(step)
    assert clock.wall() == 100_000.0 + step
    assert clock.monotonic() == 10.0


def test_sleep_advances_the_clock_instead_of_blocking() -> None:
    """Pins: code that sleeps on a ManualClock runs instantly and sees the time pass."""
    clock = ManualClock(wall=100.0, monotonic=10.0)
    clock.sleep(30.0)
    assert (clock.wall(), clock.monotonic()) == (130.0, 40.0)


def test_sleep_with_a_negative_duration_does_not_go_back_in_time() -> None:
    """Pins: a negative computed delay must not move a monotonic clock backwards."""
    clock = ManualClock(wall=100.0, monotonic=10.0)
    clock.sleep(-5.0)
    assert (clock.wall(), clock.monotonic()) == (100.0, 10.0)


def test_system_clock_monotonic_never_goes_back() -> None:
    """Pins: SystemClock reads a monotonic source (and sleep(0) returns at once)."""
    clock = SystemClock()
    first = clock.monotonic()
    clock.sleep(0)
    assert clock.monotonic() >= first
    assert clock.wall() > 1_600_000_000


@pytest.mark.parametrize("seconds", [float("inf"), threading.TIMEOUT_MAX, 1e300])
def test_system_clock_sleep_is_bounded(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Pins: time.sleep(inf) or TIMEOUT_MAX raising OverflowError/OSError out of a retry wait."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    SystemClock().sleep(seconds)
    SystemClock().sleep(float("nan"))  # NaN is no wait at all, not a ValueError from time.sleep
    assert len(asked) == 1
    assert 0 < asked[0] <= threading.TIMEOUT_MAX / 2
