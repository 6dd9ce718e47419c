"""No token or client secret in a log line (at DEBUG, every library's loggers included) or a repr."""

from __future__ import annotations

import base64
import logging

import pytest

from genesys_auth_adapter.emulator import Emulator

from .frontends import FrontEnd, scenario

ME = "/api/v2/organizations/me"


@scenario
async def test_no_token_or_secret_in_logs_or_reprs(
    fe: FrontEnd, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens: list[str] = []
    reprs: list[str] = []
    for step in ("first token", "after a revocation"):
        if step == "after a revocation":
            emu.revoke_all()
        reply = await fe.get(ME)
        assert reply.status == 200
        current = fe.current()
        assert current is not None
        tokens.append(current.access_token)
        reprs += [*fe.reprs(), repr(reply.raw), repr(reply.raw.request)]
    echo = await fe.post("/_emulator/echo", json={"x": 1})
    reprs.append(repr(echo.raw))
    creds = fe.credentials
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    assert "Obtained token #2" in caplog.text  # the logs did capture the flow
    assert len(set(tokens)) == 2
    text = caplog.text + "\n".join(reprs)
    for secret in (creds.client_secret, basic, *tokens):
        assert secret not in text
