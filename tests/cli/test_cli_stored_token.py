"""``genesys-auth token`` never prints a stored token on the strength of the local clock alone.

A fresh process has not seen the server's clock yet, so a stored entry's expiry (a server-clock time)
cannot be read; the command verifies the stored token with one ``HEAD /api/v2/tokens/me`` first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import requests

from genesys_auth_adapter.emulator import Emulator

from .conftest import run_cli

VERIFY = ("HEAD", "/api/v2/tokens/me")


def verifications(emu: Emulator) -> list[int | None]:
    """The statuses of the HEAD /api/v2/tokens/me requests the emulator answered, in order."""
    return [r["status"] for r in emu.requests() if (r["method"], r["path"]) == VERIFY]


def test_a_stored_token_expired_on_the_server_clock_is_replaced_not_printed(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    """Pins: with the server clock 600 s ahead and 20 s tokens, a second `token` run 24 s after the first
    printed the stored, already expired token (the API answered 401)."""
    emu = genesys_emulator_factory(token_lifetime=20, skew=600)
    first = run_cli("token", env=emu.env(), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    emu.set_skew(624)  # the second run comes 24 s later on the server's clock (no sleep needed)
    second = run_cli("token", env=emu.env(), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    old, new = first.stdout.strip(), second.stdout.strip()
    assert new and new != old
    answer = requests.head(emu.api_url + VERIFY[1], headers={"Authorization": f"Bearer {new}"}, timeout=10)
    assert answer.status_code == 200
    assert verifications(emu)[:2] == [401, 200]  # the stored token was tried once, then replaced
    assert emu.counters()["token_requests"] == 2
    # The store now holds the new token: the next run prints it with no token request.
    third = run_cli("token", env=emu.env(), cwd=tmp_path)
    assert third.stdout.strip() == new
    assert emu.counters()["token_requests"] == 2


def test_token_info_on_a_stored_token_shows_its_real_lifetime(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    """Pins: `token --info` on a stored 86,400 s token said "expires in: 360 s" and `-v` logged "Obtained
    token #1 (valid 360 s)": the provisional trust of an unverified token, not the token's life."""
    emu = genesys_emulator_factory(token_lifetime=86400, skew=-30)
    assert run_cli("token", env=emu.env(), cwd=tmp_path).returncode == 0
    info = run_cli("-v", "token", "--info", env=emu.env(), cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "source:     store" in info.stdout
    expires = re.search(r"expires in: (\d+) s", info.stdout)
    assert expires is not None and 86000 < int(expires.group(1)) <= 86400, info.stdout
    assert "from the token store; its lifetime is known after the first response" in info.stderr
    logged = re.search(r"Token #1: valid (\d+) s on the server's clock", info.stderr)
    assert logged is not None and 86000 < int(logged.group(1)) <= 86400, info.stderr
    assert "valid 360 s" not in info.stderr
    assert verifications(emu) == [200]
    assert emu.counters()["token_requests"] == 1
