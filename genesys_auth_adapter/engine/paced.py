"""The pacing steps of the request flow: reserve a slot before a send, learn from a 429 after it.

The flow (:mod:`.flow`) delegates here with ``yield from``, and only when the auth's
:class:`~.pacer.Pacer` is engaged (or a reload of the fleet's budgets is due): with nothing to pace, a
request costs one attribute read. The commands it yields are carried out by the driver against the auth's
budget store (:class:`~.slots.Slots`)::

    command                  the driver                                        sends back
    Reserve(lanes, max_wait) takes a slot on every lane, or refuses            a Reservation
    Learn(lesson)            places the lesson's holds, applies its events    the budgets it touched
    Reload()                 reads the fleet's budgets                         every budget of the client
    Sleep(seconds)           waits (a plain sleep in threads, asyncio.sleep)   None
    SlotToken(slot, ...)     a token of the pool's slot (see the class)        its header, or a Token

With a token pool (``token_pool=N``), :func:`pace` also chooses the token: the first open one whose next
slot is within ``PacingPolicy.pool_after``, or a newly opened one while the pool has room, or the one
whose slot comes first (:func:`_pick`).

A slot that cannot come within what is left of the request's time budget ends the request at once with a
:class:`Refusal` (the front end raises :class:`~genesys_auth_adapter.errors.RateBudgetError`).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable, Union

from .budget import Budget
from .clock import Clock
from .gcra import Lane, Lesson, Reservation
from .pacer import TOKEN_BUDGET, Pacer
from .retry import Outcome, Paced

_log = logging.getLogger("genesys_auth_adapter.pacing")


@dataclass(frozen=True)
class Reserve:
    """Take one slot on every lane, or refuse (and change nothing) if the wait would pass ``max_wait``."""

    lanes: tuple[Lane, ...]
    max_wait: float


@dataclass(frozen=True)
class Learn:
    """Tell the budget store what a 429 (or a probe) taught."""

    lesson: Lesson


@dataclass(frozen=True)
class Reload:
    """Read the fleet's budgets of this client from the budget store."""


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (before the next attempt, or for a slot)."""

    seconds: float


@dataclass(frozen=True)
class SlotToken:
    """A token of the token pool's slot ``slot`` (:class:`~.pool.TokenPool`), like the flow's ``Authorize``.

    With neither ``rejected`` nor ``drop``: the slot's header, opening the slot (a token request, or the
    store's token) when ``open`` (None when that token request failed: the request goes on the tokens
    already open); without ``open``, None when the slot holds no fresh token (nothing is requested).
    With ``rejected``: the :class:`~.token.Token` that replaces it (asked for at or after ``after``, when
    given). With ``drop``: ``rejected`` is dropped if still current, and the answer is None.
    """

    slot: int
    open: bool = True
    rejected: str | None = field(default=None, repr=False)
    after: float | None = None
    drop: bool = False


PaceCommand = Union[Reserve, Learn, Reload, Sleep, SlotToken]
#: The commands a budget store (and token pool) carries out: the driver hands them to its ``Pacing``.
PACING_COMMANDS = (Reserve, Learn, Reload, SlotToken)

#: A wait for a slot shorter than this is not slept: the end of a hold a retry's own wait already covered
#: (computed a moment apart), well inside the jitter every budget's pacing leaves.
NEGLIGIBLE = 0.005
RELOAD = Reload()
#: How many times a request whose budget was on trial takes a slot again because the probe failed meanwhile.
TRIAL_CHECKS = 2
#: The lanes of tokens (``t.<fingerprint>``); the others are limits of endpoint families.
TOKEN_LANE_PREFIX = "t."


@dataclass(frozen=True)
class Refusal:
    """No slot within the request's time budget: why, for :class:`~genesys_auth_adapter.errors.RateBudgetError`.

    Attributes:
        message: The whole explanation (which budget, the time left, how far the next slot is).
        budget: The lane and budget that had no slot (a token appears only as its fingerprint).
        wait: Seconds until that slot.
        left: Seconds that were left of the request's time budget.
    """

    message: str
    budget: str
    wait: float
    left: float


@dataclass(frozen=True)
class Chosen:
    """Where a paced send goes: the pool slot, its token's header, and the wait slept for it (None: none).

    After a wait the token is asked for again (it may have been refreshed meanwhile).
    """

    slot: int
    header: str = field(repr=False)
    paced: Paced | None


def pace(
    pacer: Pacer,
    header: str,
    path: str,
    clock: Clock,
    deadline: float,
    what: Callable[[], str],
    slot: int = 0,
    choose: bool = True,
) -> Generator[PaceCommand, object, Chosen | Refusal | None]:
    """Take a slot before one send of an API request, on ``header``'s token (pool slot ``slot``).

    Returns None when the request goes at once on that token; a :class:`Chosen` when it waited, or goes on
    another token of the pool (``choose``: a token pool may move it); a :class:`Refusal` when no slot comes
    within the request's time budget.
    """
    now = clock.monotonic()
    if pacer.reload_due(now):
        pacer.adopt(_budgets((yield RELOAD)), now)
    lanes = pacer.plan(header, path, now)
    if lanes is None:
        return None
    max_wait, asked = deadline - now, slot
    if choose and pacer.pool > 1:
        picked = yield from _pick(pacer, header, slot, path, now, max_wait, lanes)
        if picked.lanes is None or picked.reservation is None:  # a token of the pool with nothing to pace by
            return None if picked.slot == asked else Chosen(picked.slot, picked.header, None)
        slot, header, lanes, reservation = picked.slot, picked.header, picked.lanes, picked.reservation
    else:
        reservation = _reservation((yield Reserve(lanes, max_wait)))
    waited, checks = 0.0, 0
    while True:
        probe = pacer.granted(lanes, reservation, now)
        if probe is not None:
            _log.info("Pacing: %s.", probe.cause)
            pacer.learned(_budgets((yield Learn(probe))), now)
        binding = lanes[reservation.binding].cause if reservation.binding is not None else "its lanes"
        if not reservation.granted:
            message = f"{what()}: {pacer.refusal(lanes, reservation, max_wait)}"
            _log.warning("Not sending %s.", message)
            return Refusal(message, binding, reservation.wait, max(0.0, max_wait))
        if reservation.wait > NEGLIGIBLE:
            _log.info("Pacing %s: %s.", what(), pacer.explain(lanes, reservation))
            yield Sleep(reservation.wait)
            waited += reservation.wait
        now = clock.monotonic()
        if checks >= TRIAL_CHECKS or not pacer.unsettled(lanes):
            break
        checks += 1
        # A budget on trial (a probe) may have failed while this request waited for its slot, in another
        # process: read the fleet's budgets, and if they fell back, take a slot again by them (the lane is
        # held until the 429's window ends), so that a failed probe costs the fleet one 429, not one for
        # every slot taken ahead of it.
        pacer.adopt(_budgets((yield RELOAD)), now)
        slower = pacer.plan(header, path, now)
        if slower is None or not _slower(slower, lanes):
            break
        lanes, max_wait = slower, deadline - now
        _log.info("Pacing %s: a probe failed meanwhile; taking a slot again on %s.", what(), lanes[0].cause)
        reservation = _reservation((yield Reserve(lanes, max_wait)))
    if waited <= 0.0:
        return None if slot == asked else Chosen(slot, header, None)
    held = pacer.held(header, path, now)
    if held > NEGLIGIBLE:  # a 429 met meanwhile (a probe that failed): wait its window out, not meet it
        if now + held > deadline:
            message = f"{what()}: {binding} is held {held:.1f} s by a 429, past this request's time budget"
            _log.warning("Not sending %s.", message)
            return Refusal(message, binding, held, max(0.0, deadline - now))
        _log.info("Pacing %s: waiting %.2f s more: %s is held by a 429 met meanwhile.", what(), held, binding)
        yield Sleep(held)
        waited += held
    return Chosen(slot, header, Paced(waited, binding))


@dataclass(frozen=True)
class _Picked:
    slot: int
    header: str = field(repr=False)
    lanes: tuple[Lane, ...] | None = None
    reservation: Reservation | None = None


def _pick(
    pacer: Pacer, header: str, slot: int, path: str, now: float, max_wait: float, lanes: tuple[Lane, ...]
) -> Generator[PaceCommand, object, _Picked]:
    """The token of the pool to send on, its slot reserved.

    The first open token whose next slot is within ``pool_after`` seconds (slot 0 first, so the others take
    only what it cannot); else, while the pool has room, the next slot is opened (a token from the store,
    which another process may have opened already, or a token request); else the token whose slot comes
    first, with the request's whole time budget. A wait set by another limit than the token's (an endpoint
    family's) is not helped by another token: it is waited for where it is.
    """
    soon = min(pacer.policy.pool_after, max_wait)
    best: _Picked | None = None
    closed: list[int] = []
    for index in range(pacer.pool):
        if index == slot:
            candidate: object = header
        else:
            candidate = yield SlotToken(index, open=False)
            if candidate is None:
                closed.append(index)
                continue
        found = yield from _try(pacer, index, _text(candidate), lanes if index == slot else None, path, now, soon)
        if found.reservation is None or found.reservation.granted or not _token_bound(found):
            return found
        best = _earlier(best, found)
    for index in closed:
        opened = yield SlotToken(index, open=True)
        if opened is None:  # its token request failed (logged): the open tokens serve, with a wait
            break
        found = yield from _try(pacer, index, _text(opened), None, path, now, soon)
        if found.reservation is None or found.reservation.granted or not _token_bound(found):
            return found
        best = _earlier(best, found)
    assert best is not None and best.lanes is not None
    reservation = _reservation((yield Reserve(best.lanes, max_wait)))
    return _Picked(best.slot, best.header, best.lanes, reservation)


def _try(
    pacer: Pacer, slot: int, header: str, lanes: tuple[Lane, ...] | None, path: str, now: float, soon: float
) -> Generator[PaceCommand, object, _Picked]:
    """Reserve on one token of the pool if its slot is within ``soon`` seconds (a refusal changes nothing)."""
    if lanes is None:
        lanes = pacer.plan(header, path, now)
        if lanes is None:
            return _Picked(slot, header)
    reservation = _reservation((yield Reserve(lanes, soon)))
    if reservation.budgets and not reservation.granted:
        pacer.adopt(reservation.budgets, now)  # a granted one is taken in by the caller
    return _Picked(slot, header, lanes, reservation)


def _token_bound(picked: _Picked) -> bool:
    """Whether a refused reservation waited on the token's own lane (another token could do better)."""
    reservation, lanes = picked.reservation, picked.lanes
    if reservation is None or lanes is None or reservation.binding is None:
        return False
    return lanes[reservation.binding].name.startswith(TOKEN_LANE_PREFIX)


def _earlier(best: _Picked | None, found: _Picked) -> _Picked:
    if best is None or best.reservation is None:
        return found
    assert found.reservation is not None
    return found if found.reservation.wait < best.reservation.wait else best


def _slower(now: Sequence[Lane], before: Sequence[Lane]) -> bool:
    """Whether the lanes planned now pace slower than those a slot was taken on (or add a lane)."""
    intervals = {lane.name: lane.rate.interval for lane in before}
    return any(lane.name not in intervals or lane.rate.interval > intervals[lane.name] + 1e-12 for lane in now)


def learn(
    pacer: Pacer, header: str | None, path: str, outcome: Outcome, clock: Clock, server_now: float
) -> Generator[PaceCommand, object, None]:
    """Learn from a throttle the server answered a request on ``header`` with (nothing for a request without)."""
    if header is None:
        return
    now = clock.monotonic()
    lesson = pacer.throttled(header, path, outcome, now=now, server_now=server_now)
    _log.info("Rate limited (%s): %s.", outcome.description, lesson.cause)
    if lesson.holds or lesson.events:
        pacer.learned(_budgets((yield Learn(lesson))), now)
    if pacer.budget(TOKEN_BUDGET) is None:
        # This 429 taught this process nothing (a count too small, another 429 of the same window): the
        # processes that did count have told the store by the time the window ends, so read it then.
        pacer.reload_by(now + max((hold.seconds for hold in lesson.holds), default=0.0))


def _reservation(value: object) -> Reservation:
    assert isinstance(value, Reservation), f"a driver answered Reserve with {type(value).__name__}"
    return value


def _text(value: object) -> str:
    assert isinstance(value, str), f"a driver answered SlotToken with {type(value).__name__}"
    return value


def _budgets(value: object) -> Mapping[str, Budget]:
    assert isinstance(value, Mapping), f"a driver answered a pacing command with {type(value).__name__}"
    return value
