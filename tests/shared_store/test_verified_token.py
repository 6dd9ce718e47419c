"""``token()`` hands out a stored token only once the server's clock is known (every front end).

A process that has not seen a response yet cannot read a stored entry's expiry (a server-clock time);
``token()`` verifies the stored token with one ``HEAD /api/v2/tokens/me`` (a clock sample, and a 401 when
the token is dead) before handing it out.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest
import requests

from genesys_auth_adapter import GenesysAuth, RetryPolicy, from_env
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.engine.token import Token
from genesys_auth_adapter.httpx import GenesysHttpxAuth
from genesys_auth_adapter.stores import MemoryTokenStore
from genesys_auth_adapter.stores.shared import PROVISIONAL, source_key

VERIFY = "/api/v2/tokens/me"
FRONT_ENDS = ["requests", "httpx", "httpx-async"]


def token_of(
    front_end: str, emu: Emulator, store: MemoryTokenStore, retry: RetryPolicy | None = None
) -> tuple[Token, float]:
    """A fresh process's ``token()`` through ``front_end``, and the token's remaining seconds just after."""
    credentials = from_env(emu.env(), use_dotenv=False)
    if front_end == "requests":
        auth = GenesysAuth(credentials, store=store, retry=retry)
        try:
            token = auth.token()
            return token, _remaining(token, auth.manager.clock.monotonic())
        finally:
            auth.close()
    hauth = GenesysHttpxAuth(credentials, store=store, retry=retry)
    token = hauth.token() if front_end == "httpx" else asyncio.run(hauth.atoken())
    return token, _remaining(token, hauth.clock.monotonic())


def _remaining(token: Token, now: float) -> float:
    left = token.remaining(now)
    assert left is not None
    return left


def verifications(emu: Emulator) -> list[int | None]:
    return [r["status"] for r in emu.requests() if (r["method"], r["path"]) == ("HEAD", VERIFY)]


def stored_by_another_process(emu: Emulator, store: MemoryTokenStore) -> str:
    writer = GenesysAuth(from_env(emu.env(), use_dotenv=False), store=store)
    try:
        return writer.token().access_token
    finally:
        writer.close()


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_a_stored_token_expired_on_the_server_clock_is_replaced_before_it_is_handed_out(
    genesys_emulator_factory: Callable[..., Emulator], front_end: str
) -> None:
    """Pins: a fresh process judged a stored entry's server-clock expiry by its own clock: with the server
    600 s ahead and 20 s tokens, a token stored 24 s earlier (expired) was handed out by token()."""
    emu = genesys_emulator_factory(token_lifetime=20, skew=600)
    store = MemoryTokenStore()
    old = stored_by_another_process(emu, store)
    emu.set_skew(624)  # 24 s later on the server's clock: the stored token is dead there
    token, left = token_of(front_end, emu, store)
    assert token.access_token != old
    assert 0 < left <= 20
    answer = requests.head(emu.api_url + VERIFY, headers={"Authorization": token.header}, timeout=10)
    assert answer.status_code == 200
    assert verifications(emu)[:2] == [401, 200]
    # The dead entry was replaced in the store (compare-and-delete, then the new token saved).
    key = source_key(from_env(emu.env(), use_dotenv=False))
    assert key is not None
    entry = store.load(key)
    assert entry is not None and entry.access_token == token.access_token
    assert emu.counters()["token_requests"] == 2


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_a_verified_stored_token_is_handed_out_with_its_true_lifetime(
    genesys_emulator_factory: Callable[..., Emulator], front_end: str
) -> None:
    """Pins: a stored 86,400 s token was handed out with 360 s to live, the provisional trust of an
    unverified token (the refresh margin plus PROVISIONAL), not its lifetime."""
    emu = genesys_emulator_factory(token_lifetime=86400)
    store = MemoryTokenStore()
    old = stored_by_another_process(emu, store)
    token, left = token_of(front_end, emu, store)
    assert token.access_token == old
    assert left > 86000 and not token.provisional
    assert left > 300 + PROVISIONAL
    assert token.generation == 1  # taken again with its true lifetime, it is still the process's first token
    assert verifications(emu) == [200]
    assert emu.counters()["token_requests"] == 1


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_a_check_answered_only_by_errors_still_gives_the_token_its_lifetime(
    genesys_emulator_factory: Callable[..., Emulator], front_end: str
) -> None:
    """A 503 storm on the check is no reason to fail token(): each 503 carried the server's clock, which is
    what the check was for; the stored token is handed out with its true lifetime."""
    emu = genesys_emulator_factory(token_lifetime=86400)
    store = MemoryTokenStore()
    old = stored_by_another_process(emu, store)
    emu.fail_api_requests(3, status=503)
    token, left = token_of(front_end, emu, store, RetryPolicy(max_attempts=3, backoff=0.01, max_backoff=0.02))
    assert token.access_token == old and left > 86000
    assert verifications(emu) == [503, 503, 503]
    assert emu.counters()["token_requests"] == 1
