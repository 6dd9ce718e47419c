"""One request's decisions, with no I/O: which token to attach, a 401 answered once, retry or stop.

The flow is a generator, in the spirit of httpx's ``Auth.auth_flow``. It yields commands and a
driver (one per front end: the requests adapter, the requests ``auth=`` hook, httpx sync and async)
carries each out and sends back its result::

    command                       the driver                                      sends back
    Authorize()                   gets the header of a usable token               the header
    Authorize(rejected=h)         drops h if it is still current, gets a new one  the new Token
    Authorize(rejected=h, after=t)  the same, but only a token asked for at or    the new Token
                                  after monotonic time t (never a stored one)
    Drop(h)                       drops h if it is still current                  None
    Send(authorization, kind)     sends the request with that header              an Outcome
    Rewind()                      makes the body ready to be sent again           True, or False if it cannot
    Sleep(seconds)                waits                                           None
    Reserve, Learn, Reload        pacing: see :mod:`.paced` (a budget store)      a Reservation, budgets

The flow returns a :class:`Verdict`. The driver never decides anything and the flow never touches a
socket, a lock or a sleep, so one implementation of refresh-and-resend and one retry loop serve every
front end, and both are unit-tested by driving the generator by hand.

Each outcome is also the response's one clock sample: the flow feeds its ``Date`` to the offset
estimate before anything else looks at it.

Pacing (:mod:`.paced`) is a step of the flow like the token: before each send of an API request (the
first, a 401 re-send, a retry) a slot is reserved on the token's rate budget when the auth's pacer is
engaged, and each answer is counted (or, a 429, learned from). Token requests are never paced.

The fast path: a generator costs a driver more than the few comparisons the common case needs (a fresh
token, nothing to pace, an answer no rule acts on). So the flow hands that case out: :func:`fast_header`
says whether a request may be sent outside the generator and with which header; the front end sends it,
and :func:`needs_decision` says whether the answer needs the flow after all. If not, :func:`settle` does
what the flow would have done with it (the clock sample, the pacer's count); if so, the front end starts
the flow from the request already sent (``request_flow(..., first=Sent(...))``), which then owns every
decision as if it had sent it: nothing is sent twice.
"""

from __future__ import annotations

import enum
import logging
import random as _random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Callable, Protocol, Union

from .clock import Clock
from .paced import PACING_COMMANDS, Learn, Refusal, Reload, Reserve, SlotToken, learn, pace
from .paced import Sleep as Sleep  # the flow's command, shared with the pacing steps
from .pacer import Pacer
from .retry import Attempt, Decision, Outcome, Paced, RetryPolicy, RetryState, decide
from .skew import ClockOffset
from .state import TokenState
from .token import Token

_log = logging.getLogger("genesys_auth_adapter.retry")


class SendKind(enum.Enum):
    """Why a request is being sent."""

    FIRST = "first"
    RESEND = "re-send after 401"  # the same request with a new token
    RETRY = "retry"


# Commands carry tokens: none of them shows one in its repr (tracebacks with locals, debuggers).


@dataclass(frozen=True)
class Authorize:
    """Get the ``Authorization`` value to send: the usable token's, or a replacement for ``rejected``.

    The answer is the header, or for ``rejected`` the replacement :class:`~.token.Token` (whose
    ``minted_at`` tells the flow whether it was asked for after the 401). With ``after``, only a token
    this process asked for at or after that monotonic time will do.
    """

    rejected: str | None = field(default=None, repr=False)
    after: float | None = None


@dataclass(frozen=True)
class Drop:
    """Forget the token that carried ``header`` if it is still the current one (no token request)."""

    header: str = field(repr=False)


@dataclass(frozen=True)
class Send:
    """Send the request (rewound when not the first send) with ``authorization`` (None: no header)."""

    authorization: str | None = field(repr=False)
    kind: SendKind = SendKind.FIRST


@dataclass(frozen=True)
class Rewind:
    """Make the request body ready to be sent again; answer False when it cannot be."""


Command = Union[Authorize, Drop, Send, Rewind, Sleep, Reserve, Learn, Reload, SlotToken]

AUTHORIZE = Authorize()
REWIND = Rewind()


