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

A slot that cannot come within what is left of the request's time budget ends the request at once with a
:class:`Refusal` (the front end raises :class:`~genesys_auth_adapter.errors.RateBudgetError`).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass
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


PaceCommand = Union[Reserve, Learn, Reload, Sleep]

#: A wait for a slot shorter than this is not slept: the end of a hold a retry's own wait already covered
#: (computed a moment apart), well inside the jitter every budget's pacing leaves.
NEGLIGIBLE = 0.005
RELOAD = Reload()


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


def pace(
    pacer: Pacer, header: str, path: str, clock: Clock, deadline: float, what: Callable[[], str]
) -> Generator[PaceCommand, object, Paced | Refusal | None]:
    """Take a slot before one send of an API request: None (sent at once), the wait slept, or a refusal."""
    now = clock.monotonic()
    if pacer.reload_due(now):
        pacer.adopt(_budgets((yield RELOAD)), now)
    lanes = pacer.plan(header, path, now)
    if lanes is None:
        return None
    max_wait = deadline - now
    reservation = yield Reserve(lanes, max_wait)
    assert isinstance(reservation, Reservation), f"a driver answered Reserve with {type(reservation).__name__}"
    probe = pacer.granted(lanes, reservation, now)
    if probe is not None:
        _log.info("Pacing: %s.", probe.cause)
        pacer.learned(_budgets((yield Learn(probe))), now)
    binding = lanes[reservation.binding].cause if reservation.binding is not None else "its lanes"
    if not reservation.granted:
        message = f"{what()}: {pacer.refusal(lanes, reservation, max_wait)}"
        _log.warning("Not sending %s.", message)
        return Refusal(message, binding, reservation.wait, max(0.0, max_wait))
    if reservation.wait <= NEGLIGIBLE:
        return None
    _log.info("Pacing %s: %s.", what(), pacer.explain(lanes, reservation))
    yield Sleep(reservation.wait)
    waited = reservation.wait
    now = clock.monotonic()
    held = pacer.held(header, path, now)
    if held > NEGLIGIBLE:  # a 429 met meanwhile (a probe that failed): wait its window out, not meet it
        if now + held > deadline:
            message = f"{what()}: {binding} is held {held:.1f} s by a 429, past this request's time budget"
            _log.warning("Not sending %s.", message)
            return Refusal(message, binding, held, max(0.0, deadline - now))
        _log.info("Pacing %s: waiting %.2f s more: %s is held by a 429 met meanwhile.", what(), held, binding)
        yield Sleep(held)
        waited += held
    return Paced(waited, binding)


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


def _budgets(value: object) -> Mapping[str, Budget]:
    assert isinstance(value, Mapping), f"a driver answered a pacing command with {type(value).__name__}"
    return value
