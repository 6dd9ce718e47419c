"""The token pool on an injected clock: opened only under waiting demand, never more than N, replaced alone."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Generator

import pytest

from genesys_auth_adapter.engine.budget import Budget
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.flow import Authorize, Send, Verdict, VerdictKind, request_flow
from genesys_auth_adapter.engine.gcra import Lane, LocalBudgets
from genesys_auth_adapter.engine.limits import fingerprint
from genesys_auth_adapter.engine.manager import TokenManager
from genesys_auth_adapter.engine.paced import Learn, Reload, Reserve, Sleep, SlotToken
from genesys_auth_adapter.engine.pacer import Pacer
from genesys_auth_adapter.engine.pacing import PacingPolicy
from genesys_auth_adapter.engine.pool import PoolSlot, TokenPool
from genesys_auth_adapter.engine.retry import Outcome
from genesys_auth_adapter.engine.skew import ClockOffset
from genesys_auth_adapter.engine.slots import Pacing
from genesys_auth_adapter.engine.state import TokenState
from genesys_auth_adapter.engine.token import Token
from genesys_auth_adapter.stores.budget import ThreadedAsyncBudgetStore

from .fakes import FakeFetch, FetchFailed
from .pacing_sim import AUTH, PATH, Server, fleet, run

MINUTE = 60.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall=1_700_000_000.0, monotonic=1000.0)


# -- Which tokens a fleet opens (the flow's pacing steps against a simulated limiter) -----------------------


def test_a_pool_opens_no_token_while_one_serves_the_demand(clock: ManualClock) -> None:
    # One thread at 100 requests a minute, a token paced at 120: every slot is within pool_after.
    clients, _, tokens = fleet(clock, 1, 1, pool=4, gap=0.6, budget=120)
    server = Server(120)
    run(clients, server, clock, clock.wall() + 10 * MINUTE)
    assert tokens.minted == []
    assert server.tokens == {AUTH}
    assert server.refused == []


def test_a_pool_opens_its_tokens_for_demand_the_open_ones_cannot_serve(clock: ManualClock) -> None:
    # 4 processes x 4 threads back to back, 120 requests a minute per token, a pool of 4 shared by the fleet.
    clients, _, tokens = fleet(clock, 4, 4, pool=4, gap=0.005, budget=120)
    server = Server(120, sliding=False)
    start = clock.wall()
    run(clients, server, clock, start + 10 * MINUTE)
    assert len(tokens.minted) == 3 and len(server.tokens) == 4  # slot 0 and three more, for the whole fleet
    assert server.refused == []
    per_minute = server.between(start + MINUTE, start + 10 * MINUTE) / 9
    assert per_minute >= 0.95 * 4 * 120 * 60 / 61  # every token used to its (jitter-spaced) budget
    slots = Counter(slot for c in clients for _, slot in c.sends if _ > start + MINUTE)
    assert sorted(slots) == [0, 1, 2, 3] and min(slots.values()) >= 0.9 * max(slots.values())


def test_a_pool_never_holds_more_tokens_than_its_size(clock: ManualClock) -> None:
    clients, _, tokens = fleet(clock, 8, 8, pool=3, gap=0.001, budget=60)
    server = Server(60)
    run(clients, server, clock, clock.wall() + 5 * MINUTE)
    assert len(server.tokens) == 3 and len(tokens.minted) == 2
    assert server.refused == []


def test_a_pool_learns_first_then_opens_tokens_with_no_429_after_the_first_window(clock: ManualClock) -> None:
    # Nothing configured: the first window teaches the budget (429s on slot 0), then the pool opens.
    clients, _, tokens = fleet(clock, 4, 4, pool=4, gap=0.005)
    server = Server(120)
    start = clock.wall()
    run(clients, server, clock, start + 185)
    assert len(server.tokens) == 4 and len(tokens.minted) == 3
    assert [at - start for c in clients for at, _ in c.throttled if at > start + MINUTE] == []
    assert server.between(start + 65, start + 185) / 2 >= 0.9 * 4 * 120


def test_without_a_budget_a_pool_is_never_opened(clock: ManualClock) -> None:
    # Pacing not engaged (no 429 yet, no rate_limit): the pool is not even consulted.
    clients, _, tokens = fleet(clock, 2, 4, pool=4, gap=0.1)
    server = Server(10_000)
    run(clients, server, clock, clock.wall() + 5 * MINUTE)
    assert tokens.minted == []
    assert len(server.log) >= 5 * 8 * 60 * 9  # about 80 a second, unpaced


# -- The flow: which slot's token is sent, and which is replaced after a 401 -------------------------------


def test_a_401_on_a_pool_token_replaces_that_slot_only_and_the_resend_uses_it(clock: ManualClock) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=60, jitter=0.0), pool=2)
    store = pacer.local
    # Slot 0's token is busy: its next slot is 30 s away, past pool_after.
    busy = Lane(f"t.{fingerprint(AUTH)}", pacer.policy.rate(Budget(60)), 60.0)
    for _ in range(30):
        store.reserve(pacer.scope, (busy,), max_wait=120.0)
    flow = request_flow(
        "GET",
        policy=None,
        clock=clock,
        offset=ClockOffset(),
        what=lambda: "GET /api/v2/users",
        pacer=pacer,
        path=lambda: PATH,
    )
    slot_token = "Bearer pool-slot-1-a"
    replacement = Token(
        "pool-slot-1-b", "Bearer pool-slot-1-b", 2, clock.monotonic(), None, None, minted_at=clock.monotonic()
    )
    sent: list[str | None] = []
    asked: list[object] = []
    verdict = _drive(flow, clock, store, sent, asked, {1: slot_token}, replacement)
    assert verdict.kind is VerdictKind.DELIVER
    assert sent == [slot_token, "Bearer pool-slot-1-b"]  # sent on slot 1, re-sent with slot 1's new token
    rejections = [c for c in asked if isinstance(c, (Authorize, SlotToken)) and c.rejected is not None]
    assert rejections == [SlotToken(1, True, slot_token, None)]  # slot 1's token, not slot 0's


def _drive(
    flow: Generator[object, object, Verdict],
    clock: ManualClock,
    store: LocalBudgets,
    sent: list[str | None],
    asked: list[object],
    held: dict[int, str],
    replacement: Token,
) -> Verdict:
    result: object = None
    while True:
        try:
            command = flow.send(result)
        except StopIteration as stop:
            verdict: Verdict = stop.value
            return verdict
        asked.append(command)
        if isinstance(command, Authorize):
            result = AUTH if command.rejected is None else Token("other", "Bearer other", 9, 0.0, None, None)
        elif isinstance(command, SlotToken):
            if command.rejected is not None:
                result = replacement
            else:
                result = held.get(command.slot) if not command.open else held.setdefault(command.slot, "x")
        elif isinstance(command, Send):
            sent.append(command.authorization)
            status = 401 if len(sent) == 1 else 200
            result = Outcome(status=status, sent_wall=clock.wall(), received_wall=clock.wall(), carried=True)
        elif isinstance(command, Sleep):
            clock.advance(command.seconds)
            result = None
        elif isinstance(command, Reserve):
            result = store.reserve("local", command.lanes, max_wait=command.max_wait)
        elif isinstance(command, Learn):
            result = store.learn("local", command.lesson)
        elif isinstance(command, Reload):
            result = store.budgets("local")
        else:
            result = True  # Rewind


# -- The pool object: slots opened lazily, a rejection replaces one slot ---------------------------------


def _pool(clock: ManualClock, size: int) -> tuple[TokenPool, dict[int, FakeFetch]]:
    fetches = {0: FakeFetch()}
    main = TokenManager(fetches[0], state=TokenState(clock=clock))

    def open_slot(index: int) -> PoolSlot:
        fetches[index] = FakeFetch()
        state = TokenState(clock=clock, offset=main.offset)
        return PoolSlot(TokenManager(fetches[index], state=state))

    return TokenPool(size, PoolSlot(main), open_slot), fetches


def test_a_slot_is_opened_only_when_asked_to(clock: ManualClock) -> None:
    pool, fetches = _pool(clock, 3)
    assert pool.held(1) is None and pool.opened == 1  # asking without opening requests nothing
    assert pool.header(0) == "Bearer token-1"
    assert pool.header(2) == "Bearer token-1"  # slot 2's own first token
    assert pool.opened == 2 and pool.held(2) == "Bearer token-1" and pool.held(1) is None
    assert {k: f.calls for k, f in fetches.items()} == {0: 1, 2: 1}


def test_a_rejected_pool_token_is_replaced_alone(clock: ManualClock) -> None:
    pool, fetches = _pool(clock, 3)
    first = [pool.header(k) for k in range(3)]
    replacement = pool.rejected(1, first[1])
    assert replacement.header == "Bearer token-2"
    assert [pool.held(k) for k in range(3)] == [first[0], "Bearer token-2", first[2]]
    assert {k: f.calls for k, f in fetches.items()} == {0: 1, 1: 2, 2: 1}
    assert pool.slot_of(replacement.header) == 1


def test_threads_opening_one_slot_at_once_make_one_token_request(clock: ManualClock) -> None:
    pool, fetches = _pool(clock, 2)
    start = threading.Barrier(8, timeout=10)
    headers: list[str] = []

    def open_it() -> None:
        start.wait()
        headers.append(pool.header(1))

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert set(headers) == {"Bearer token-1"} and len(headers) == 8
    assert fetches[1].calls == 1


def test_a_pool_has_no_slot_beyond_its_size(clock: ManualClock) -> None:
    pool, _ = _pool(clock, 2)
    with pytest.raises(IndexError, match="a pool of 2 has no slot 2"):
        pool.header(2)


def test_the_pool_never_shows_a_token(clock: ManualClock) -> None:
    pool, _ = _pool(clock, 2)
    pool.header(1)
    assert "token-1" not in repr(pool)
    assert "secret-value" not in repr(SlotToken(1, True, "Bearer secret-value", None))


def test_a_slot_that_cannot_be_opened_leaves_the_request_to_the_open_tokens(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    pacer = Pacer(clock, PacingPolicy(budget=60, jitter=0.0), pool=2)
    busy = Lane(f"t.{fingerprint(AUTH)}", pacer.policy.rate(Budget(60)), 60.0)
    for _ in range(5):
        pacer.local.reserve(pacer.scope, (busy,), max_wait=120.0)
    main = FakeFetch()
    failing = FakeFetch()
    failing.error = FetchFailed("the login service said no")

    def open_slot(_: int) -> PoolSlot:
        return PoolSlot(TokenManager(failing, state=TokenState(clock=clock)))

    pool = TokenPool(2, PoolSlot(TokenManager(main, state=TokenState(clock=clock))), open_slot)
    pacing = Pacing(pacer, pacer.local, ThreadedAsyncBudgetStore(pacer.local), pool)
    assert pacing.carry(SlotToken(1)) is None
    assert "Could not open token 1 of the token pool (the login service said no)" in caplog.text
    began = clock.monotonic()
    flow = request_flow(
        "GET", policy=None, clock=clock, offset=ClockOffset(), what=lambda: "GET", pacer=pacer, path=lambda: PATH
    )
    sent: list[str | None] = []
    result: object = None
    while True:
        try:
            command = flow.send(result)
        except StopIteration:
            break
        if isinstance(command, Authorize):
            result = AUTH
        elif isinstance(command, Send):
            sent.append(command.authorization)
            result = Outcome(status=200, sent_wall=clock.wall(), received_wall=clock.wall())
        elif isinstance(command, Sleep):
            clock.advance(command.seconds)
            result = None
        else:
            result = pacing.carry(command)
    assert sent == [AUTH]  # on slot 0, after its wait
    assert clock.monotonic() - began == pytest.approx(5.0)
    assert failing.calls == 2 and main.calls == 0  # one failed opening each time; slot 0's token was given