class VerdictKind(enum.Enum):
    """How a request ends."""

    DELIVER = "deliver"  # hand the last response to the caller (or raise the last connection error)
    EXHAUSTED = "exhausted"  # retryable, but attempts or time ran out: RetryExhaustedError
    UNREPLAYABLE = "unreplayable"  # a 401 whose body cannot be sent again: UnreplayableBodyError
    REFUSED = "refused"  # no slot in the rate budget within the time budget: RateBudgetError


@dataclass(frozen=True)
class Verdict:
    """The end of a request.

    Attributes:
        kind: What the front end does with the last response.
        sends: How many times the request was sent, a 401 re-send included.
        history: Every attempt, when the request was re-sent after a 401, retried or gave up; empty
            when the first send was the last.
        message: Why it gave up, with every attempt, for :class:`RetryExhaustedError`.
        refusal: For ``REFUSED``: which budget had no slot in time.
    """

    kind: VerdictKind
    sends: int
    history: tuple[Attempt, ...] = ()
    message: str = ""
    refusal: Refusal | None = None


#: The time budget of pacing waits for a request sent without a retry policy (the ``auth=`` hook's).
PACE_WITHIN = 60.0

#: The verdict on a request whose first answer needs no decision (:func:`needs_decision`).
DELIVERED = Verdict(VerdictKind.DELIVER, 1)


@dataclass(frozen=True)
class Sent:
    """A request's first send, already made by its front end (the fast path, or requests' ``auth=`` hook).

    Attributes:
        authorization: The ``Authorization`` value it was sent with (never shown in ``repr``).
        outcome: Its outcome, not yet fed to the clock-offset estimate nor counted: the flow does both.
        started: Monotonic time just before it was sent (the start of the request's time budget).
    """

    authorization: str | None = field(repr=False)
    outcome: Outcome
    started: float


def fast_header(state: TokenState, pacer: Pacer | None, now: float) -> str | None:
    """The header a request may be sent with outside the flow at monotonic time ``now``, or None: run the flow.

    Only a fresh token will do (none due for a refresh, none whose lifetime is a guess: the flow's
    ``Authorize`` would start work for those), and only while the pacer has nothing to do (no budget
    known, no hold, no reload of the fleet's budgets due): a paced request always goes through the flow.
    """
    if pacer is not None and (pacer.engaged or now >= pacer.reload_at):
        return None
    return state.fresh_header(now)


def needs_decision(status: int | None, policy: RetryPolicy | None) -> bool:
    """Whether the flow acts on an API answer of ``status`` (None: a connection failure) under ``policy``.

    A 401 (a new token and a re-send), a 429 (a retry, and pacing learns from it) and a status the policy
    retries do; any other answer is delivered as it is, after :func:`settle`. (The login service's throttle
    in disguise, a 400, concerns token requests, which never take the fast path.)
    """
    return status is None or status == 401 or status == 429 or (policy is not None and status in policy.retry_statuses)


def sample(offset: ClockOffset, date: str | None, sent_wall: float, received_wall: float) -> None:
    """Feed a response's ``Date`` to the clock-offset estimate (cheap when it cannot improve it)."""
    if date and offset.wants(date):
        offset.observe_date_header(date, sent_wall, received_wall)


def settle(
    offset: ClockOffset,
    pacer: Pacer | None,
    authorization: str,
    date: str | None,
    sent_wall: float,
    received_wall: float,
) -> None:
    """What the flow does with an answer that :func:`needs_decision` says needs none, for the fast path:
    the clock sample of its ``Date``, and the pacer's count of answered requests on that token."""
    sample(offset, date, sent_wall, received_wall)
    if pacer is not None:
        pacer.answered(authorization, sent_wall)


