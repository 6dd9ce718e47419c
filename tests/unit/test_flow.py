"""The request flow, driven by hand: every decision of a request with no I/O, no lock and no sleep."""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Generator, Iterator
from email.utils import formatdate

import pytest

from genesys_auth_adapter import GenesysAuth, ManualClock, RetryPolicy
from genesys_auth_adapter.engine.flow import (
    AUTHORIZE,
    REWIND,
    Authorize,
    Command,
    Drop,
    Rewind,
    Send,
    SendKind,
    Sleep,
    Verdict,
    VerdictKind,
    request_flow,
)
from genesys_auth_adapter.engine.retry import Failure, Outcome
from genesys_auth_adapter.engine.skew import ClockOffset
from genesys_auth_adapter.engine.token import Token
from genesys_auth_adapter.session import DEFAULT_TIMEOUT

Flow = Generator[Command, object, Verdict]
DEFAULT_POLICY = RetryPolicy()


def flow(
    method: str = "GET",
    policy: RetryPolicy | None = DEFAULT_POLICY,
    clock: ManualClock | None = None,
    offset: ClockOffset | None = None,
    authorize: bool = True,
    random: float = 0.0,
) -> tuple[Flow, ManualClock, ClockOffset]:
    clock = clock or ManualClock()
    offset = offset or ClockOffset()
    made = request_flow(
        method,
        policy=policy,
        clock=clock,
        offset=offset,
        what=lambda: f"{method} /api/v2/things",
        authorize=authorize,
        random=lambda: random,
    )
    return made, clock, offset


def replacement(number: int, minted_at: float | None = math.inf) -> Token:
    """The token a driver answers ``Authorize(rejected=...)`` with: by default one asked for after any 401;
    ``minted_at=None`` for one taken from a store."""
    header = f"Bearer token-{number}"
    return Token(header[7:], header, number, 0.0, None, None, minted_at=minted_at)


class Script:
    """Drives a flow: answers each command from a list of outcomes and records the commands.

    ``minted`` gives the ``minted_at`` of replacement tokens by number (others: asked for after any 401).
    """

    def __init__(
        self,
        *outcomes: Outcome,
        replayable: bool = True,
        clock: ManualClock | None = None,
        minted: dict[int, float | None] | None = None,
    ) -> None:
        self._outcomes: Iterator[Outcome] = iter(outcomes)
        self.replayable = replayable
        self.clock = clock
        self.minted = minted or {}
        self.commands: list[Command] = []
        self.tokens = 1

    def run(self, made: Flow) -> Verdict:
        result: object = None
        try:
            while True:
                command = made.send(result)
                self.commands.append(command)
                if isinstance(command, Authorize):
                    if command.rejected is None:
                        result = f"Bearer token-{self.tokens}"
                    else:
                        self.tokens += 1
                        result = replacement(self.tokens, self.minted.get(self.tokens, math.inf))
                elif isinstance(command, Send):
                    result = next(self._outcomes)
                elif isinstance(command, Sleep):
                    if self.clock is not None:
                        self.clock.sleep(command.seconds)
                    result = None
                elif isinstance(command, Drop):
                    result = None
                else:
                    result = self.replayable
        except StopIteration as stop:
            verdict: Verdict = stop.value
            return verdict

    def sends(self) -> list[Send]:
        return [c for c in self.commands if isinstance(c, Send)]

    def sleeps(self) -> list[float]:
        return [c.seconds for c in self.commands if isinstance(c, Sleep)]


def status(code: int, **fields: object) -> Outcome:
    return Outcome(status=code, **fields)  # type: ignore[arg-type]


def test_a_success_is_one_token_one_send_and_no_history() -> None:
    made, _, _ = flow()
    script = Script(status(200))
    verdict = script.run(made)
    assert script.commands == [AUTHORIZE, Send("Bearer token-1", SendKind.FIRST)]
    assert verdict == Verdict(VerdictKind.DELIVER, 1)


def test_a_401_gets_one_new_token_and_one_resend() -> None:
    made, _, _ = flow()
    script = Script(status(401), status(200))
    verdict = script.run(made)
    assert script.commands == [
        AUTHORIZE,
        Send("Bearer token-1", SendKind.FIRST),
        REWIND,
        Authorize(rejected="Bearer token-1"),
        Send("Bearer token-2", SendKind.RESEND),
    ]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)


