"""The GCRA as a pure function, and LocalBudgets: one process's lanes and budgets (engine/gcra.py)."""

from __future__ import annotations

import threading

import pytest

from genesys_auth_adapter.engine.budget import HOLD, Budget, Rate, Source, Told
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.gcra import (
    MAX_AHEAD,
    Hold,
    Lane,
    LaneState,
    Lesson,
    LocalBudgets,
    hold,
    reserve,
)

FIVE_PER_SECOND = Lane("t.a", Rate(0.2), 1.0)  # 5 requests per second, one every 0.2 s


def take(now: float, state: LaneState | None, lane: Lane = FIVE_PER_SECOND, max_wait: float = 60.0) -> LaneState:
    slot = reserve(now, [state], [lane], max_wait)
    assert slot.states is not None
    return slot.states[0]


def test_a_fresh_lane_gives_its_first_slot_now_and_spaces_the_next_ones() -> None:
    state, waits = None, []
    for _ in range(4):
        slot = reserve(100.0, [state], [FIVE_PER_SECOND], 60.0)
        assert slot.states is not None
        waits.append(round(slot.wait, 9))
        state = slot.states[0]
    assert waits == [0.0, 0.2, 0.4, 0.6]
    assert state.tat == pytest.approx(100.8)


def test_a_lane_idle_for_a_while_gives_a_slot_at_once_and_no_credit_beyond_its_tolerance() -> None:
    state = take(100.0, None)
    slot = reserve(150.0, [state], [FIVE_PER_SECOND], 60.0)
    assert (slot.wait, slot.binding) == (0.0, None)
    assert slot.states is not None and slot.states[0].tat == pytest.approx(150.2)  # not 100.4: no saved credit


def test_a_tolerance_lets_a_burst_through_then_spaces() -> None:
    burst = Lane("t.b", Rate(0.2, 0.4), 1.0)  # three back to back
    state, waits = None, []
    for _ in range(5):
        slot = reserve(100.0, [state], [burst], 60.0)
        assert slot.states is not None
        state = slot.states[0]
        waits.append(round(slot.wait, 9))
    assert waits == [0.0, 0.0, 0.0, 0.2, 0.4]


def test_a_wait_past_max_wait_is_refused_and_takes_nothing() -> None:
    state = take(100.0, take(100.0, None))  # the next slot is 0.4 s away
    slot = reserve(100.0, [state], [FIVE_PER_SECOND], max_wait=0.3)
    assert not slot.granted
    assert slot.states is None
    assert slot.wait == pytest.approx(0.4)
    assert slot.binding == 0
    again = reserve(100.0, [state], [FIVE_PER_SECOND], max_wait=0.41)  # the same slot is still there
    assert again.granted and again.wait == pytest.approx(0.4)


def test_a_nan_max_wait_refuses() -> None:
    assert not reserve(100.0, [take(100.0, None)], [FIVE_PER_SECOND], float("nan")).granted


def test_several_lanes_go_at_the_latest_slot_and_each_is_charged_at_that_time() -> None:
    token = Lane("t.a", Rate(0.2), 60.0)
    family = Lane("l.f", Rate(3.0), 60.0)  # 20 per minute on the endpoint family
    slot = reserve(100.0, [LaneState(100.5), LaneState(102.0)], [token, family], 60.0)
    assert slot.wait == pytest.approx(2.0)
    assert slot.binding == 1
    assert slot.states is not None
    assert [round(s.tat, 9) for s in slot.states] == [102.2, 105.0]  # the token's slot is at 102, not 100.5


def test_a_hold_lets_nothing_through_before_it_ends_and_keeps_a_later_slot() -> None:
    held = hold(100.0, None, 42.0)
    assert reserve(100.0, [held], [FIVE_PER_SECOND], 60.0).wait == pytest.approx(42.0)
    assert hold(100.0, LaneState(200.0), 42.0).tat == 200.0
    assert reserve(100.0, [hold(100.0, None, 5.0)], [Lane("t.h", HOLD, 60.0)], 60.0).wait == pytest.approx(5.0)


