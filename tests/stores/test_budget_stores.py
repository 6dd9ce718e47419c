"""The budget stores (memory, file, Redis): one behaviour, atomic across threads and processes, safe on failure."""

from __future__ import annotations

import bisect
import json
import logging
import multiprocessing
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from genesys_auth_adapter.engine.budget import HOLD, Budget, Counted, Probe, Rate, Source, Told
from genesys_auth_adapter.engine.clock import SYSTEM_CLOCK, Clock, ManualClock
from genesys_auth_adapter.engine.gcra import Hold, Lane, Lesson, LocalBudgets
from genesys_auth_adapter.stores.budget import BudgetStore, FallbackBudgetStore, MemoryBudgetStore
from genesys_auth_adapter.stores.file import FileTokenStore
from genesys_auth_adapter.stores.redis import RedisTokenStore

from . import budget_workers
from .conftest import OwnRedis

SCOPE = "0123456789abcdef0123456789abcdef01234567"
KEY = "client.credentials.token.rate.per.minute"
TOKEN = Lane("t.3fa9c2d1e0b4a7f6", Rate(0.2), 1.0, "token", 0)  # 5 per second
FAMILY = Lane("l.9e8d7c6b5a4f3e2d", Rate(0.5, 0.5), 1.0, "l.9e8d7c6b5a4f3e2d", 0)  # 2 per second, 2 at once


@pytest.fixture(params=["memory", "file", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[Clock], BudgetStore]]:
    """Builds the ``kind`` budget store on a given clock (several share one place, like processes)."""
    made: list[BudgetStore] = []

    def make(clock: Clock) -> BudgetStore:
        store: BudgetStore
        if kind == "memory":
            store = made[0] if made else MemoryBudgetStore(clock)
        elif kind == "file":
            store = FileTokenStore(tmp_path / "tokens").budgets(clock=clock)
        else:
            url, prefix = request.getfixturevalue("shared_redis"), request.getfixturevalue("prefix")
            store = RedisTokenStore(url, prefix=prefix).budgets(clock=clock)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def test_every_store_answers_a_scripted_run_exactly_as_the_pure_arithmetic_does(
    make_store: Callable[[Clock], BudgetStore],
) -> None:
    clock, reference_clock = ManualClock(monotonic=5000.0), ManualClock(monotonic=5000.0)
    store, reference = make_store(clock), LocalBudgets(reference_clock)
    script: list[tuple[str, float, Any]] = [
        ("reserve", 0.0, [TOKEN]),
        ("reserve", 0.0, [TOKEN, FAMILY]),
        ("reserve", 0.05, [TOKEN, FAMILY]),
        ("reserve", 0.0, [FAMILY]),
        ("refuse", 0.0, [TOKEN, FAMILY]),  # max_wait 0.1: too far, nothing taken
        ("hold", 0.3, Hold(TOKEN.name, 2.5)),
        ("reserve", 0.0, [TOKEN, FAMILY]),
        ("reserve", 1.7, [TOKEN]),
        ("reserve", 3.1, [FAMILY, TOKEN]),
        ("reserve", 0.0, [Lane("t.other", HOLD, 1.0)]),
    ]
    for step in range(4):  # and a busy stretch: the slot counts per window, as probing reads them
        script += [("reserve", 0.15, [TOKEN])] * (5 + step)
    answers: list[tuple[Any, ...]] = []
    for action, advance, what in script:
        clock.advance(advance)
        reference_clock.advance(advance)
        for target, out in ((store, answers), (reference, None)):
            if action == "hold":
                result: Any = target.learn(SCOPE, Lesson(holds=(what,)))
            else:
                reservation = target.reserve(SCOPE, what, max_wait=0.1 if action == "refuse" else 60.0)
                result = (round(reservation.wait, 6), reservation.granted, reservation.binding, reservation.used)
            if out is None:
                assert answers[-1] == result, f"{action} after {advance} s"
            else:
                out.append(result)
    assert [a for a in answers if len(a) == 4 and not a[1]] == [(1.15, False, 1, ())]
    assert any(a[3] and a[3][0] > 0 for a in answers if len(a) == 4)  # the window counts were compared too


def test_a_store_applies_events_and_tells_an_asker_the_budgets_it_does_not_know(
    make_store: Callable[[Clock], BudgetStore],
) -> None:
    store = make_store(ManualClock())
    assert store.budgets(SCOPE) == {}
    learned = store.learn(SCOPE, Lesson(events=(("token", Told(300, 60.0, KEY, None, 1e9)),)))
    budget = Budget(300, 60.0, Source.LIMIT, KEY, revision=1, episode=1e9)
    assert learned == {"token": budget}
    assert store.budgets(SCOPE) == {"token": budget}
    assert store.reserve(SCOPE, [TOKEN], max_wait=60).budgets == {"token": budget}  # TOKEN knows revision 0
    knows = Lane(TOKEN.name, TOKEN.rate, 1.0, "token", 1)
    assert store.reserve(SCOPE, [knows], max_wait=60).budgets == {}
    raised = store.learn(SCOPE, Lesson(events=(("token", Probe(1, 360, 60)),)))
    assert raised["token"].requests == 360 and raised["token"].revision == 2
    stale = store.learn(SCOPE, Lesson(events=(("token", Probe(1, 420, 60)),)))  # from the old revision
    assert stale["token"].requests == 360
    assert store.budgets("another-scope") == {}


