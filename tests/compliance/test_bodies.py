"""Every body kind is re-sent byte for byte after a 401, and a body that cannot be replayed never short."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesys_auth_adapter import UnreplayableBodyError
from genesys_auth_adapter.emulator import Emulator

from .frontends import Body, FrontEnd, expected_sha256, scenario

ECHO = "/_emulator/echo"
ME = "/api/v2/organizations/me"
REPLAYABLE = [kind for kind in Body if kind is not Body.GENERATOR]


@pytest.mark.parametrize("body", REPLAYABLE, ids=[kind.value for kind in REPLAYABLE])
@scenario
async def test_the_resent_body_is_identical(fe: FrontEnd, emu: Emulator, body: Body, tmp_path: Path) -> None:
    """Pins: a consumed body re-sent as zero bytes (or from the wrong position) after a 401."""
    assert (await fe.get(ME)).status == 200
    emu.revoke_all()
    reply = await fe.post(ECHO, body, tmp_path)
    assert reply.status == 200, reply.content
    assert reply.attempts == 2
    first, second = [r for r in emu.requests() if r["path"] == ECHO]
    assert (first["status"], second["status"]) == (401, 200)
    assert first["body_length"] > 0
    assert (second["body_sha256"], second["body_length"]) == (first["body_sha256"], first["body_length"])
    assert reply.json()["bodySha256"] == first["body_sha256"]
    expected = expected_sha256(body)
    if expected is not None:
        assert first["body_sha256"] == expected


@scenario
async def test_a_body_that_cannot_be_replayed_is_never_resent_short(
    fe: FrontEnd, emu: Emulator, tmp_path: Path
) -> None:
    """Pins: a generator re-sent empty after a 401 (the first send consumed it)."""
    assert (await fe.get(ME)).status == 200
    emu.revoke_all()
    with pytest.raises(UnreplayableBodyError) as caught:
        await fe.post(ECHO, Body.GENERATOR, tmp_path)
    error = caught.value
    assert error.response is not None and error.response.status_code == 401
    assert error.response.json()["status"] == 401  # the Genesys error body stays readable
    assert emu.counters()["requests_by_path"][ECHO] == 1
    # The rejected token was dropped: the next call just works, with one new token.
    assert (await fe.get(ME)).status == 200
    assert emu.counters()["token_requests"] == 2
