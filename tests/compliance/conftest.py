"""Fixtures of the compliance suite: an emulator, and each scenario once per front end."""

from __future__ import annotations

from typing import Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

from .frontends import KINDS, FrontEnd, FrontEndKind


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    """An emulator without the per-token rate limit (a 200-task storm would otherwise be throttled)."""
    return genesys_emulator_factory(rate_limit=0)


@pytest.fixture(params=list(KINDS), ids=list(KINDS))
def kind(request: pytest.FixtureRequest) -> FrontEndKind:
    """Each front end in turn; :func:`~.frontends.scenario` closes what it opened."""
    name: str = request.param
    return FrontEndKind(name, KINDS[name])


@pytest.fixture
def fe(kind: FrontEndKind, emu: Emulator) -> FrontEnd:
    """A client of the front end under test, on ``emu``, with a recording clock and fast retries."""
    return kind.open(emu)