def test_counts_of_one_window_add_up_in_every_store(make_store: Callable[[Clock], BudgetStore]) -> None:
    first, second = make_store(ManualClock()), make_store(ManualClock())  # two processes, one place
    first.learn(SCOPE, Lesson(events=(("token", Counted(120, 200, 60.0, None, None, 1e9)),)))
    learned = second.learn(SCOPE, Lesson(events=(("token", Counted(100, 150, 60.0, None, None, 1e9 + 1)),)))
    assert learned["token"].requests == 220
    assert first.budgets(SCOPE)["token"] == learned["token"]


def test_a_refused_reservation_takes_nothing_in_any_store(make_store: Callable[[Clock], BudgetStore]) -> None:
    clock = ManualClock()
    store = make_store(clock)
    store.learn(SCOPE, Lesson(holds=(Hold(TOKEN.name, 30.0),)))
    for _ in range(3):
        refused = store.reserve(SCOPE, [TOKEN, FAMILY], max_wait=29.0)
        assert not refused.granted and refused.wait == pytest.approx(30.0) and refused.binding == 0
    assert store.reserve(SCOPE, [FAMILY], max_wait=0).wait == 0.0  # the family lane was never charged
    granted = store.reserve(SCOPE, [TOKEN], max_wait=30.5)
    assert granted.granted and granted.wait == pytest.approx(30.0)


def test_threads_reserving_at_once_never_get_more_than_the_budget_in_any_window(
    make_store: Callable[[Clock], BudgetStore],
) -> None:
    store = make_store(SYSTEM_CLOCK)
    threads, rounds = 6, 20
    barrier = threading.Barrier(threads)
    slots: list[float] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work() -> None:
        try:
            barrier.wait(10)
            for _ in range(rounds):
                reservation = store.reserve(SCOPE, [budget_workers.LANE], max_wait=1000.0)
                with guard:
                    slots.append(reservation.at)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert errors == []
    assert_paced(slots, threads * rounds)


def assert_paced(slots: list[float], expected: int) -> None:
    """Every slot given once, and at most the lane's budget (10) in any window of its length (1 s)."""
    assert len(slots) == expected
    slots = sorted(slots)
    assert len(set(slots)) == len(slots)
    most = max(bisect.bisect_left(slots, start + 1.0 - 1e-6) - i for i, start in enumerate(slots))
    assert most == 10


