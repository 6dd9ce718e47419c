"""``genesys-auth emulator --help`` lists the fault API, and what it lists is what the emulator accepts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import requests

from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.emulator.control import _KEYS

from .conftest import TIMEOUT, run_cli

FAULT_FIELDS = ("count", "status", "retryAfter", "retryAfterDate", "error", "description", "paths")
ENDPOINTS = (
    "POST /_emulator/faults",
    "POST /_emulator/revoke-all",
    "GET  /_emulator/counters",
    "POST /_emulator/reset",
)


def emulator_help(tmp_path: Path) -> str:
    result = run_cli("emulator", "--help", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_emulator_help_lists_every_fault_setting_and_control_endpoint(tmp_path: Path) -> None:
    text = emulator_help(tmp_path)

    assert [key for key in sorted(_KEYS) if f'"{key}"' not in text] == []
    assert [field for field in FAULT_FIELDS if f'"{field}"' not in text] == []
    assert [endpoint for endpoint in ENDPOINTS if endpoint not in text] == []


def test_the_example_in_the_emulator_help_injects_the_faults_it_says(
    genesys_emulator: Emulator, genesys_session: requests.Session, tmp_path: Path
) -> None:
    line = next(line for line in emulator_help(tmp_path).splitlines() if line.strip().startswith("curl "))
    words = shlex.split(line.replace("$GENESYS_API_URL", genesys_emulator.api_url))
    url, body = words[words.index("-X") + 2], json.loads(words[words.index("-d") + 1])

    answer = requests.post(url, json=body, timeout=TIMEOUT)
    first = genesys_session.get("/api/v2/organizations/me", timeout=TIMEOUT)

    assert answer.status_code == 200, answer.text
    assert first.status_code == 200  # two 429s with Retry-After: 1, ridden out
    assert genesys_emulator.counters()["api_429"] == body["api"]["count"] == 2