def test_a_401_to_a_request_that_did_not_carry_the_token_keeps_the_token() -> None:
    """Pins: a redirect hop back into the API base lost the token, its 401 dropped the valid token and a
    new one was requested (httpx copies a hop's stripped headers onto the next hop)."""
    made, _, _ = flow()
    script = Script(status(401, carried=False))
    verdict = script.run(made)
    assert script.commands == [AUTHORIZE, Send("Bearer token-1", SendKind.FIRST)]
    assert not [c for c in script.commands if isinstance(c, (Drop, Rewind)) or getattr(c, "rejected", None)]
    assert verdict == Verdict(VerdictKind.DELIVER, 1)


def test_a_401_is_answered_once_per_request_across_retries() -> None:
    """Pins: 401, 503, 401 used to mean two new tokens and four sends."""
    made, clock, _ = flow()
    script = Script(status(401), status(503), status(401), clock=clock)
    verdict = script.run(made)
    assert [s.kind for s in script.sends()] == [SendKind.FIRST, SendKind.RESEND, SendKind.RETRY]
    assert [c for c in script.commands if isinstance(c, Authorize) and c.rejected] == [
        Authorize(rejected="Bearer token-1")
    ]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 3)
    assert [(a.number, a.status, a.resent) for a in verdict.history] == [
        (1, 401, True),
        (2, 503, False),
        (3, 401, False),
    ]


def test_the_401_resend_counts_against_max_attempts_and_is_in_the_history() -> None:
    """Pins: 401, 503, 503 under max_attempts=2 said "gave up after 2 attempt(s)" with 3 sends and no 401."""
    made, clock, _ = flow(policy=RetryPolicy(max_attempts=2, backoff=0.01))
    script = Script(status(401, correlation_id="c-1"), status(503), status(503), clock=clock)
    verdict = script.run(made)
    assert verdict.kind is VerdictKind.EXHAUSTED
    assert verdict.sends == 2 == len(verdict.history)
    assert "gave up after 2 attempt(s)" in verdict.message
    assert "attempt 1: HTTP 401 (correlation id c-1), re-sent with a new token" in verdict.message


def test_a_resend_token_asked_for_after_the_401_and_rejected_too_reaches_the_caller() -> None:
    made, clock, _ = flow()
    script = Script(status(401), status(401), minted={2: clock.monotonic()})
    verdict = script.run(made)
    assert [s.kind for s in script.sends()] == [SendKind.FIRST, SendKind.RESEND]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)


def test_a_stored_resend_token_rejected_too_gets_one_more_asked_for_after_the_401() -> None:
    """Pins issue 13 (7): a token minted just before a revocation and stored just after it was taken from the
    store for the re-send, rejected again, and that second 401 reached the caller."""
    made, clock, _ = flow()
    script = Script(status(401), status(401), status(200), minted={2: None})
    verdict = script.run(made)
    assert script.commands == [
        AUTHORIZE,
        Send("Bearer token-1", SendKind.FIRST),
        REWIND,
        Authorize(rejected="Bearer token-1"),
        Send("Bearer token-2", SendKind.RESEND),
        REWIND,
        Authorize(rejected="Bearer token-2", after=clock.monotonic()),  # when the first 401 came back
        Send("Bearer token-3", SendKind.RESEND),
    ]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 3)
    assert [(a.number, a.status, a.resent) for a in verdict.history] == [
        (1, 401, True),
        (2, 401, True),
        (3, 200, False),
    ]


def test_a_resend_token_from_a_flight_that_began_before_the_401_counts_as_stale() -> None:
    made, clock, _ = flow()
    script = Script(status(401), status(401), status(200), minted={2: clock.monotonic() - 0.5})
    verdict = script.run(made)
    assert [s.kind for s in script.sends()] == [SendKind.FIRST, SendKind.RESEND, SendKind.RESEND]
    assert verdict.sends == 3