@pytest.fixture(params=["file", "redis"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, str]:
    """A store processes share: (kind, where, prefix)."""
    if request.param == "file":
        return "file", str(tmp_path / "tokens"), ""
    return "redis", request.getfixturevalue("shared_redis"), request.getfixturevalue("prefix")


def test_processes_reserving_at_once_never_get_more_than_the_budget_in_any_window(
    shared: tuple[str, str, str], tmp_path: Path
) -> None:
    kind, where, prefix = shared
    processes, rounds = 4, 25
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    outs = [tmp_path / f"slots-{n}.json" for n in range(processes)]
    children = [
        spawn.Process(target=budget_workers.reserve_slots, args=(kind, where, prefix, rounds, barrier, str(out)))
        for out in outs
    ]
    run_children(children)
    assert_paced([at for out in outs for at in json.loads(out.read_text())], processes * rounds)


def test_processes_learning_at_once_lose_no_count(shared: tuple[str, str, str]) -> None:
    kind, where, prefix = shared
    processes, rounds = 4, 10
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    children = [
        spawn.Process(target=budget_workers.report_counts, args=(kind, where, prefix, rounds, barrier))
        for _ in range(processes)
    ]
    run_children(children)
    store = budget_workers.open_store(kind, where, prefix)
    budget = store.budgets(budget_workers.SCOPE)["token"]
    assert (budget.counted, budget.requests, budget.revision) == (processes * rounds * 10, 400, processes * rounds)


def run_children(children: list[Any]) -> None:
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    codes = [child.exitcode for child in children]
    for child in children:
        if child.is_alive():
            child.kill()
    assert codes == [0] * len(children)


def test_redis_keys_name_tokens_by_fingerprint_and_expire_with_their_window(
    shared_redis: str, prefix: str, raw: Any
) -> None:
    store = RedisTokenStore(shared_redis, prefix=prefix).budgets()
    store.reserve(SCOPE, [TOKEN], max_wait=60)
    store.learn(SCOPE, Lesson(holds=(Hold("t.held", 20.0),), events=(("token", Told(300, 60.0, KEY, None, 1e9)),)))
    keys = sorted(k.decode() for k in raw.scan_iter(match=f"{prefix}:*"))
    assert keys == [
        f"{prefix}:budgets:{SCOPE}",
        f"{prefix}:pace:{SCOPE}:t.3fa9c2d1e0b4a7f6",
        f"{prefix}:pace:{SCOPE}:t.held",
    ]
    assert 0 < raw.pttl(f"{prefix}:pace:{SCOPE}:t.3fa9c2d1e0b4a7f6") <= 4000  # the slot, two 1 s windows, a margin
    assert 20000 < raw.pttl(f"{prefix}:pace:{SCOPE}:t.held") <= 21000  # the hold, and a margin
    assert 0 < raw.ttl(f"{prefix}:budgets:{SCOPE}") <= 24 * 3600


def test_redis_ignores_a_stored_budget_that_is_not_one(shared_redis: str, prefix: str, raw: Any) -> None:
    store = RedisTokenStore(shared_redis, prefix=prefix).budgets()
    raw.hset(f"{prefix}:budgets:{SCOPE}", mapping={"token": "{not json", "other": json.dumps({"requests": 0})})
    assert store.budgets(SCOPE) == {}
    assert store.reserve(SCOPE, [TOKEN], max_wait=60).budgets == {}
    learned = store.learn(SCOPE, Lesson(events=(("token", Told(300, 60.0, KEY, None, 1e9)),)))
    assert learned["token"].requests == 300  # a later learn replaces it


def test_the_file_record_is_private_and_a_corrupt_one_starts_afresh_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="genesys_auth_adapter.store")
    clock = ManualClock()
    store = FileTokenStore(tmp_path / "tokens").budgets(clock=clock)
    store.learn(SCOPE, Lesson(events=(("token", Told(300, 60.0, KEY, None, 1e9)),)))
    record = tmp_path / "tokens" / f"{SCOPE}.pace.json"
    if os.name == "posix":
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
    record.write_bytes(b'{"lanes": {"t.x": [1, 2')  # torn by a crash
    for _ in range(2):
        assert store.budgets(SCOPE) == {}
        assert store.reserve(SCOPE, [TOKEN], max_wait=60).granted
        record.write_bytes(b"\x00garbage")
    assert len([r for r in caplog.records if "unusable" in r.getMessage()]) == 1


def test_the_file_store_forgets_lanes_written_before_a_reboot(tmp_path: Path) -> None:
    before = ManualClock(wall=1_700_000_000.0, monotonic=1000.0)  # up for a quarter of an hour
    FileTokenStore(tmp_path / "tokens").budgets(clock=before).learn(SCOPE, Lesson(holds=(Hold(TOKEN.name, 50.0),)))
    after = ManualClock(wall=1_700_000_100.0, monotonic=30.0)  # rebooted: the monotonic clock started again
    store = FileTokenStore(tmp_path / "tokens").budgets(clock=after)
    assert store.reserve(SCOPE, [TOKEN], max_wait=60).wait == 0.0
    same_boot = FileTokenStore(tmp_path / "tokens").budgets(clock=before)
    same_boot.learn(SCOPE, Lesson(holds=(Hold(TOKEN.name, 50.0),)))
    before.advance(10.0)
    assert same_boot.reserve(SCOPE, [TOKEN], max_wait=60).wait == pytest.approx(40.0)


def test_a_failing_shared_store_means_local_pacing_and_one_warning_until_it_answers_again(
    own_redis: Callable[..., OwnRedis], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="genesys_auth_adapter.store")
    server = own_redis()
    clock = ManualClock()
    tokens = RedisTokenStore(server.url())
    local = LocalBudgets(clock)
    store = FallbackBudgetStore(tokens.budgets(), local, clock=clock)
    try:
        store.learn(SCOPE, Lesson(events=(("token", Told(300, 60.0, KEY, None, 1e9)),)))
        assert local.budgets(SCOPE) == {}  # it went to Redis
        server.stop()
        answers = [store.reserve(SCOPE, [TOKEN], max_wait=60) for _ in range(3)]
        assert [round(a.wait, 6) for a in answers] == [0.0, 0.2, 0.4]  # paced locally, on the local lane
        assert store.down
        assert store.learn(SCOPE, Lesson(events=(("token", Told(250, 60.0, KEY, None, 2e9)),)))["token"].requests == 250
        clock.advance(5.0)
        assert store.reserve(SCOPE, [TOKEN], max_wait=60).granted  # Redis asked again, still down: local
        outage = [r.getMessage() for r in caplog.records if "not usable" in r.getMessage()]
        assert len(outage) == 1 and f"127.0.0.1:{server.port}" in outage[0]
        server.start()
        assert store.budgets(SCOPE)["token"].requests == 250  # still local: a dead store costs one try per pause
        clock.advance(5.0)
        assert store.budgets(SCOPE) == {}  # the restarted Redis is empty, and it is Redis that answered
        assert not store.down
        assert any("answers again" in r.getMessage() for r in caplog.records)
    finally:
        tokens.close()
