"""End-to-end fixtures: the emulator on real loopback sockets and library sessions aimed at it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest

from genesys_auth_adapter import ClientCredentials, GenesysAuth, GenesysSession, SystemClock, session
from genesys_auth_adapter.emulator import Emulator

TIMEOUT = (5.0, 15.0)


class RecordingClock(SystemClock):
    """The real clock, remembering every sleep the library asked for."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        super().sleep(seconds)


def concurrent_gets(s: GenesysSession, threads: int, path: str) -> list[int]:
    """Start ``threads`` GETs of ``path`` at the same instant (a barrier) and return their statuses."""
    start = threading.Barrier(threads, timeout=10)

    def call(_: int) -> int:
        start.wait()
        return s.get(path).status_code

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(call, range(threads)))


def credentials_for(emu: Emulator, secret: str | None = None) -> ClientCredentials:
    env = emu.env()
    return ClientCredentials(
        env["GENESYS_CLIENT_ID"],
        secret if secret is not None else env["GENESYS_CLIENT_SECRET"],
        api_url=emu.api_url,
        login_url=emu.login_url,
    )


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()


@pytest.fixture
def creds(emu: Emulator) -> ClientCredentials:
    return credentials_for(emu)


@pytest.fixture
def auth(creds: ClientCredentials) -> Iterator[GenesysAuth]:
    """A ``GenesysAuth`` on the emulator, closed afterwards (its token session's sockets with it)."""
    auth = GenesysAuth(creds)
    yield auth
    auth.close()


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def gsession(creds: ClientCredentials, clock: RecordingClock) -> Iterator[GenesysSession]:
    with session(creds, clock=clock, timeout=TIMEOUT) as s:
        yield s
