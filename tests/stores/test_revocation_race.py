"""A token minted just before a revocation and stored just after it costs one more re-send, never a 401.

Pins issue 13 (7): a request rejected with a revoked token took the replacement from the store, where
another process had just put a token minted before the same revocation; that re-send was rejected too and
the second 401 reached the caller (bench/fleet.py: 2 of 13,876 requests).
"""

from __future__ import annotations

import threading
from typing import Callable

import pytest
import requests

from genesys_auth_adapter import GenesysAuth, attempts, from_env
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.stores import TokenStore
from genesys_auth_adapter.stores.shared import source_key

ME = "/api/v2/organizations/me"


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()


def test_a_stored_token_minted_before_a_revocation_costs_one_more_resend(
    emu: Emulator, file_or_redis: TokenStore
) -> None:
    creds = from_env(emu.env(), use_dotenv=False)
    key = source_key(creds)
    assert key is not None
    holder = GenesysAuth(creds, store=file_or_redis)
    other = GenesysAuth(creds, store=file_or_redis)  # another process
    try:
        held = holder.token()
        assert file_or_redis.delete_if(key, held.access_token)  # the other process must mint its own
        hold = emu.hold_next_token()
        minting = threading.Thread(target=other.header, daemon=True)
        minting.start()
        try:
            assert hold.wait_minted(10)
            emu.revoke_all()  # after the other process's token was minted, before it was received
        finally:
            hold.release()
            minting.join(10)
        stored = file_or_redis.load(key)
        assert stored is not None and stored.access_token == other.token().access_token
        response = requests.get(emu.api_url + ME, auth=holder, timeout=(5, 15))
        assert (response.status_code, attempts(response)) == (200, 3)
        counters = emu.counters()
        assert (counters["token_requests"], counters["api_401"]) == (3, 2)
        # The token minted after the 401 replaced the revoked one in the store, for the other processes.
        stored = file_or_redis.load(key)
        assert stored is not None and stored.access_token == holder.token().access_token
    finally:
        holder.close()
        other.close()