def request_flow(
    method: str,
    *,
    policy: RetryPolicy | None,
    clock: Clock,
    offset: ClockOffset,
    what: Callable[[], str],
    authorize: bool = True,
    random: Callable[[], float] = _random.random,
    pacer: Pacer | None = None,
    path: Callable[[], str] = str,
    pace_within: float | None = None,
    first: Sent | None = None,
    slot: int = 0,
) -> Generator[Command, object, Verdict]:
    """The decisions of one request.

    Args:
        method: The HTTP method, for the policy's idempotency rules.
        policy: The retry policy; None (or one attempt) sends once, with no retries.
        clock: Monotonic time for the budget, wall time for ``Retry-After`` dates.
        offset: The clock-offset estimate every outcome's ``Date`` is fed to.
        what: Describes the request for logs and errors (``GET /api/v2/users``, never a token);
            called only when a retry is considered.
        authorize: False for requests that carry no token (token requests): no 401 handling.
        random: Jitter source.
        pacer: The auth's pacer: sends wait for slots in the token's rate budget (ignored without ``authorize``).
        path: Gives the request's path, for the limits of its endpoint family (called only when pacing).
        pace_within: How long pacing may make the request wait in all; by default the policy's ``max_time``
            (:data:`PACE_WITHIN` without a policy).
        first: The first send, already made by the front end (the fast path, whose answer needs a
            decision; the ``auth=`` hook, whose first send requests made and paced): the flow starts from
            its outcome, with no ``Authorize`` and no ``Send`` for it.
        slot: The token pool's slot of the first send's token, when it was made before the flow (the
            ``auth=`` hook's): its 401 replaces that slot's token. Pacing may move a request to another slot
            of the pool (:class:`~.paced.SlotToken` then stands for ``Authorize``).
    """
    if pace_within is None:
        pace_within = policy.max_time if policy is not None else PACE_WITHIN
    if policy is not None and policy.max_attempts == 1:
        policy = None
    started = clock.monotonic() if first is None else first.started
    deadline = started + pace_within
    state: RetryState | None = None  # made on the first retryable outcome, off the hot path
    sends = 0
    resent = False
    header: str | None = None
    paced: Paced | None = None
    if not authorize:
        pacer = None
    if first is not None:
        header = first.authorization
    elif authorize:
        header = _text((yield AUTHORIZE))
    kind = SendKind.FIRST
    # The common case costs one attribute read: nothing is paced until a budget is known.
    if pacer is not None and first is None and (pacer.engaged or started >= pacer.reload_at):
        step = yield from pace(pacer, _text(header), path(), clock, deadline, what, slot)
        if isinstance(step, Refusal):
            return Verdict(VerdictKind.REFUSED, sends, refusal=step)
        if step is not None:
            slot, header, paced = step.slot, step.header, step.paced
            if paced is not None:
                header = _text((yield _authorize(slot)))  # the token may have been refreshed during the wait
    while True:
        if first is None:
            outcome = yield Send(header, kind)
        else:
            outcome, first = first.outcome, None
        assert isinstance(outcome, Outcome)
        sends += 1
        if outcome.foreign:  # a redirect led elsewhere: not the API's answer to judge
            return _ended(Verdict(VerdictKind.DELIVER, sends), state, outcome, paced, started)
        _sample(offset, outcome)
        if pacer is not None:
            if outcome.status == 429 or outcome.throttled:
                yield from learn(pacer, header, path(), outcome, clock, offset.server_time(clock.wall()))
            else:
                pacer.answered(_text(header), outcome.sent_wall)
        # A 401 to a request that lost the token on the way (a redirect hop) is no verdict on the token.
        if outcome.status == 401 and header is not None and not resent and outcome.carried:
            # One new token and one re-send per request, whatever number of retries it takes. The
            # re-send is an attempt like any other: it counts against max_attempts and is in the history.
            # A re-send whose token was not asked for after this 401 (a stored one, or one from a flight
            # that began before it) may predate the revocation the 401 told of: rejected again, it gets
            # one more token, asked for after this 401. So at most two re-sends.
            resent = True
            rejected_at = clock.monotonic()
            after: float | None = None
            while True:
                if not (yield REWIND):
                    yield Drop(header) if slot == 0 else SlotToken(slot, rejected=header, drop=True)
                    return Verdict(VerdictKind.UNREPLAYABLE, sends)
                state = (state or RetryState(started=started)).record(outcome, 0.0, resent=True, paced=paced)
                rejected = (
                    Authorize(rejected=header, after=after) if slot == 0 else SlotToken(slot, True, header, after)
                )
                token = _token((yield rejected))
                header = token.header
                paced = None
                if pacer is not None and pacer.engaged:
                    # The re-send stays on its slot: the token that replaced the rejected one.
                    step = yield from pace(pacer, header, path(), clock, deadline, what, slot, choose=False)
                    if isinstance(step, Refusal):
                        return Verdict(VerdictKind.REFUSED, sends, state.history, refusal=step)
                    paced = None if step is None else step.paced
                outcome = yield Send(header, SendKind.RESEND)
                assert isinstance(outcome, Outcome)
                sends += 1
                if outcome.foreign:
                    return _ended(Verdict(VerdictKind.DELIVER, sends), state, outcome, paced, started)
                _sample(offset, outcome)
                if pacer is not None:
                    if outcome.status == 429 or outcome.throttled:
                        yield from learn(pacer, header, path(), outcome, clock, offset.server_time(clock.wall()))
                    else:
                        pacer.answered(header, outcome.sent_wall)
                if outcome.status != 401 or not outcome.carried or after is not None or token.minted_since(rejected_at):
                    break
                after = rejected_at
        if policy is None or not _may_retry(policy, outcome):
            return _ended(Verdict(VerdictKind.DELIVER, sends), state, outcome, paced, started)
        if state is None:
            state = RetryState(started=started)
        tried = state.record(outcome)
        decision = decide(
            policy,
            method,
            tried,
            outcome,
            now=clock.monotonic(),
            server_now=offset.server_time(clock.wall()),
            random=random,
        )
        if decision.retry and not (yield REWIND):
            _log.warning("Not retrying %s after %s: its body cannot be sent again.", what(), outcome.description)
            decision = Decision(retry=False)
        if not decision.retry:
            history = tried.ended(outcome, paced)
            if not decision.exhausted:
                return Verdict(VerdictKind.DELIVER, sends, history)
            elapsed = clock.monotonic() - started
            lines = "; ".join(f"attempt {a.number}: {a}" for a in history)
            message = (
                f"{what()} gave up after {tried.attempts} attempt(s) in {elapsed:.1f} s: {decision.reason}. {lines}."
            )
            return Verdict(VerdictKind.EXHAUSTED, sends, history, message)
        state = state.record(outcome, decision.wait, paced=paced)
        _log.info(
            "Retrying %s in %.1f s (attempt %d of %d): %s.",
            what(),
            decision.wait,
            state.attempts + 1,
            policy.max_attempts,
            outcome.description,
        )
        yield Sleep(decision.wait)
        if authorize:
            header = _text((yield _authorize(slot)))  # the token may have been refreshed meanwhile
        paced = None
        if pacer is not None and pacer.engaged:
            step = yield from pace(pacer, _text(header), path(), clock, deadline, what, slot)
            if isinstance(step, Refusal):
                return Verdict(VerdictKind.REFUSED, sends, state.history, refusal=step)
            if step is not None:
                slot, header, paced = step.slot, step.header, step.paced
                if paced is not None:
                    header = _text((yield _authorize(slot)))  # the token may have been refreshed during the wait
        kind = SendKind.RETRY


class Slots(Protocol):
    """Carries out the pacing commands (:class:`Reserve`, :class:`Learn`, :class:`Reload`) against a budget store,
    and :class:`SlotToken` with the token pool."""

    def carry(self, command: Reserve | Learn | Reload | SlotToken) -> object:
        """A Reservation for ``Reserve``, budgets for ``Learn`` and ``Reload``, a header or Token for ``SlotToken``."""

    async def acarry(self, command: Reserve | Learn | Reload | SlotToken) -> object:
        """As :meth:`carry`, without blocking the event loop."""


class Driver(Protocol):
    """Carries out a flow's commands with blocking I/O (the requests front ends, token requests)."""

    def authorize(self, rejected: str | None, after: float | None = None) -> str | Token:
        """The header of a usable token, or the :class:`Token` that replaces the ``rejected`` one (asked
        for at or after the monotonic time ``after``, when given)."""

    def drop(self, header: str) -> None:
        """Forget the token that carried ``header`` if it is still the current one."""

    def send(self, authorization: str | None, kind: SendKind) -> Outcome:
        """Send the request with that ``Authorization`` value (None: without one) and describe the result."""

    def rewind(self) -> bool:
        """Make the body ready to be sent again; False when it cannot be."""

    def sleep(self, seconds: float) -> None:
        """Wait."""