def test_a_request_is_never_resent_more_than_twice_after_a_401() -> None:
    made, _, _ = flow()
    script = Script(status(401), status(401), status(401), status(200), minted={2: None, 3: None})
    verdict = script.run(made)
    assert [s.kind for s in script.sends()] == [SendKind.FIRST, SendKind.RESEND, SendKind.RESEND]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 3)  # the third 401 is the answer


def test_a_second_401_after_a_retry_is_not_answered_with_more_tokens() -> None:
    made, clock, _ = flow()
    script = Script(status(401), status(503), status(401), clock=clock, minted={2: None})
    verdict = script.run(made)
    assert [s.kind for s in script.sends()] == [SendKind.FIRST, SendKind.RESEND, SendKind.RETRY]
    assert verdict.sends == 3


def test_the_second_resend_of_a_body_that_cannot_be_sent_again_drops_the_token_and_stops() -> None:
    made, _, _ = flow()
    commands: list[Command] = []
    outcomes, rewinds = iter([status(401), status(401)]), iter([True, False])
    result: object = None
    try:
        while True:
            command = made.send(result)
            commands.append(command)
            if isinstance(command, Send):
                result = next(outcomes)
            elif isinstance(command, Rewind):
                result = next(rewinds)
            elif isinstance(command, Authorize):
                result = "Bearer token-1" if command.rejected is None else replacement(2, minted_at=None)
            else:
                result = None
    except StopIteration as stop:
        verdict: Verdict = stop.value
    assert commands[-1] == Drop("Bearer token-2")
    assert (verdict.kind, verdict.sends) == (VerdictKind.UNREPLAYABLE, 2)


def test_a_401_with_a_body_that_cannot_be_resent_drops_the_token_and_stops() -> None:
    made, _, _ = flow()
    script = Script(status(401), replayable=False)
    verdict = script.run(made)
    assert script.commands[-2:] == [REWIND, Drop("Bearer token-1")]
    assert verdict == Verdict(VerdictKind.UNREPLAYABLE, 1)


def test_a_429_waits_what_the_server_said_and_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="genesys_auth_adapter.retry")
    made, clock, _ = flow("POST")
    script = Script(status(429, retry_after="3", correlation_id="c-1"), status(200), clock=clock)
    verdict = script.run(made)
    assert script.sleeps() == [3.0]
    assert [s.authorization for s in script.sends()] == ["Bearer token-1", "Bearer token-1"]
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)
    assert [(a.number, a.status, a.wait) for a in verdict.history] == [(1, 429, 3.0), (2, 200, None)]
    assert "Retrying POST /api/v2/things in 3.0 s (attempt 2 of 5): HTTP 429 (correlation id c-1)" in caplog.text


def test_a_retry_asks_for_the_token_again() -> None:
    """Pins: a retry after a long wait re-sending a token that was refreshed meanwhile."""
    made, clock, _ = flow()
    script = Script(status(503), status(200), clock=clock)
    script.run(made)
    assert script.commands.count(AUTHORIZE) == 2


def test_exhaustion_lists_every_attempt() -> None:
    made, clock, _ = flow(policy=RetryPolicy(max_attempts=3, backoff=1.0))
    script = Script(*[status(503, correlation_id=f"c-{n}") for n in range(3)], clock=clock)
    verdict = script.run(made)
    assert verdict.kind is VerdictKind.EXHAUSTED and verdict.sends == 3
    assert [str(a) for a in verdict.history] == [
        "HTTP 503 (correlation id c-0), waited 0.5 s",
        "HTTP 503 (correlation id c-1), waited 1.0 s",
        "HTTP 503 (correlation id c-2)",
    ]
    assert [(a.number, a.status, a.correlation_id) for a in verdict.history] == [
        (1, 503, "c-0"),
        (2, 503, "c-1"),
        (3, 503, "c-2"),
    ]
    assert verdict.message.startswith("GET /api/v2/things gave up after 3 attempt(s) in 1.5 s: no attempts left")
    assert "attempt 3: HTTP 503 (correlation id c-2)" in verdict.message


def test_a_connect_failure_is_retried_even_for_a_post() -> None:
    made, clock, _ = flow("POST")
    script = Script(Outcome(failure=Failure.NOT_SENT, detail="ConnectError (not sent)"), status(201), clock=clock)
    verdict = script.run(made)
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)


