"""The fast path on every front end: taken in the common case, and only then; what it sends needs the flow.

The front ends start the request flow (a generator) only when the fast path does not apply, or when its
answer needs a decision (see ``engine/flow.py``). The ``flows`` fixture counts the flows they start.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pytest

import genesys_auth_adapter.httpx.auth as httpx_front
import genesys_auth_adapter.transport.auth as requests_front
from genesys_auth_adapter import GenesysAuth, ManualClock
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.engine.pacer import Pacer
from genesys_auth_adapter.engine.skew import ClockOffset
from genesys_auth_adapter.engine.state import TokenState
from genesys_auth_adapter.stores.file import FileTokenStore

from .frontends import FrontEnd, FrontEndKind, credentials_for, scenario

ME = "/api/v2/organizations/me"


@pytest.fixture
def flows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The request flows the front ends start (token requests' own flows aside), by front-end module."""
    started: list[str] = []
    for module in (requests_front, httpx_front):
        original = module.request_flow

        def counting(*args: Any, _original: Any = original, _name: str = module.__name__, **kwargs: Any) -> Any:
            started.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "request_flow", counting)
    return started


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ``Authorization`` values of the answers the pacers counted."""
    counted: list[str] = []
    original = Pacer.answered

    def counting(self: Pacer, authorization: str, sent_wall: float | None) -> None:
        counted.append(authorization)
        original(self, authorization, sent_wall)

    monkeypatch.setattr(Pacer, "answered", counting)
    return counted


def state_of(fe: FrontEnd) -> TokenState:
    auth = fe.auth
    return auth.manager.state if isinstance(auth, GenesysAuth) else auth.state


def sent(emu: Emulator) -> int:
    count: int = emu.counters()["requests_by_path"].get(ME, 0)
    return count


@scenario
async def test_the_common_case_never_starts_the_flow(
    fe: FrontEnd, emu: Emulator, flows: list[str], answered: list[str]
) -> None:
    """A fresh token, nothing to pace, a 200: the request is sent once and the generator never starts."""
    assert (await fe.get(ME)).status == 200  # the first token is got (through the flow, but for auth=)
    flows.clear()
    answered.clear()
    for _ in range(5):
        reply = await fe.get(ME)
        assert (reply.status, reply.attempts, reply.authorization_sent) == (200, 1, True)
    assert flows == []
    assert sent(emu) == 6 and emu.counters()["token_requests"] == 1
    token = fe.current()
    assert token is not None and answered == [token.header] * 5  # counted all the same, for learning


@scenario
async def test_the_fast_paths_date_reaches_the_clock_offset_estimate(
    fe: FrontEnd, emu: Emulator, flows: list[str]
) -> None:
    emu.set_skew(1000.0)
    assert (await fe.get(ME)).status == 200
    fresh = state_of(fe).offset = ClockOffset()  # forget every sample so far: the next one is the only one
    flows.clear()
    assert (await fe.get(ME)).status == 200
    assert flows == []
    estimate = fresh.estimate
    assert estimate is not None and estimate.samples == 1
    assert 998.5 <= estimate.offset <= 1001.5


@scenario
async def test_a_401_on_the_fast_path_gets_one_new_token_and_one_resend(
    fe: FrontEnd, emu: Emulator, flows: list[str]
) -> None:
    assert (await fe.get(ME)).status == 200
    emu.revoke_all()
    flows.clear()
    reply = await fe.get(ME)
    assert (reply.status, reply.attempts) == (200, 2)
    assert len(flows) == 1  # started from the fast path's send: the 401 was not sent again
    assert sent(emu) == 1 + 2
    assert emu.counters()["token_requests"] == 2


@scenario
async def test_a_503_on_the_fast_path_is_retried_where_the_front_end_retries(
    fe: FrontEnd, emu: Emulator, flows: list[str]
) -> None:
    assert (await fe.get(ME)).status == 200
    emu.fail_api_requests(1, status=503)
    flows.clear()
    reply = await fe.get(ME)
    if fe.kind.retries:
        assert (reply.status, reply.attempts, len(flows)) == (200, 2, 1)
        assert sent(emu) == 1 + 2
    else:  # auth= alone has no retry policy: the flow would deliver the 503 as it is, and so does the fast path
        assert (reply.status, reply.attempts, len(flows)) == (503, 1, 0)
        assert sent(emu) == 1 + 1


@scenario
async def test_a_429_on_the_fast_path_is_learned_from_and_pacing_then_goes_through_the_flow(
    fe: FrontEnd, emu: Emulator, flows: list[str], answered: list[str]
) -> None:
    assert (await fe.get(ME)).status == 200
    pacer = fe.auth.pacer
    assert pacer is not None and not pacer.engaged
    emu.fail_api_requests(1, status=429, retry_after=0)
    flows.clear()
    reply = await fe.get(ME)
    assert (reply.status, reply.attempts) == ((200, 2) if fe.kind.retries else (429, 1))
    assert len(flows) == 1 and sent(emu) == 1 + reply.attempts
    assert pacer.engaged  # the 429 engaged pacing: learned by the flow
    flows.clear()
    answered.clear()
    for _ in range(3):
        assert (await fe.get(ME)).status == 200
    assert len(flows) == 3  # every request is paced by the flow now
    assert len(answered) == 3


@scenario
async def test_a_token_in_its_refresh_window_is_refreshed_before_it_is_sent(
    kind: FrontEndKind, genesys_emulator_factory: Callable[..., Emulator]
) -> None:
    """The fast path must not send a token the flow would refresh ahead of expiry."""
    emu = genesys_emulator_factory(token_lifetime=60, rate_limit=0)
    clock = ManualClock(wall=time.time(), monotonic=time.monotonic())
    fe = kind.open(emu, clock=clock)
    assert (await fe.get(ME)).status == 200
    assert (await fe.get(ME)).status == 200  # the fast path
    first = fe.current()
    assert first is not None and first.refresh_at is not None
    jump = first.refresh_at - clock.monotonic() + 0.5  # in the refresh window, 29.5 s before expiry
    clock.advance(jump)
    emu.set_skew(jump)
    reply = await fe.get(ME)
    second = fe.current()
    assert (reply.status, reply.attempts) == (200, 1)
    assert second is not None and second.generation == 2
    assert emu.counters()["token_requests"] == 2


@scenario
async def test_a_provisional_token_goes_through_the_flow(
    kind: FrontEndKind, emu: Emulator, tmp_path: Path, flows: list[str]
) -> None:
    """A token taken from a store before the server's clock was known keeps to the flow until replaced."""
    writer = GenesysAuth(credentials_for(emu), store=FileTokenStore(tmp_path))
    writer.header()  # another process stored a token
    writer.close()
    fe = kind.open(emu, store=f"file:{tmp_path}")
    assert (await fe.get(ME)).status == 200
    token = fe.current()
    assert token is not None and token.provisional
    flows.clear()
    assert (await fe.get(ME)).status == 200
    assert len(flows) == 1
    assert emu.counters()["token_requests"] == 1  # the writer's: the stored token is the one used


@scenario
async def test_a_due_reload_of_the_fleets_budgets_is_made(kind: FrontEndKind, emu: Emulator, tmp_path: Path) -> None:
    """With a shared store, the fleet's budgets are read every ``reload_every`` seconds, fast path or not."""
    clock = ManualClock(wall=time.time(), monotonic=time.monotonic())
    fe = kind.open(emu, clock=clock, store=f"file:{tmp_path}")
    assert (await fe.get(ME)).status == 200
    pacer = fe.auth.pacer
    assert pacer is not None
    every = pacer.policy.reload_every
    assert pacer.reload_at == clock.monotonic() + every  # read once, on the first request
    clock.advance(every / 2)
    assert (await fe.get(ME)).status == 200
    assert pacer.reload_at < clock.monotonic() + every  # not due: not read
    clock.advance(every / 2)
    assert (await fe.get(ME)).status == 200
    assert pacer.reload_at == clock.monotonic() + every  # due: read again