def run(flow: Generator[Command, object, Verdict], driver: Driver, slots: Slots | None = None) -> Verdict:
    """Carry out every command of ``flow`` with ``driver`` (pacing with ``slots``) and return its verdict."""
    result: object = None
    try:
        while True:
            command = flow.send(result)
            kind = type(command)
            if kind is Send:
                assert isinstance(command, Send)
                result = driver.send(command.authorization, command.kind)
            elif kind is Authorize:
                assert isinstance(command, Authorize)
                result = driver.authorize(command.rejected, command.after)
            elif kind is Rewind:
                result = driver.rewind()
            elif kind is Sleep:
                assert isinstance(command, Sleep)
                driver.sleep(command.seconds)
                result = None
            elif kind is Drop:
                assert isinstance(command, Drop)
                driver.drop(command.header)
                result = None
            else:
                assert slots is not None, "a paced flow needs slots"
                assert isinstance(command, PACING_COMMANDS)
                result = slots.carry(command)
    except StopIteration as stop:
        verdict: Verdict = stop.value
        return verdict
    finally:
        flow.close()


class AsyncDriver(Protocol):
    """Carries out a flow's commands with asyncio (httpx's async token requests)."""

    async def authorize(self, rejected: str | None, after: float | None = None) -> str | Token:
        """The header of a usable token, or the :class:`Token` that replaces the ``rejected`` one."""

    async def drop(self, header: str) -> None:
        """Forget the token that carried ``header`` if it is still the current one."""

    async def send(self, authorization: str | None, kind: SendKind) -> Outcome:
        """Send the request with that ``Authorization`` value (None: without one) and describe the result."""

    async def rewind(self) -> bool:
        """Make the body ready to be sent again; False when it cannot be."""

    async def sleep(self, seconds: float) -> None:
        """Wait without blocking the event loop."""


async def run_async(
    flow: Generator[Command, object, Verdict], driver: AsyncDriver, slots: Slots | None = None
) -> Verdict:
    """Carry out every command of ``flow`` with an asyncio ``driver`` (pacing with ``slots``); its verdict."""
    result: object = None
    try:
        while True:
            command = flow.send(result)
            if isinstance(command, Send):
                result = await driver.send(command.authorization, command.kind)
            elif isinstance(command, Authorize):
                result = await driver.authorize(command.rejected, command.after)
            elif isinstance(command, Rewind):
                result = await driver.rewind()
            elif isinstance(command, Sleep):
                await driver.sleep(command.seconds)
                result = None
            elif isinstance(command, Drop):
                await driver.drop(command.header)
                result = None
            else:
                assert slots is not None, "a paced flow needs slots"
                assert isinstance(command, PACING_COMMANDS)
                result = await slots.acarry(command)
    except StopIteration as stop:
        verdict: Verdict = stop.value
        return verdict
    finally:
        flow.close()


def _authorize(slot: int) -> Authorize | SlotToken:
    """The command for the header of the token of pool slot ``slot`` (0: the auth's own token)."""
    return AUTHORIZE if slot == 0 else SlotToken(slot)


def _text(value: object) -> str:
    assert isinstance(value, str), f"a driver answered Authorize with {type(value).__name__}"
    return value


def _token(value: object) -> Token:
    assert isinstance(value, Token), f"a driver answered Authorize(rejected=...) with {type(value).__name__}"
    return value


def _may_retry(policy: RetryPolicy, outcome: Outcome) -> bool:
    """The cheap test of the common case: a response no policy would retry."""
    status = outcome.status
    return status is None or status == 429 or outcome.throttled or status in policy.retry_statuses


def _sample(offset: ClockOffset, outcome: Outcome) -> None:
    if outcome.sent_wall is not None and outcome.received_wall is not None:
        sample(offset, outcome.date, outcome.sent_wall, outcome.received_wall)


def _ended(
    verdict: Verdict, state: RetryState | None, outcome: Outcome, paced: Paced | None, started: float
) -> Verdict:
    """A request that ends well after retries (or a wait for a slot) keeps its history, the last attempt included."""
    if state is None:
        if paced is None:
            return verdict
        state = RetryState(started=started)
    return Verdict(verdict.kind, verdict.sends, state.record(outcome).ended(outcome, paced))