def test_a_dropped_post_is_not_retried() -> None:
    made, _, _ = flow("POST")
    script = Script(Outcome(failure=Failure.MAYBE_SENT, detail="ConnectionError (maybe sent)"), status(200))
    verdict = script.run(made)
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 1)
    assert len(script.sends()) == 1


def test_a_body_that_cannot_be_resent_gets_the_response_as_it_came(caplog: pytest.LogCaptureFixture) -> None:
    made, _, _ = flow()
    script = Script(status(429, retry_after="1"), replayable=False)
    verdict = script.run(made)
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 1)
    assert script.sleeps() == []
    assert "its body cannot be sent again" in caplog.text


def test_a_throttle_in_disguise_is_retried_and_a_plain_400_is_not() -> None:
    made, clock, _ = flow("POST", authorize=False)
    script = Script(status(400, throttled=True, retry_after="2"), status(200), clock=clock)
    verdict = script.run(made)
    assert script.sleeps() == [2.0]
    assert verdict.sends == 2
    made, _, _ = flow("POST", authorize=False)
    script = Script(status(400))
    assert script.run(made).sends == 1


def test_without_a_policy_nothing_is_retried_but_a_401_is_still_answered() -> None:
    """The auth= hook: requests made the first send; retries are the adapter's job."""
    made, _, _ = flow(policy=None)
    script = Script(status(503), status(200))
    assert script.run(made) == Verdict(VerdictKind.DELIVER, 1)
    made, _, _ = flow(policy=RetryPolicy(max_attempts=1))
    script = Script(status(401), status(503))
    verdict = script.run(made)
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)
    assert [str(a) for a in verdict.history] == ["HTTP 401, re-sent with a new token", "HTTP 503"]


def test_a_token_request_carries_no_token_and_a_401_is_final() -> None:
    made, _, _ = flow("POST", authorize=False)
    script = Script(status(401))
    assert script.run(made) == Verdict(VerdictKind.DELIVER, 1)
    assert script.commands == [Send(None, SendKind.FIRST)]


def test_every_outcome_is_one_clock_sample() -> None:
    """Pins: the token response's Date being sampled twice (once per layer)."""
    offset = ClockOffset()
    made, clock, _ = flow(offset=offset)
    sent = clock.wall()
    date = formatdate(sent + 100.0, usegmt=True)
    script = Script(status(200, date=date, sent_wall=sent, received_wall=sent + 0.01))
    script.run(made)
    estimate = offset.estimate
    assert estimate is not None and estimate.samples == 1
    assert estimate.low <= 100.0 <= estimate.high + 1.0


@pytest.mark.parametrize(
    ("method", "timeout", "policy"),
    [
        ("GET", DEFAULT_TIMEOUT, RetryPolicy()),
        # A token request under GenesysAuth's default timeout (a token request may be repeated).
        ("POST", inspect.signature(GenesysAuth).parameters["timeout"].default, RetryPolicy().with_methods("POST")),
    ],
    ids=["api-get", "token-request"],
)
def test_a_read_timeout_under_the_default_timeouts_is_retried(
    method: str, timeout: tuple[float, float], policy: RetryPolicy
) -> None:
    """Pins: the 60 s read timeout using up the whole 60 s budget, so the documented retry never happened."""
    clock = ManualClock()
    made, _, _ = flow(method, policy=policy, clock=clock, authorize=method == "GET", random=0.999)
    connect, read = timeout
    script = Script(clock=clock)
    result: object = None
    outcomes = iter([Outcome(failure=Failure.MAYBE_SENT, detail="ReadTimeout (maybe sent)"), status(200)])
    try:
        while True:
            command = made.send(result)
            script.commands.append(command)
            if isinstance(command, Send):
                outcome = next(outcomes)
                if outcome.failure is not None:
                    clock.advance(connect + read)  # the slowest read timeout: a slow connect, then silence
                result = outcome
            elif isinstance(command, Sleep):
                clock.sleep(command.seconds)
                result = None
            elif isinstance(command, Authorize):
                result = "Bearer token-1"
            else:
                result = True
    except StopIteration as stop:
        verdict: Verdict = stop.value
    assert (verdict.kind, verdict.sends) == (VerdictKind.DELIVER, 2)
