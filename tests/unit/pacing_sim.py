"""A simulated Genesys rate limiter and clients that pace against it, on a ManualClock (no sleeps, no I/O).

Each client does what the request flow does around each send, with the flow's own pacing steps
(:func:`~genesys_auth_adapter.engine.paced.pace` and :func:`~genesys_auth_adapter.engine.paced.learn`):
it carries out their commands against the fleet's budget store (the clock advances for a sleep), sends,
then counts the answer or learns from the 429. The server keeps the log of admitted requests of each
token and refuses the one that would put more than ``limit`` in a window of ``window`` seconds, the way the
strictest limiter would: sliding (any window) or fixed (calendar windows).

Clients that share a :class:`~genesys_auth_adapter.engine.pacer.Pacer` are the threads of one process;
pacers that share a store are a fleet. A :class:`Tokens` stands for the token store and login service of a
token pool: slot ``k``'s token is minted once for the whole fleet (each process opens its slots itself).
"""

from __future__ import annotations

import bisect
import json
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from genesys_auth_adapter.engine.budget import Budget
from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.gcra import LocalBudgets
from genesys_auth_adapter.engine.paced import Chosen, Learn, Refusal, Reload, Reserve, Sleep, SlotToken, learn, pace
from genesys_auth_adapter.engine.pacer import Pacer
from genesys_auth_adapter.engine.pacing import PacingPolicy
from genesys_auth_adapter.engine.retry import Outcome

AUTH = "Bearer token-of-the-simulation"
PATH = "/api/v2/users"
TOKEN_KEY = "client.credentials.token.rate.per.minute"


def throttle_body(limit: int | None, key: str = TOKEN_KEY) -> str:
    """A 429 body as Genesys sends it, with the ``limit`` object when ``limit`` is given."""
    body: dict[str, object] = {
        "message": "Rate limit exceeded the maximum. Retry the request in [3] seconds",
        "code": "too.many.requests.retry.after",
        "status": 429,
    }
    if limit is not None:
        body["limit"] = {"key": key, "namespace": "oauth.client", "value": limit}
    return json.dumps(body)


@dataclass
class Server:
    """Each token's limit: at most ``limit`` admitted requests in any (sliding) or each (fixed) window."""

    limit: int
    window: float = 60.0
    sliding: bool = True
    states_limit: bool = True  # the 429 body carries the limit object
    admitted: dict[str, deque[float]] = field(default_factory=dict)
    refused: list[float] = field(default_factory=list)
    log: list[float] = field(default_factory=list)  # every admitted request, of every token
    tokens: set[str] = field(default_factory=set)  # every token that sent a request

    def most_in_a_window(self, since: float) -> int:
        """The most requests admitted in any span of ``window`` seconds from ``since`` on."""
        times = [t for t in self.log if t >= since]
        return max((bisect.bisect_left(times, t + self.window) - i for i, t in enumerate(times)), default=0)

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.log if start <= t < end)

    def handle(self, now: float, token: str = AUTH) -> int | float:
        """200 (admitted), or the ``Retry-After`` of a 429 in seconds."""
        self.tokens.add(token)
        admitted = self.admitted.setdefault(token, deque())
        if self.sliding:
            while admitted and admitted[0] <= now - self.window:
                admitted.popleft()
            retry_after = (admitted[0] + self.window - now) if admitted else 0.0
        else:
            start = math.floor(now / self.window) * self.window
            while admitted and admitted[0] < start:
                admitted.popleft()
            retry_after = start + self.window - now
        if len(admitted) < self.limit:
            admitted.append(now)
            self.log.append(now)
            return 200
        self.refused.append(now)
        return max(1, math.ceil(retry_after))


@dataclass
class Tokens:
    """The token store and login service of a pool: one token per slot for the fleet, minted when first opened."""

    minted: list[str] = field(default_factory=list)
    slots: dict[int, str] = field(default_factory=dict)

    def slot(self, index: int) -> str:
        if index == 0:
            return AUTH
        if index not in self.slots:
            self.slots[index] = f"Bearer pool-token-{index}-{len(self.minted)}"
            self.minted.append(self.slots[index])
        return self.slots[index]


