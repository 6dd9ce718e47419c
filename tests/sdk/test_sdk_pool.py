"""The SDK bridge takes the token pool like every other option of ``session()``."""

from __future__ import annotations

from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.sdk import api_client

from .conftest import credentials_for


def test_api_client_takes_token_pool(emu: Emulator) -> None:
    client = api_client(credentials_for(emu), token_pool=2)
    try:
        auth = client.get_http_client().session.genesys_auth
        assert auth.pacing is not None and auth.pacing.pool is not None and auth.pacing.pool.size == 2
    finally:
        client.get_http_client().close()
