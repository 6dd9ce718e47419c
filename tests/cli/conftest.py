"""Running ``python -m genesys_auth_adapter`` as a subprocess against an emulator on real sockets."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import pytest

from genesys_auth_adapter.emulator import Emulator

#: Seconds any one command may take; the demo and skew commands get their own, longer bounds.
TIMEOUT = 30

Run = Callable[..., "subprocess.CompletedProcess[str]"]


def clean_environ() -> dict[str, str]:
    """The current environment without any GENESYS_* setting of the person running the tests."""
    return {name: value for name, value in os.environ.items() if not name.startswith("GENESYS_")}


def run_cli(
    *args: str,
    env: Mapping[str, str],
    cwd: Path,
    input: str | None = None,  # noqa: A002 - subprocess.run's name
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run the command line with ``args``; ``cwd`` is a fresh directory, so no stray .env is read.

    The per-user cache directory (where the command line keeps its token) is one of the test's own (see
    tests/conftest.py), so runs share a token only within a test and never with the person running the tests.
    """
    return subprocess.run(
        [sys.executable, "-m", "genesys_auth_adapter", *args],
        env={**clean_environ(), "XDG_CACHE_HOME": str(cwd / ".cache"), **env},
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli(genesys_emulator: Emulator, tmp_path: Path) -> Run:
    """``cli(*args, input=None, timeout=TIMEOUT)``: the command line aimed at the default emulator."""

    def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=genesys_emulator.env(), cwd=tmp_path, **kwargs)

    return run
