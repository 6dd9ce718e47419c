"""Token scenarios on every front end: refresh ahead of expiry, single flight, 401 and 403 handling."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from genesys_auth_adapter import GenesysAuth, ManualClock
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.stores.file import FileTokenStore
from genesys_auth_adapter.stores.shared import source_key

from .frontends import FrontEnd, FrontEndKind, credentials_for, scenario

ME = "/api/v2/organizations/me"


@scenario
async def test_proactive_refresh_replaces_the_token_before_it_expires(
    kind: FrontEndKind, genesys_emulator_factory: Callable[..., Emulator]
) -> None:
    """Pins: a token used until the server rejects it. Client and server clocks jump together."""
    emu = genesys_emulator_factory(token_lifetime=60)
    clock = ManualClock(wall=time.time(), monotonic=time.monotonic())
    fe = kind.open(emu, clock=clock)
    assert (await fe.get(ME)).status == 200
    first = fe.current()
    assert first is not None and first.refresh_at is not None and first.expires_at is not None
    # Past the refresh point, well before expiry: the server still accepts the first token.
    jump = first.refresh_at - clock.monotonic() + 0.5
    assert jump < first.expires_at - clock.monotonic() - 10
    emu.set_token_lifetime(600)  # the replacement outlives the second jump
    clock.advance(jump)
    emu.set_skew(jump)
    reply = await fe.get(ME)
    second = fe.current()
    assert reply.status == 200 and reply.attempts == 1
    assert second is not None and second.generation == 2
    assert emu.counters()["token_requests"] == 2
    # Past the first token's expiry on the server: the replacement carries on.
    clock.advance(35)
    emu.set_skew(jump + 35)
    assert (await fe.get(ME)).status == 200
    counters = emu.counters()
    assert counters["api_401"] == 0
    assert counters["token_requests"] == 2


@scenario
async def test_a_revocation_storm_causes_one_token_request(fe: FrontEnd, emu: Emulator) -> None:
    """Pins: a thundering herd of token requests after a revocation (32 threads, or 200 tasks)."""
    assert (await fe.get(ME)).status == 200
    emu.revoke_all()
    emu.set_token_delay(0.3)  # a slow login service keeps the flight open while the others pile in
    assert await fe.run_concurrently(ME) == [200] * fe.concurrency
    counters = emu.counters()
    assert counters["token_requests"] == 2  # the first token and exactly one replacement
    # Callers that sent the revoked token were each answered by one re-send; the later ones found it
    # dropped and waited for the same flight instead.
    assert counters["api_401"] >= 1
    assert counters["requests_by_path"][ME] == 1 + fe.concurrency + counters["api_401"]


@scenario
async def test_a_persistent_401_comes_back_after_one_resend(fe: FrontEnd, emu: Emulator) -> None:
    """Pins: an endless re-authenticate loop on a revoked grant."""
    emu.reject_all_tokens(True)
    reply = await fe.get(ME)
    assert reply.status == 401
    assert reply.json()["code"] == "bad.credentials"
    assert reply.headers["ININ-Correlation-Id"]
    assert reply.attempts == 2
    counters = emu.counters()
    assert counters["requests_by_path"][ME] == 2
    assert counters["token_requests"] == 2


@scenario
async def test_a_403_is_left_alone(fe: FrontEnd, emu: Emulator) -> None:
    reply = await fe.get("/api/v2/authorization/roles")
    assert reply.status == 403
    assert reply.json()["code"] == "missing.permissions"
    assert reply.attempts == 1
    counters = emu.counters()
    assert counters["requests_by_path"]["/api/v2/authorization/roles"] == 1
    assert counters["token_requests"] == 1


@pytest.mark.parametrize("status", [429, 400], ids=["429", "400-rate-limit-exceeded"])
@scenario
async def test_a_throttled_token_endpoint_gets_one_request_per_answer(fe: FrontEnd, emu: Emulator, status: int) -> None:
    """Pins: a convoy of token requests from 16 callers while the login service throttles, and its
    400 "rate limit exceeded" failing every caller as if the credentials were wrong."""
    emu.fail_token_requests(2, status=status, retry_after=None)  # waits: the policy's short backoff
    emu.set_token_delay(0.2)  # the one flight stays open while all 16 callers arrive
    assert await fe.run_concurrently(ME, 16) == [200] * 16
    assert emu.counters()["token_requests"] == 3  # two throttled, one success: not 16 of each
    if fe.sleeps is not None:
        assert len(fe.sleeps) == 2  # one shared wait per throttled answer


@scenario
async def test_a_stored_token_minted_before_a_revocation_is_replaced_again_not_surfaced(
    kind: FrontEndKind, emu: Emulator, tmp_path: Path
) -> None:
    """Pins issue 13 (7): another process minted a token just before a revocation and stored it just after;
    a request whose re-send took it from the store got a second 401, which reached the caller."""
    folder = tmp_path / "tokens"
    fe = kind.open(emu, store=f"file:{folder}")
    assert (await fe.get(ME)).status == 200
    held = fe.current()
    assert held is not None
    # Another process: its token request is answered only after the revocation, its token revoked by it.
    other = GenesysAuth(credentials_for(emu), store=FileTokenStore(folder))
    key = source_key(other.credentials)
    assert key is not None and FileTokenStore(folder).delete_if(key, held.access_token)  # it must mint its own
    hold = emu.hold_next_token()
    minting = threading.Thread(target=other.header, daemon=True)
    minting.start()
    try:
        assert hold.wait_minted(10)
        emu.revoke_all()
    finally:
        hold.release()
        minting.join(10)
    stored = FileTokenStore(folder).load(key)
    assert stored is not None and stored.access_token == other.token().access_token  # revoked, and stored
    reply = await fe.get(ME)
    assert (reply.status, reply.attempts) == (200, 3)  # the held token, the stored one, one minted after
    counters = emu.counters()
    assert (counters["token_requests"], counters["api_401"]) == (3, 2)
    other.close()
