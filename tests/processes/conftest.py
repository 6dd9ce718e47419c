"""Fixtures for the multi-process tests: an emulator in this process, reached by children over loopback."""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

#: How long a test waits for a child's answer before failing (a hung child is a failure, not a hang).
CHILD_TIMEOUT = 30.0


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory()


@pytest.fixture
def fork_allowed() -> Iterator[None]:
    """Fork while the emulator's server threads run. Python 3.12+ warns that a multi-threaded fork may
    deadlock in the child; here the child never touches those threads' locks (it reaches the emulator
    over a socket), which is exactly the situation the library's fork handling is for."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
        yield


def in_forked_child(target: Callable[[], Any]) -> Any:
    """Run ``target`` in a child made by ``os.fork`` (via multiprocessing) and return what it returned.

    An exception in the child is re-raised here; a child that does not answer in time fails the test.
    """
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def run() -> None:
        try:
            results.put(("ok", target()))
        except BaseException as exc:  # hand every failure to the parent
            results.put(("error", exc))

    child = context.Process(target=run, daemon=True)
    child.start()
    try:
        kind, value = results.get(timeout=CHILD_TIMEOUT)
    finally:
        child.join(CHILD_TIMEOUT)
        if child.is_alive():
            child.kill()
            child.join(5)
    if kind == "error":
        raise value
    return value