@dataclass
class Client:
    """One thread sending back to back, one request every ``gap`` seconds at most, through a pacer.

    Its budget store is the fleet's (``store``), or its pacer's own when none is given. With ``tokens``, its
    process has a token pool of ``pacer.pool`` slots (``opened``: the slots its process opened, shared by
    the clients of one pacer).
    """

    pacer: Pacer
    store: LocalBudgets
    gap: float = 0.01
    tokens: Tokens | None = None
    opened: dict[int, str] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)
    #: Each 429: when, and the budget the request had been paced by (None: none yet).
    throttled: list[tuple[float, Budget | None]] = field(default_factory=list)
    #: Each send: when, and the pool slot it went on.
    sends: list[tuple[float, int]] = field(default_factory=list)

    def carry(self, command: object) -> object:
        """A pacing command, as a driver carries it out (but for sleeps, which the caller turns into time)."""
        scope = self.pacer.scope
        if isinstance(command, Reserve):
            return self.store.reserve(scope, command.lanes, max_wait=command.max_wait)
        if isinstance(command, Learn):
            return self.store.learn(scope, command.lesson)
        if isinstance(command, Reload):
            return self.store.budgets(scope)
        assert isinstance(command, SlotToken) and self.tokens is not None
        assert command.rejected is None
        if command.slot not in self.opened:
            if not command.open:
                return None
            self.opened[command.slot] = self.tokens.slot(command.slot)
        return self.opened[command.slot]

    def steps(self, server: Server, clock: ManualClock) -> Iterator[float]:
        """The client's life as a generator: it yields the wall time it wants to go on at (a sleep)."""
        pacer = self.pacer
        if self.tokens is not None:
            self.opened.setdefault(0, AUTH)
        while True:
            slot, header = 0, AUTH
            steps = pace(pacer, header, PATH, clock, clock.monotonic() + 300.0, lambda: f"GET {PATH}")
            result: object = None
            waited = 0.0
            while True:
                try:
                    command = steps.send(result)
                except StopIteration as stop:
                    step = stop.value
                    break
                if isinstance(command, Sleep):
                    waited += command.seconds
                    yield clock.wall() + command.seconds
                    result = None
                else:
                    result = self.carry(command)
            assert not isinstance(step, Refusal), step.message
            if isinstance(step, Chosen):
                slot, header = step.slot, step.header
            self.waits.append(waited)
            sent, in_force = clock.wall(), pacer.budget()
            self.sends.append((sent, slot))
            answer = server.handle(sent, header)
            if answer == 200:
                pacer.answered(header, sent)
            else:
                outcome = Outcome(
                    status=429,
                    retry_after=str(answer),
                    body=throttle_body(server.limit if server.states_limit else None),
                    sent_wall=sent,
                    received_wall=sent,
                )
                lessons = learn(pacer, header, PATH, outcome, clock, clock.wall())
                result = None
                while True:
                    try:
                        result = self.carry(lessons.send(result))
                    except StopIteration:
                        break
                self.throttled.append((sent, in_force))
            yield clock.wall() + self.gap


def run(clients: list[Client], server: Server, clock: ManualClock, until: float) -> None:
    """Run ``clients`` against ``server`` until the wall clock reaches ``until``, each when its sleep ends.

    A client's generator is kept between calls (in ``_running``), so runs can be chained.
    """
    running = _running.setdefault(id(clock), {})
    lives = [running.setdefault(id(client), (client.steps(server, clock), [clock.wall()])) for client in clients]
    for _ in range(10_000_000):  # bounded: every step moves its client on by at least ``gap``
        life, due = min(lives, key=lambda pair: pair[1][0])
        if due[0] >= until:
            return
        if due[0] > clock.wall():
            clock.advance(due[0] - clock.wall())
        due[0] = next(life)
    raise AssertionError("the simulation did not end")


_running: dict[int, dict[int, tuple[Iterator[float], list[float]]]] = {}


def client(clock: ManualClock, store: LocalBudgets | None = None, gap: float = 0.01, **policy: object) -> Client:
    """A client sending every ``gap`` s at most, with a pacer of its own, on the fleet's ``store`` (or the pacer's)."""
    pacer = Pacer(clock, PacingPolicy(**policy))  # type: ignore[arg-type]
    return Client(pacer, store if store is not None else pacer.local, gap)


def fleet(
    clock: ManualClock,
    processes: int,
    threads: int,
    *,
    pool: int = 1,
    gap: float = 0.01,
    tokens: Tokens | None = None,
    **policy: object,
) -> tuple[list[Client], LocalBudgets, Tokens]:
    """``processes`` pacers sharing one budget store, each with ``threads`` clients (and a pool of ``pool``)."""
    store = LocalBudgets(clock)
    tokens = tokens if tokens is not None else Tokens()
    clients = []
    for _ in range(processes):
        pacer = Pacer(clock, PacingPolicy(**policy), scope="fleet", shared=True, pool=pool)  # type: ignore[arg-type]
        opened: dict[int, str] = {}
        clients += [Client(pacer, store, gap, tokens if pool > 1 else None, opened) for _ in range(threads)]
    return clients, store, tokens
