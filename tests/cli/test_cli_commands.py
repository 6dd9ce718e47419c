"""``token``, ``skew``, ``emulator`` and ``demo`` as subprocesses against emulators on real sockets."""

from __future__ import annotations

import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest
import requests

from genesys_auth_adapter import from_env, session
from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, Run, clean_environ, run_cli

SECRET = "s3cr3t-that-must-not-show"
REPORT_LABELS = (
    "requests made",
    "401s recovered",
    "token requests",
    "429s ridden out",
    "clock offset",
    "download",
    "storage auth",
    "elapsed",
    "failures",
    "result",
)


def test_token_prints_only_a_token_that_the_api_accepts(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("token")

    assert (result.returncode, result.stderr) == (0, "")
    token = result.stdout.removesuffix("\n")
    assert token and "\n" not in token and " " not in token
    answer = requests.get(
        genesys_emulator.api_url + "/api/v2/organizations/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    assert genesys_emulator.counters()["token_requests"] == 1


def test_token_with_a_wrong_secret_exits_1_without_showing_the_secret(
    genesys_emulator: Emulator, tmp_path: Path
) -> None:
    env = {**genesys_emulator.env(), "GENESYS_CLIENT_SECRET": SECRET}

    result = run_cli("token", env=env, cwd=tmp_path)

    assert (result.returncode, result.stdout) == (1, "")
    assert "invalid_client" in result.stderr
    assert SECRET not in result.stderr


@pytest.mark.parametrize(("skew", "direction"), [(120.0, "ahead of"), (-45.0, "behind")])
def test_skew_measures_the_emulators_clock_offset(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path, skew: float, direction: str
) -> None:
    emu = genesys_emulator_factory(skew=skew)

    result = run_cli("skew", "--samples", "3", env=emu.env(), cwd=tmp_path, timeout=60)

    assert result.returncode == 0, result.stderr
    match = re.search(
        rf"server clock is (\d+\.\d{{3}}) s {direction} this machine \(±(\d+\.\d{{3}}) s, 3 samples\)", result.stdout
    )
    assert match, result.stdout
    assert abs(float(match.group(1)) - abs(skew)) <= 2
    assert float(match.group(2)) <= 1.0
    assert "fix NTP: timestamps in your exports will be off" in result.stdout
    assert result.stderr == ""  # the library's own large-offset warning is left to the report
    assert [r["method"] for r in emu.requests()] == ["HEAD"] * 3


def test_skew_on_a_synchronised_clock_says_it_is_fine(cli: Run) -> None:
    result = cli("skew", "--samples", "2", timeout=60)

    assert result.returncode == 0, result.stderr
    match = re.search(r"server clock is (\d+\.\d{3}) s", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) < 1.0
    assert "That is fine" in result.stdout


def test_skew_rejects_a_bad_sample_count(cli: Run) -> None:
    result = cli("skew", "--samples", "0")

    assert result.returncode == 2
    assert "--samples" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_emulator_serves_in_the_foreground_until_interrupted(tmp_path: Path, stop: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "genesys_auth_adapter", "emulator", "--skew", "30", "--token-lifetime", "60"],
        env=clean_environ(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        env: dict[str, str] = {}
        while len(env) < 4:
            line = lines.get(timeout=TIMEOUT)
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                env[name] = shlex.split(value)[0]
        assert set(env) == {"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_LOGIN_URL", "GENESYS_API_URL"}

        with session(from_env(env, use_dotenv=False)) as s:
            answer = s.get("/api/v2/organizations/me", timeout=TIMEOUT)
            assert answer.status_code == 200
            estimate = s.genesys_auth.clock_offset
            assert estimate is not None and abs(estimate.offset - 30) <= 2
    finally:
        process.send_signal(stop)
        code = process.wait(timeout=TIMEOUT)
        reader.join(timeout=TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0


def test_emulator_rejects_a_bad_setting_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("emulator", "--token-lifetime", "0", env={}, cwd=tmp_path)

    assert result.returncode == 2
    assert "token lifetime" in result.stderr


def test_demo_exits_0_and_reports_what_the_emulator_counted(tmp_path: Path) -> None:
    result = run_cli("demo", "--seconds", "3", env={}, cwd=tmp_path, timeout=90)

    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line[:18].strip(): line[18:] for line in result.stdout.splitlines() if line[:1].strip()}
    assert [label for label in REPORT_LABELS if label not in rows] == []
    assert rows["result"] == "PASS"
    assert rows["failures"] == "0"
    assert re.fullmatch(r"(\d+) of \1 \(the workload saw 0\)", rows["401s recovered"])
    assert re.fullmatch(r"20 of 20 \(the workload saw 0\)", rows["429s ridden out"])
    assert rows["storage auth"].startswith("0 Authorization headers")
    offset = re.search(r"estimated \+(\d+\.\d+) ± (\d+\.\d+) s", rows["clock offset"])
    assert offset and abs(float(offset.group(1)) - 437) <= 2
    assert int(rows["token requests"].split()[0]) >= 2  # 4-second tokens: refreshed during the run
    assert rows["download"].startswith("ok: 65536 bytes from the storage origin")
    assert "Traceback" not in result.stderr


def test_python_dash_m_and_help_work(tmp_path: Path) -> None:
    result = run_cli("--help", env={}, cwd=tmp_path)

    assert result.returncode == 0
    for command in ("api", "token", "skew", "emulator", "demo"):
        assert command in result.stdout


def test_the_console_script_exits_with_mains_status(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("genesys-auth")
    if not script.exists():
        pytest.skip("the package is not installed with its console script next to this interpreter")

    usage = subprocess.run(
        [str(script), "api"], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    version = subprocess.run(
        [str(script), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )

    assert usage.returncode == 2
    assert "the following arguments are required: PATH" in usage.stderr
    assert (version.returncode, version.stdout.split()[0]) == (0, "genesys-auth")
