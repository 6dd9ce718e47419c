"""Pacing: the rate budget of each token, learned from 429s and consulted before each request like the token.

Genesys limits each token (``client.credentials.token.rate.per.minute``, 300 by default) and answers every
excess with a 429 whose ``Retry-After`` may be a minute away; it sends no rate-limit headers, so a client
learns its budget only from 429s (or from its configuration). :class:`Pacer` holds what one auth object
knows, with no I/O and a lock held only for an instant:

- **No pacing until there is something to pace by.** :meth:`Pacer.plan` returns None (one attribute read)
  until a budget is configured, learned or adopted from the fleet, or a 429 put a hold on a lane.
- **Learning** (:meth:`Pacer.throttled`): a 429 whose ``limit`` is the token's and states a rate teaches
  that rate (:class:`~.budget.Told`); one that states none teaches from how many requests this token had
  answered (:class:`~.budget.Counted`, whose docstring says why that is never more than the server allowed):
  those sent since the window the 429 ends began (``Retry-After`` says when it ends; ``count_margin``
  seconds are left out of its start), and those sent in the window's length before the 429. Either way the
  lane is held until the window ends. A 429 whose limit is another one (user, org, endpoint) is learned and
  held on its own lane, named by the limit key and the request's :func:`~.limits.endpoint_family`, so only
  that family slows.
- **Pacing** (:func:`~.gcra.reserve`): the lanes of a request (its token, and the limits of its family) are
  reserved together in the budget store; the driver sleeps the wait. A wait longer than what is left of the
  request's time budget is refused at once (:meth:`Pacer.refusal` says why, naming the budget).
- **Probing** (:meth:`Pacer.granted`): a learned budget that held for ``probe_after`` windows, whose last
  window the fleet used (``busy`` of its slots), is raised on trial (:class:`~.budget.Probe`), once for the
  fleet (the store applies a probe only to the revision it was computed from): by ``probe_step`` first
  (2 %: just beyond the jitter allowance, so a limit that did not change answers one 429 near the end of a
  window), then, every two windows while the raises hold, by four times the last raise (at most half the
  budget). A 429 during a probe falls back to the budget that held, and the next probe waits twice as long
  (at most ``max_probe_pause`` windows). While a budget is on trial, a request that waited for its slot
  reads the fleet's budgets before it is sent (:func:`~.paced.pace`): a probe that failed in another
  process is not met again by every slot taken ahead. A configured budget is never probed.
- **Sharing**: the store's answers carry the fleet's newer budgets (:meth:`Pacer.adopt`); a reload every
  ``reload_every`` seconds (:meth:`Pacer.reload_due`) finds budgets other processes learned on other lanes.

Without a shared store, :attr:`Pacer.local` (:class:`~.gcra.LocalBudgets`) is the budget store.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence

from .budget import HOLD, Budget, Counted, Event, Probe, Source, Told, same_episode
from .clock import Clock
from .gcra import Hold, Lane, Lesson, LocalBudgets, Reservation
from .limits import Limit, endpoint_family, fingerprint, limit_lane, parse_limit
from .pacing import PacingPolicy, Tally
from .retry import Outcome, server_retry_after

#: The name of the per-token budget (shared by every token of one OAuth client: the limit is the org's).
TOKEN_BUDGET = "token"
_NEVER = -math.inf
_LEDGERS = 8  # tokens remembered at once: the current one and a few it replaced
_PRINTS = 16
#: Each raise of a probe that follows one that held is this many times the last (at most half the budget).
PROBE_GROWTH = 4


class _Ledger:
    """What the pacer knows of one token."""

    def __init__(self, horizon: float) -> None:
        self.tally = Tally(horizon)
        self.episode: float | None = None  # the window whose count this process reported
        self.hold_until = _NEVER


class _Known:
    """What the pacer knows of one budget (and, for a limit that is not the token's, its lane)."""

    def __init__(self, budget: Budget | None = None, key: str | None = None, family: str | None = None) -> None:
        self.budget = budget
        self.key = key
        self.family = family
        self.adopted_at = _NEVER
        self.busy_at = _NEVER
        self.throttled_at = _NEVER
        self.hold_until = _NEVER
        self.proposed: int | None = None  # the revision a probe was proposed from
        self.lanes: dict[str, Lane] = {}  # the lanes paced by this budget, as last built (until it changes)


class Pacer:
    """One auth object's pacing knowledge (see the module docstring).

    Args:
        clock: The clock of :attr:`local`, the in-memory budget store.
        policy: How to pace; default :class:`PacingPolicy`.
        scope: The name the budgets are kept under in a shared store (the client's token store key).
        shared: The budgets live in a store other processes share: reload them now and then (:meth:`reload_due`).
        pool: How many tokens the auth may hold (``token_pool``): each has a lane of its own.
    """

    def __init__(
        self,
        clock: Clock,
        policy: PacingPolicy | None = None,
        *,
        scope: str = "local",
        shared: bool = False,
        pool: int = 1,
    ) -> None:
        self.policy = policy or PacingPolicy()
        self.scope = scope
        #: The slots of the auth's token pool (1: one token): :func:`~.paced.pace` chooses among them.
        self.pool = pool
        self.local = LocalBudgets(clock)
        self._lock = threading.Lock()
        self._ledgers: dict[str, _Ledger] = {}
        self._known: dict[str, _Known] = {}
        self._families: dict[str, tuple[str, ...]] = {}
        self._prints: dict[str, str] = {}
        #: When to reload the fleet's budgets from a shared store next (never without one): see :meth:`reload_due`.
        self.reload_at = _NEVER if shared else math.inf
        self._last: tuple[str, Tally] = ("", Tally(1.0))
        configured = None if self.policy.budget is None else Budget(self.policy.budget, self.policy.window)
        self._known[TOKEN_BUDGET] = _Known(configured)
        #: False until there is anything to pace by: :meth:`plan` is then one attribute read.
        self.engaged = configured is not None

    def plan(self, authorization: str, path: str, now: float) -> tuple[Lane, ...] | None:
        """The lanes to reserve before sending a request with this token to ``path``; None: send at once."""
        if not self.engaged:
            return None
        print_ = self._print(authorization)
        lanes: list[Lane] = []
        with self._lock:
            known = self._known[TOKEN_BUDGET]
            ledger = self._ledgers.get(print_)
            held = ledger is not None and ledger.hold_until > now
            if known.budget is not None or held:
                lanes.append(self._lane(f"t.{print_}", TOKEN_BUDGET, known, f"token {print_}"))
            if self._families:
                family = endpoint_family(path)
                for name in self._families.get(family, ()):
                    limit = self._known[name]
                    if limit.budget is not None or limit.hold_until > now:
                        lanes.append(self._lane(name, name, limit, f"limit {limit.key} on {family}"))
        return tuple(lanes) or None

    def answered(self, authorization: str, sent_wall: float | None) -> None:
        """Count a request the server answered (any response but a throttle), by when it was sent.

        Runs on every response, so it takes no lock: the last token's tally is kept at hand (a pair read
        in one step), and a tally's add is a few integer operations (see :class:`~.pacing.Tally`).
        """
        if sent_wall is None:
            return
        last = self._last
        if last[0] != authorization:
            last = self._switch(authorization)
        last[1].add(sent_wall)

    def _switch(self, authorization: str) -> tuple[str, Tally]:
        print_ = self._print(authorization)
        with self._lock:
            last = self._last = (authorization, self._ledger(print_).tally)
        return last

    def throttled(self, authorization: str, path: str, outcome: Outcome, *, now: float, server_now: float) -> Lesson:
        """What a 429 (or another throttle) on this token and ``path`` teaches: holds, and budget events.

        Args:
            authorization: The request's ``Authorization`` value.
            path: The request's path.
            outcome: The throttle (its ``Retry-After``, body and times).
            now: The monotonic time now.
            server_now: The server's wall clock now (``Retry-After`` dates, episodes).
        """
        told = server_retry_after(outcome, server_now)
        wait = told or 0.0
        episode = server_now + wait  # when the window ends, on the server's clock
        limit = parse_limit(outcome.body) if outcome.body else None
        with self._lock:
            self.engaged = True
            if limit is None or limit.is_token:
                return self._token_lesson(self._print(authorization), limit, outcome, wait, episode, now)
            return self._limit_lesson(limit, endpoint_family(path), wait, episode, now)

    def granted(self, lanes: Sequence[Lane], reservation: Reservation, now: float) -> Lesson | None:
        """Take in a store's answer to a reservation of ``lanes``; a probe to tell the store, when one is due."""
        if reservation.budgets:
            self.adopt(reservation.budgets, now)
        if not reservation.granted:
            return None
        events: list[tuple[str, Event]] = []
        causes: list[str] = []
        with self._lock:
            for index, lane in enumerate(lanes):
                name = lane.budget
                known = None if name is None else self._known.get(name)
                if name is None or known is None or known.budget is None:
                    continue
                used = reservation.used[index] if index < len(reservation.used) else 0
                if lane.rate.interval > 0 and used >= self.policy.busy * lane.window / lane.rate.interval:
                    known.busy_at = now
                probe = self._probe(known, now)
                if probe is not None:
                    events.append((name, probe))
                    causes.append(f"{lane.cause} held: raising it to {probe.requests} on trial")
        return Lesson(events=tuple(events), cause="; ".join(causes)) if events else None

    def adopt(self, budgets: Mapping[str, Budget], now: float) -> None:
        """Take the fleet's budgets that are newer than the ones known (a reservation's or a reload's report)."""
        self._take(budgets, now, newer_only=True)

    def learned(self, budgets: Mapping[str, Budget], now: float) -> None:
        """Take the budgets a store answered to this pacer's own lesson (whatever their revision)."""
        self._take(budgets, now, newer_only=False)

    def budget(self, name: str = TOKEN_BUDGET) -> Budget | None:
        """The budget known by ``name`` (by default the token's), or None."""
        known = self._known.get(name)
        return None if known is None else known.budget

    def reload_due(self, now: float) -> bool:
        """Whether to reload the fleet's budgets from a shared store now (True once per ``reload_every``)."""
        if now < self.reload_at:
            return False
        with self._lock:
            if now < self.reload_at:
                return False
            self.reload_at = now + self.policy.reload_every
            return True

    def unsettled(self, lanes: Sequence[Lane]) -> bool:
        """Whether a lane's budget is on trial (a probe: a 429 elsewhere may end it at any moment), or changed
        since the lane was planned (a probe that failed, learned by another thread meanwhile)."""
        for lane in lanes:
            known = None if lane.budget is None else self._known.get(lane.budget)
            budget = None if known is None else known.budget
            if budget is not None and (budget.source is Source.PROBING or budget.revision != lane.revision):
                return True
        return False

    def held(self, authorization: str, path: str, now: float) -> float:
        """Seconds left of the holds this process knows on the lanes of a request (0 when none).

        A wait for a slot ends after a 429 may have placed a hold that the slot predates (slots are taken
        ahead, and a probe may fail meanwhile): the request then waits the hold out instead of meeting it.
        """
        if not self.engaged:
            return 0.0
        until = _NEVER
        with self._lock:
            ledger = self._ledgers.get(self._print(authorization))
            if ledger is not None:
                until = ledger.hold_until
            if self._families:
                for name in self._families.get(endpoint_family(path), ()):
                    until = max(until, self._known[name].hold_until)
        return max(0.0, until - now)

    def reload_by(self, when: float) -> None:
        """Reload the fleet's budgets no later than ``when`` (with a shared store; nothing without one)."""
        with self._lock:
            if self.reload_at != math.inf:
                self.reload_at = min(self.reload_at, when)

    def after_fork_in_child(self) -> None:
        """A forked child gets fresh locks (a parent thread may have held one at the fork)."""
        self._lock = threading.Lock()
        self.local.after_fork_in_child()

    def explain(self, lanes: Sequence[Lane], reservation: Reservation) -> str:
        """Why a reservation waits: which lane, which budget, how long."""
        if reservation.binding is None or reservation.wait <= 0:
            return "no wait"
        return f"waiting {reservation.wait:.2f} s for a slot on {lanes[reservation.binding].cause}"

    def refusal(self, lanes: Sequence[Lane], reservation: Reservation, max_wait: float) -> str:
        """Why a reservation was refused, for the error the request fails with."""
        cause = lanes[reservation.binding].cause if reservation.binding is not None else "its lanes"
        return (
            f"no slot on {cause} within the {max(0.0, max_wait):.1f} s left of this request's time budget "
            f"(RetryPolicy max_time): the next is {reservation.wait:.1f} s away"
        )

    def _print(self, authorization: str) -> str:
        print_ = self._prints.get(authorization)
        if print_ is None:
            print_ = fingerprint(authorization)
            if len(self._prints) >= _PRINTS + 2 * self.pool:
                self._prints.clear()
            self._prints[authorization] = print_
        return print_

    def _ledger(self, print_: str) -> _Ledger:
        ledger = self._ledgers.get(print_)
        if ledger is None:
            if len(self._ledgers) >= _LEDGERS + 2 * self.pool:
                del self._ledgers[next(iter(self._ledgers))]  # the oldest token
            ledger = self._ledgers[print_] = _Ledger(self.policy.window + 60.0)
        return ledger

    def _lane(self, name: str, budget_name: str, known: _Known, what: str) -> Lane:
        lane = known.lanes.get(name)
        if lane is not None:
            return lane
        budget = known.budget
        if budget is None:
            lane = Lane(name, HOLD, self.policy.window, None, 0, f"{what}, held until the window of its 429 ends")
        else:
            rate = self.policy.rate(budget)
            lane = Lane(name, rate, budget.window, budget_name, budget.revision, f"{what}, paced at {budget}")
        if len(known.lanes) >= _LEDGERS + 2 * self.pool:
            known.lanes.clear()
        known.lanes[name] = lane
        return lane

    def _token_lesson(
        self, print_: str, limit: Limit | None, outcome: Outcome, wait: float, episode: float, now: float
    ) -> Lesson:
        ledger = self._ledger(print_)
        ledger.hold_until = max(ledger.hold_until, now + wait)
        known = self._known[TOKEN_BUDGET]
        known.throttled_at = now
        holds = (Hold(f"t.{print_}", wait),) if wait > 0 else ()
        key = limit.key if limit is not None else None
        rate = limit.rate if limit is not None else None
        if rate is not None:
            told = Told(rate[0], rate[1], key, None, episode)
            if _known_already(known.budget, told):
                return Lesson(holds, (), f"token {print_}: {limit} again")
            return Lesson(holds, ((TOKEN_BUDGET, told),), f"token {print_}: the 429 states {limit}")
        if same_episode(ledger.episode, episode) or outcome.received_wall is None:
            return Lesson(holds, (), f"token {print_}: another 429 of the same window")
        ledger.episode = episode
        window, received = self.policy.window, outcome.received_wall
        # Sent after the window began (plus a margin for whole-second Retry-After): the server admitted them in it.
        count = ledger.tally.count(received + wait - window + self.policy.count_margin)
        recent = ledger.tally.count(received - window)
        if max(count, recent // 2) < self.policy.min_count:
            return Lesson(holds, (), f"token {print_}: too few requests answered in the window to learn from")
        counted = Counted(count, recent, window, key, None, episode)
        what = f"{count} requests answered in the window ({recent} in the {window:g} s before the 429)"
        return Lesson(holds, ((TOKEN_BUDGET, counted),), f"token {print_}: {what}")

    def _limit_lesson(self, limit: Limit, family: str, wait: float, episode: float, now: float) -> Lesson:
        name = limit_lane(limit.key, family)
        known = self._known.get(name)
        if known is None:
            known = self._known[name] = _Known(None, limit.key, family)
            self._register(name, family)
        known.throttled_at = now
        known.hold_until = max(known.hold_until, now + wait)
        holds = (Hold(name, wait),) if wait > 0 else ()
        rate = limit.rate
        if rate is None:
            return Lesson(holds, (), f"limit {limit} on {family}: held, no rate stated")
        told = Told(rate[0], rate[1], limit.key, family, episode)
        if _known_already(known.budget, told):
            return Lesson(holds, (), f"limit {limit} on {family} again")
        return Lesson(holds, ((name, told),), f"limit {limit} on {family}")

    def _probe(self, known: _Known, now: float) -> Probe | None:
        budget = known.budget
        if not self.policy.probe or budget is None or not budget.learned or known.proposed == budget.revision:
            return None
        window = budget.window
        if budget.source is Source.PROBING:
            # The last raise held: the next comes once a whole window of the fleet's use has shown it (two
            # windows at most, whatever their alignment), four times as large (at most half the budget).
            pause = 2 * window
            step = min(PROBE_GROWTH * budget.step, max(1, budget.requests // 2))
        else:
            # The first raise waits probe_after windows (doubled by each probe that failed in a row, at most
            # max_probe_pause) and is small: just beyond the jitter allowance pacing keeps (1 s in 61), so
            # at an unchanged limit it costs the fleet one 429, near the end of a window (a short hold).
            setbacks = min(budget.setbacks, 16)
            pause = min(self.policy.probe_after * 2**setbacks, self.policy.max_probe_pause) * window
            step = max(1, math.ceil(budget.requests * self.policy.probe_step))
        # Quiet (no change, no 429) for the pause, and busy in a whole window that began after it went quiet:
        # windows are counted from the slot times, so the first whole one ends at most two windows on.
        quiet = max(known.adopted_at, known.throttled_at)
        if now - quiet < max(pause, 2 * window) or known.busy_at < max(quiet + 2 * window, now - window):
            return None
        known.proposed = budget.revision
        return Probe(budget.revision, budget.requests + step, step)

    def _take(self, budgets: Mapping[str, Budget], now: float, *, newer_only: bool) -> None:
        with self._lock:
            for name, budget in budgets.items():
                known = self._known.get(name)
                if known is None:
                    known = self._known[name] = _Known(None, budget.key, budget.family)
                    if budget.family is not None:
                        self._register(name, budget.family)
                current = known.budget
                if current == budget or (newer_only and current is not None and budget.revision < current.revision):
                    continue
                known.budget = budget
                known.lanes.clear()
                known.adopted_at = now
                known.proposed = None
                if budget.key is not None:
                    known.key = budget.key
                self.engaged = True

    def _register(self, name: str, family: str) -> None:
        names = self._families.get(family, ())
        if name not in names:
            self._families[family] = (*names, name)

    def __repr__(self) -> str:
        budgets = ", ".join(f"{name}: {known.budget}" for name, known in self._known.items() if known.budget)
        return f"Pacer(scope={self.scope!r}, {budgets or 'no budget'})"


def _known_already(budget: Budget | None, told: Told) -> bool:
    return (
        budget is not None
        and budget.source is Source.LIMIT
        and budget.requests == told.requests
        and same_episode(budget.episode, told.episode)
    )
