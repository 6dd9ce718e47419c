"""Rate limits, 5xx bursts and dropped connections on every front end.

The requests ``auth=`` hook does not retry (retries are the adapter's): for it, the same scenarios pin
that the first answer reaches the caller as it is, after exactly one send.
"""

from __future__ import annotations

import time
from typing import Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

from .frontends import FrontEnd, FrontEndKind, scenario

ME = "/api/v2/organizations/me"
USERS = "/api/v2/users"
QUERY = "/api/v2/analytics/conversations/details/query"
INTERVAL = {"interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z"}


@scenario
async def test_a_429_with_retry_after_in_seconds_is_waited_out(fe: FrontEnd, emu: Emulator) -> None:
    assert (await fe.get(ME)).status == 200  # the token first, so the timing below is the retry's
    emu.fail_api_requests(1, status=429, retry_after=1)
    started = time.monotonic()
    reply = await fe.get(ME)
    elapsed = time.monotonic() - started
    assert emu.counters()["api_429"] == 1
    if not fe.retries:
        assert (reply.status, reply.attempts) == (429, 1)
        assert elapsed < 0.9  # handed back at once, not waited out
        assert emu.counters()["requests_by_path"][ME] == 2
        return
    assert (reply.status, reply.attempts) == (200, 2)
    assert 0.95 <= elapsed < 3.0
    if fe.sleeps is not None:
        assert fe.sleeps == [1.0]
    assert emu.counters()["requests_by_path"][ME] == 3


@scenario
async def test_an_http_date_retry_after_is_read_on_the_server_clock(
    kind: FrontEndKind, genesys_emulator_factory: Callable[..., Emulator]
) -> None:
    """Pins: a client 10 minutes behind the server waiting 10 minutes (or giving up) for a dated Retry-After."""
    emu = genesys_emulator_factory(skew=600.0, rate_limit=0)
    fe = kind.open(emu)
    for _ in range(3):  # the clock offset is learned from the Date headers
        assert (await fe.get(ME)).status == 200
    estimate = fe.auth.clock_offset
    assert estimate is not None and abs(estimate.offset - 600.0) <= 1.0
    emu.fail_api_requests(1, status=429, retry_after=2, retry_after_date=True)
    started = time.monotonic()
    reply = await fe.get(ME)
    elapsed = time.monotonic() - started
    if not fe.retries:
        assert (reply.status, reply.attempts) == (429, 1)
        assert elapsed < 0.9
        return
    assert (reply.status, reply.attempts) == (200, 2)
    # Two seconds from the server's now, give or take the header's whole-second resolution.
    assert 0.5 <= elapsed < 4.0
    if fe.sleeps is not None:
        assert len(fe.sleeps) == 1
        assert 0.5 <= fe.sleeps[0] <= 3.5


@scenario
async def test_a_503_burst_is_ridden_out(fe: FrontEnd, emu: Emulator) -> None:
    emu.fail_api_requests(3, status=503)
    reply = await fe.get(USERS, params={"pageSize": 5})
    if not fe.retries:
        assert (reply.status, reply.attempts) == (503, 1)
        assert emu.counters()["requests_by_path"][USERS] == 1
        return
    assert (reply.status, reply.attempts) == (200, 4)
    assert reply.json()["pageSize"] == 5
    assert emu.counters()["requests_by_path"][USERS] == 4
    if fe.sleeps is not None:
        assert len(fe.sleeps) == 3
        assert fe.sleeps[0] < fe.sleeps[2]  # exponential backoff


@scenario
async def test_a_503_on_a_post_is_not_retried(fe: FrontEnd, emu: Emulator) -> None:
    """A POST the server may have acted on is never sent twice, on any front end."""
    emu.fail_api_requests(1, status=503, paths=[QUERY])
    reply = await fe.post(QUERY, json=INTERVAL)
    assert (reply.status, reply.attempts) == (503, 1)
    assert emu.counters()["requests_by_path"][QUERY] == 1


@scenario
async def test_a_post_whose_connection_drops_reaches_the_server_once(fe: FrontEnd, emu: Emulator) -> None:
    """Pins: a duplicated write after the server may already have acted on it."""
    assert (await fe.get(ME)).status == 200
    emu.fail_api_requests(1, status="drop", paths=[QUERY])
    with pytest.raises(fe.connection_error):
        await fe.post(QUERY, json=INTERVAL)
    assert emu.counters()["requests_by_path"][QUERY] == 1
    if fe.sleeps is not None:
        assert fe.sleeps == []


@scenario
async def test_a_get_whose_connection_drops_is_retried(fe: FrontEnd, emu: Emulator) -> None:
    assert (await fe.get(ME)).status == 200
    emu.fail_api_requests(1, status="drop", paths=[ME])
    if not fe.retries:
        with pytest.raises(fe.connection_error):
            await fe.get(ME)
        assert emu.counters()["requests_by_path"][ME] == 2
        return
    reply = await fe.get(ME)
    assert (reply.status, reply.attempts) == (200, 2)
    assert emu.counters()["requests_by_path"][ME] == 3