@pytest.mark.parametrize("tat", [100.0 + MAX_AHEAD + 1, float("nan")])
def test_a_lane_due_impossibly_far_ahead_starts_afresh(tat: float) -> None:
    # A record written before a reboot (the monotonic clock restarted) must not stall requests for hours.
    slot = reserve(100.0, [LaneState(tat)], [FIVE_PER_SECOND], 60.0)
    assert slot.granted and slot.wait == 0.0


def test_a_lane_counts_its_slots_per_window_and_reports_the_last_complete_one() -> None:
    state = None
    for step in range(12):  # 4 slots in window 100 (seconds 100-101), 5 in 101, 3 in 102
        now = 100.0 + (0.25 * step if step < 4 else 1.0 + 0.2 * (step - 4) if step < 9 else 2.0 + 0.3 * (step - 9))
        slot = reserve(now, [state], [FIVE_PER_SECOND], 60.0)
        assert slot.states is not None
        state = slot.states[0]
    assert (state.epoch, state.count, state.previous) == (102, 3, 5)
    assert slot.used == (5,)
    later = reserve(110.0, [state], [FIVE_PER_SECOND], 60.0)  # windows later: nothing in the last one
    assert later.used == (0,)


def test_local_budgets_pace_lanes_per_scope() -> None:
    clock = ManualClock(monotonic=1000.0)
    budgets = LocalBudgets(clock)
    assert budgets.reserve("a", [FIVE_PER_SECOND], max_wait=60).wait == 0.0
    assert budgets.reserve("a", [FIVE_PER_SECOND], max_wait=60).wait == pytest.approx(0.2)
    assert budgets.reserve("b", [FIVE_PER_SECOND], max_wait=60).wait == 0.0  # another client's lanes
    clock.advance(0.5)
    assert budgets.reserve("a", [FIVE_PER_SECOND], max_wait=60).wait == 0.0


def test_local_budgets_learn_holds_and_budgets_and_report_newer_revisions() -> None:
    clock = ManualClock(monotonic=1000.0)
    budgets = LocalBudgets(clock)
    lesson = Lesson((Hold("t.a", 30.0),), (("token", Told(300, 60.0, "token.rate.per.minute", None, 5.0)),))
    learned = budgets.learn("a", lesson)
    assert learned == {"token": Budget(300, 60.0, Source.LIMIT, "token.rate.per.minute", revision=1, episode=5.0)}
    assert budgets.budgets("a") == learned and budgets.budgets("b") == {}
    paced = Lane("t.a", Rate(0.2), 60.0, budget="token", revision=0)
    reservation = budgets.reserve("a", [paced], max_wait=60)
    assert reservation.wait == pytest.approx(30.0)  # the hold
    assert reservation.budgets == learned  # the asker knew revision 0: it is told of revision 1
    known = Lane("t.a", Rate(0.2), 60.0, budget="token", revision=1)
    assert budgets.reserve("a", [known], max_wait=60).budgets == {}


def test_threads_reserving_at_once_never_get_more_slots_per_window_than_the_budget() -> None:
    clock = ManualClock(monotonic=1000.0)  # frozen: every thread asks at the same instant
    budgets = LocalBudgets(clock)
    lane = Lane("t.a", Rate.of(Budget(10, 1.0)), 1.0)
    threads, rounds = 8, 25
    barrier = threading.Barrier(threads)
    slots: list[float] = []
    guard = threading.Lock()

    def work() -> None:
        barrier.wait(10)
        for _ in range(rounds):
            reservation = budgets.reserve("a", [lane], max_wait=1e6)
            with guard:
                slots.append(reservation.at)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert len(slots) == threads * rounds
    slots.sort()
    assert len(set(slots)) == len(slots)  # no slot given twice
    assert max(sum(1 for s in slots if start <= s < start + 1.0 - 1e-9) for start in slots) == 10
