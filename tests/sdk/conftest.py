"""Fixtures of the official SDK front end's tests: the real PureCloudPlatformClientV2 against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest

from genesys_auth_adapter import ClientCredentials, RetryPolicy
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.sdk import api_client

#: Retries with real but tiny backoff waits (a server's Retry-After is still obeyed as given).
FAST_RETRY = RetryPolicy(backoff=0.01, max_backoff=0.05)

ApiClientFactory = Callable[..., Any]


def credentials_for(emu: Emulator) -> ClientCredentials:
    env = emu.env()
    return ClientCredentials(
        env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"], api_url=emu.api_url, login_url=emu.login_url
    )


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    """An emulator without the per-token rate limit (a 32-thread storm would otherwise be throttled)."""
    return genesys_emulator_factory(rate_limit=0)


@pytest.fixture
def make_client() -> Iterator[ApiClientFactory]:
    """``make_client(emu, **options)``: ``api_client()`` for an emulator (fast retries, 15 s timeouts);
    every client made is closed after the test."""
    made: list[Any] = []

    def make(emu: Emulator, **options: Any) -> Any:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("timeout", (5.0, 15.0))
        client = api_client(credentials_for(emu), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.get_http_client().close()


@pytest.fixture
def client(emu: Emulator, make_client: ApiClientFactory) -> Any:
    """An ``ApiClient`` of the SDK on ``emu`` whose requests go through this library."""
    return make_client(emu)
