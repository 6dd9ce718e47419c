"""Token requests of the httpx front end over real loopback sockets: what they build, and on which thread.

Building an SSL context loads the CA bundle synchronously (tens of milliseconds), and httpx builds one
for every client made with ``verify=True``, even for an http URL. On an event loop that is a stall of
every task; how long it is belongs in ``bench/loop_stall.py``, where it is measured. Here: where and how
often the bundle is loaded.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from typing import Any, Callable

import httpx
import pytest

from genesys_auth_adapter import ClientCredentials
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.httpx import GenesysHttpxAuth


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()


@pytest.fixture
def creds(emu: Emulator) -> ClientCredentials:
    env = emu.env()
    return ClientCredentials(
        env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"], api_url=emu.api_url, login_url=emu.login_url
    )


@pytest.fixture
def bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every CA bundle load (``SSLContext.load_verify_locations``) from now on."""
    loads: list[int] = []
    load = ssl.SSLContext.load_verify_locations

    def recording(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(threading.get_ident())
        load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", recording)
    return loads


async def new_tokens(auth: GenesysHttpxAuth, count: int) -> int:
    """Make ``count`` token requests (dropping the token before each); returns the loop's thread."""
    for _ in range(count):
        current = auth.state.current
        if current is not None:
            auth.state.discard(current.header)
        await auth.atoken()
    return threading.get_ident()


def test_async_token_requests_load_the_ca_bundle_once_and_never_on_the_loop(
    emu: Emulator, creds: ClientCredentials, bundle_loads: list[int]
) -> None:
    """Pins: each async token request built an ``httpx.AsyncClient()`` on the loop, whose SSL context
    loaded the CA bundle there: a 28-100 ms stall of every task per token request."""
    auth = GenesysHttpxAuth(creds)
    loop_threads = {asyncio.run(new_tokens(auth, 3)) for _ in range(2)}  # two loops, one after the other
    assert emu.counters()["token_requests"] == 6
    assert len(bundle_loads) == 1
    assert loop_threads.isdisjoint(bundle_loads)


def test_sync_token_requests_share_one_ssl_context(
    emu: Emulator, creds: ClientCredentials, bundle_loads: list[int]
) -> None:
    auth = GenesysHttpxAuth(creds)
    for _ in range(3):
        current = auth.state.current
        if current is not None:
            auth.state.discard(current.header)
        auth.token()
    assert emu.counters()["token_requests"] == 3
    assert len(bundle_loads) == 1


def test_a_client_handed_in_is_used_and_left_open(
    emu: Emulator, creds: ClientCredentials, bundle_loads: list[int]
) -> None:
    async def scenario() -> bool:
        async with httpx.AsyncClient(verify=False) as mine:
            auth = GenesysHttpxAuth(creds, async_http=mine)
            await new_tokens(auth, 2)
            return mine.is_closed

    assert asyncio.run(scenario()) is False
    assert emu.counters()["token_requests"] == 2
    assert bundle_loads == []  # verify=False loads no bundle, and the library built no context of its own


def test_the_check_of_a_stored_token_loads_the_ca_bundle_off_the_loop(
    emu: Emulator, creds: ClientCredentials, bundle_loads: list[int], tmp_path: Any
) -> None:
    """Pins: ``atoken()``'s check of a stored token (``HEAD /api/v2/tokens/me`` before the server's clock is
    known) built its client's transport on the loop, loading the CA bundle there."""
    from genesys_auth_adapter import FileTokenStore

    store = FileTokenStore(tmp_path)
    asyncio.run(GenesysHttpxAuth(creds, store=store).atoken())  # a first process stores its token
    fresh = GenesysHttpxAuth(creds, store=store)  # a second one has no clock sample: it checks the stored token

    async def checked() -> int:
        await fresh.atoken()
        return threading.get_ident()

    bundle_loads.clear()
    loop_thread = asyncio.run(checked())
    assert emu.counters()["token_requests"] == 1  # the stored token was used: the check ran
    assert fresh.clock_offset is not None  # and it read the server's clock
    assert bundle_loads and loop_thread not in bundle_loads
