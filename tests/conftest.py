"""Fixtures for every test: nothing a test runs writes into the real per-user cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_cache_directory(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point XDG_CACHE_HOME (where the file token store keeps tokens by default, and so the command line) at a
    directory of the test's own; subprocesses inherit it through the environment."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache
