"""A simulated Genesys rate limiter and a client that paces against it, on a ManualClock (no sleeps, no I/O).

The client does what the request flow and its driver will do around each send: plan, reserve in the budget
store, sleep the wait (the clock advances), send, then report the answer (answered) or the 429 (throttled
and learn). The server keeps the log of admitted requests of each token and refuses the one that would
put more than ``limit`` in a window of ``window`` seconds, the way the strictest limiter would: sliding
(any window) or fixed (calendar windows).
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
    """One token's limit: at most ``limit`` admitted requests in any (sliding) or each (fixed) window."""

    limit: int
    window: float = 60.0
    sliding: bool = True
    states_limit: bool = True  # the 429 body carries the limit object
    admitted: deque[float] = field(default_factory=deque)
    refused: list[float] = field(default_factory=list)
    log: list[float] = field(default_factory=list)  # every admitted request

    def most_in_a_window(self, since: float) -> int:
        """The most requests admitted in any span of ``window`` seconds from ``since`` on."""
        times = [t for t in self.log if t >= since]
        return max((bisect.bisect_left(times, t + self.window) - i for i, t in enumerate(times)), default=0)

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.log if start <= t < end)

    def handle(self, now: float) -> int | float:
        """200 (admitted), or the ``Retry-After`` of a 429 in seconds."""
        if self.sliding:
            while self.admitted and self.admitted[0] <= now - self.window:
                self.admitted.popleft()
            if len(self.admitted) < self.limit:
                self.admitted.append(now)
                self.log.append(now)
                return 200
            self.refused.append(now)
            return max(1, math.ceil(self.admitted[0] + self.window - now))
        start = math.floor(now / self.window) * self.window
        while self.admitted and self.admitted[0] < start:
            self.admitted.popleft()
        if len(self.admitted) < self.limit:
            self.admitted.append(now)
            self.log.append(now)
            return 200
        self.refused.append(now)
        return max(1, math.ceil(start + self.window - now))


@dataclass
class Client:
    """One client (a process) sending back to back, one request every ``gap`` seconds at most, through a pacer.

    Its budget store is the fleet's (``store``), or its pacer's own when none is given.
    """

    pacer: Pacer
    store: LocalBudgets
    gap: float = 0.01
    waits: list[float] = field(default_factory=list)
    #: Each 429: when, and the budget the request had been paced by (None: none yet).
    throttled: list[tuple[float, Budget | None]] = field(default_factory=list)

    def steps(self, server: Server, clock: ManualClock) -> Iterator[float]:
        """The client's life as a generator: it yields the wall time it wants to go on at (a sleep)."""
        pacer, store = self.pacer, self.store
        while True:
            now = clock.monotonic()
            lanes = pacer.plan(AUTH, PATH, now)
            if lanes is not None:
                reservation = store.reserve(pacer.scope, lanes, max_wait=300.0)
                assert reservation.granted, pacer.refusal(lanes, reservation, 300.0)
                probe = pacer.granted(lanes, reservation, now)
                if probe is not None:
                    pacer.learned(store.learn(pacer.scope, probe), now)
                self.waits.append(reservation.wait)
                if reservation.wait > 0:
                    yield clock.wall() + reservation.wait
            sent, in_force = clock.wall(), self.pacer.budget()
            answer = server.handle(sent)
            if answer == 200:
                pacer.answered(AUTH, sent)
            else:
                outcome = Outcome(
                    status=429,
                    retry_after=str(answer),
                    body=throttle_body(server.limit if server.states_limit else None),
                    sent_wall=sent,
                    received_wall=sent,
                )
                now = clock.monotonic()
                lesson = pacer.throttled(AUTH, PATH, outcome, now=now, server_now=clock.wall())
                pacer.learned(store.learn(pacer.scope, lesson), now)
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
