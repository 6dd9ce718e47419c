"""pytest plugin (entry point ``genesys_emulator``): a running emulator and a session aimed at it.

It lives outside the ``genesys_auth_adapter`` package on purpose: pytest loads it at every start of every
project that installs the library, and importing it imports nothing of the library (nor requests): the
fixtures import what they need when a test asks for them.

Installed with the package, so any project's tests can use the fixtures without configuration::

    def test_lists_users(genesys_session):
        assert genesys_session.get("/api/v2/users").json()["total"] == 57

    def test_recovers_from_revocation(genesys_emulator, genesys_session):
        genesys_emulator.revoke_all()
        assert genesys_session.get("/api/v2/organizations/me").status_code == 200
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from genesys_auth_adapter.emulator import Emulator
    from genesys_auth_adapter.session import GenesysSession


@pytest.fixture
def genesys_emulator() -> Iterator[Emulator]:
    """A running emulator with default settings, stopped after the test."""
    from genesys_auth_adapter.emulator import Emulator

    with Emulator() as emu:
        yield emu


@pytest.fixture
def genesys_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with custom settings (``factory(skew=300, jwt=True)``); all stop after the test."""
    from genesys_auth_adapter.emulator import Emulator

    started: list[Emulator] = []

    def start(**settings: Any) -> Emulator:
        emu = Emulator(**settings).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def genesys_session(genesys_emulator: Emulator) -> Iterator[GenesysSession]:
    """A :class:`~genesys_auth_adapter.GenesysSession` for ``genesys_emulator`` (relative paths work)."""
    from genesys_auth_adapter import from_env, session

    with session(from_env(genesys_emulator.env(), use_dotenv=False)) as s:
        yield s
