"""Progress on stderr while commands wait: a status line on a terminal, plain lines otherwise, stdout untouched."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from genesys_auth_adapter.cli.progress import LOGGERS, Progress, library_notes
from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, clean_environ, run_cli

ESCAPES = ("\r", "\033")
needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# The Progress object itself, driven by hand: a fake clock, tick() called where the ticker thread would.


def test_a_short_wait_shows_nothing_anywhere() -> None:
    for tty in (True, False):
        err, clock = io.StringIO(), FakeClock()
        progress = Progress(err, tty=tty, clock=clock)

        with progress.waiting("waiting for a token"):
            clock.now += 1.9
            progress.tick()

        assert err.getvalue() == ""


def test_a_slow_wait_off_a_terminal_is_plain_lines_when_it_turns_slow_and_when_it_ends() -> None:
    err, clock = io.StringIO(), FakeClock()
    progress = Progress(err, tty=False, clock=clock)

    with progress.waiting("waiting for a token from https://login.example"):
        progress.note("Retrying POST https://login.example/oauth/token in 5.0 s (attempt 2 of 5): HTTP 429")
        clock.now += 2.0
        progress.tick()
        progress.tick()  # announced once only
        progress.note("Obtained token #1 (valid 86399 s)")
        clock.now += 3.2

    assert err.getvalue().splitlines() == [
        "genesys-auth: waiting for a token from https://login.example: still waiting after 2 s "
        "(Retrying POST https://login.example/oauth/token in 5.0 s (attempt 2 of 5): HTTP 429)",
        "genesys-auth: waiting for a token from https://login.example: Obtained token #1 (valid 86399 s)",
        "genesys-auth: waiting for a token from https://login.example: done after 5 s",
    ]
    assert not any(escape in err.getvalue() for escape in ESCAPES)


@pytest.mark.parametrize(
    ("raised", "ended"), [(RuntimeError("no token"), "failed"), (KeyboardInterrupt(), "interrupted")]
)
def test_a_slow_wait_that_ends_in_an_error_or_ctrl_c_says_so(raised: BaseException, ended: str) -> None:
    """Pins: the last line said "done after 6 s" just before a failure, and "done after 3 s" after Ctrl-C."""
    err, clock = io.StringIO(), FakeClock()
    progress = Progress(err, tty=False, clock=clock)

    with pytest.raises(type(raised)), progress.waiting("waiting for a token from https://login.example"):
        clock.now += 2.0
        progress.tick()
        clock.now += 4.0
        raise raised

    assert err.getvalue().splitlines()[-1] == (
        f"genesys-auth: waiting for a token from https://login.example: {ended} after 6 s"
    )
    assert "done" not in err.getvalue()


def test_a_slow_wait_on_a_terminal_is_one_status_line_rewritten_then_cleared() -> None:
    err, clock = io.StringIO(), FakeClock()
    progress = Progress(err, tty=True, clock=clock)
    progress.status("page 2 of 6")

    with progress.waiting("page 3"):
        clock.now += 2.0
        progress.tick()
        clock.now += 1.0
        progress.note("Retrying GET /api/v2/users in 4.0 s (attempt 2 of 5): HTTP 503")
    progress.keep()

    assert err.getvalue() == (
        "\r\033[Kpage 2 of 6"
        "\r\033[Kpage 2 of 6 | page 3 (2 s)"
        "\r\033[Kpage 2 of 6 | page 3 (3 s): Retrying GET /api/v2/users in 4.0 s (attempt 2 of 5): HTTP 503"
        "\r\033[Kpage 2 of 6"
        "\n"
    )


def test_a_line_goes_above_the_status_line_which_is_redrawn() -> None:
    err = io.StringIO()
    progress = Progress(err, tty=True, clock=FakeClock())
    progress.status("phase 2: 3 of 20 s")

    progress.line("   6.0 s: every token revoked")

    assert (
        err.getvalue() == "\r\033[Kphase 2: 3 of 20 s\r\033[K   6.0 s: every token revoked\n\r\033[Kphase 2: 3 of 20 s"
    )


def test_library_records_become_notes_and_the_loggers_are_restored() -> None:
    err, clock = io.StringIO(), FakeClock()
    progress = Progress(err, tty=False, clock=clock)
    retry = logging.getLogger("genesys_auth_adapter.retry")
    before = {name: logging.getLogger(name).level for name in LOGGERS}

    with library_notes(progress), progress.waiting("GET /api/v2/users"):
        clock.now += 2.0
        progress.tick()
        retry.info("Retrying %s in %.1f s (attempt %d of %d): %s.", "GET /api/v2/users", 3.0, 2, 5, "HTTP 429")

    assert "genesys-auth: GET /api/v2/users: Retrying GET /api/v2/users in 3.0 s (attempt 2 of 5): HTTP 429\n" in (
        err.getvalue()
    )
    assert {name: logging.getLogger(name).level for name in LOGGERS} == before
    assert [type(handler).__name__ for handler in retry.handlers if type(handler).__name__ == "_Notes"] == []


# The commands, as subprocesses: stderr a pseudo-terminal or a pipe, stdout always a pipe.


def run_on_a_terminal(*args: str, env: dict[str, str], cwd: Path, timeout: float = TIMEOUT) -> tuple[int, str, str]:
    """Run the command line with stderr on a pseudo-terminal; returns (status, stdout, what the terminal got)."""
    import pty

    leader, follower = pty.openpty()
    shown: list[bytes] = []

    def read() -> None:  # drained as it comes, so that a chatty child never blocks on a full terminal
        try:
            while chunk := os.read(leader, 4096):
                shown.append(chunk)
        except OSError:  # EIO: the other side is closed and everything has been read
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "genesys_auth_adapter", *args],
            env={**clean_environ(), "XDG_CACHE_HOME": str(cwd / ".cache"), **env},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    return completed.returncode, completed.stdout, b"".join(shown).decode()


@needs_pty
def test_token_on_a_terminal_shows_a_slow_login_service_and_prints_only_the_token(
    genesys_emulator: Emulator, tmp_path: Path
) -> None:
    genesys_emulator.set_token_delay(3)

    status, out, terminal = run_on_a_terminal("token", "--no-store", env=genesys_emulator.env(), cwd=tmp_path)

    assert status == 0, terminal
    assert f"\r\033[Kwaiting for a token from {genesys_emulator.login_url} (2 s)" in terminal
    assert out.count("\n") == 1 and " " not in out.strip()  # the token, and nothing else
    assert out.strip() not in terminal


def test_token_off_a_terminal_says_it_is_waiting_in_plain_lines(genesys_emulator: Emulator, tmp_path: Path) -> None:
    genesys_emulator.set_token_delay(3)

    result = run_cli("token", "--no-store", env=genesys_emulator.env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"genesys-auth: waiting for a token from {genesys_emulator.login_url}: still waiting after 2 s",
        f"genesys-auth: waiting for a token from {genesys_emulator.login_url}: Obtained token #1 (valid 86399 s)",
        f"genesys-auth: waiting for a token from {genesys_emulator.login_url}: done after 3 s",
    ]
    assert result.stdout.count("\n") == 1


def test_api_off_a_terminal_shows_a_long_retry_wait_and_keeps_stdout_json(
    genesys_emulator: Emulator, tmp_path: Path
) -> None:
    genesys_emulator.fail_api_requests(1, status=429, retry_after=3)

    result = run_cli("api", "/api/v2/organizations/me", "--no-store", env=genesys_emulator.env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "genesys-auth: GET /api/v2/organizations/me: still waiting after 2 s (Retrying GET /api/v2/"
    )
    assert "in 3.0 s (attempt 2 of 5)" in lines[0]
    assert lines[-1].startswith("genesys-auth: GET /api/v2/organizations/me: done after 3 s")
    assert not any(escape in result.stderr for escape in ESCAPES)
    assert '"id"' in result.stdout and result.stdout.lstrip().startswith("{")


@needs_pty
def test_api_on_a_terminal_shows_the_retry_in_the_status_line(genesys_emulator: Emulator, tmp_path: Path) -> None:
    genesys_emulator.fail_api_requests(1, status=503, retry_after=3)

    status, out, terminal = run_on_a_terminal(
        "api", "/api/v2/organizations/me", "--no-store", env=genesys_emulator.env(), cwd=tmp_path
    )

    assert status == 0, terminal
    assert (
        "\r\033[KGET /api/v2/organizations/me (2 s): Retrying GET /api/v2/organizations/me in 3.0 s (attempt 2 of 5)"
        in terminal
    )
    assert terminal.endswith("\r\033[K")  # cleared once the answer came
    assert out.lstrip().startswith("{") and "\033" not in out


@needs_pty
def test_demo_on_a_terminal_shows_its_phases_and_live_counters(tmp_path: Path) -> None:
    status, out, terminal = run_on_a_terminal("demo", "--seconds", "2", env={}, cwd=tmp_path, timeout=90)

    assert status == 0, out + terminal
    for phase in ("phase 1 of 3: listings", "phase 2 of 3: 16 threads for 2 s", "phase 3 of 3: the listings again"):
        assert phase in terminal
    assert "s: every token revoked" in terminal
    assert "s: 20 x HTTP 429 injected" in terminal
    assert "\r\033[Kphase 2: " in terminal and " requests, 0 failures; the emulator answered " in terminal
    assert "result            PASS" in out
    assert "phase" not in out and "\033" not in out


def test_demo_off_a_terminal_prints_phases_as_plain_lines_and_the_report_on_stdout(tmp_path: Path) -> None:
    result = run_cli("demo", "--seconds", "2", env={}, cwd=tmp_path, timeout=90)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("phase")] == [
        "phase 1 of 3",
        "phase 2 of 3",
        "phase 3 of 3",
    ]
    assert any(line.startswith("  phase 2 done: ") for line in lines)
    assert lines[-1].startswith("done: ") and "0 failures" in lines[-1]
    assert not any(escape in result.stderr for escape in ESCAPES)
    assert "phase" not in result.stdout


def test_token_to_a_closed_port_says_connection_refused_and_that_the_wait_failed(tmp_path: Path) -> None:
    """Pins: a token request to a port where nothing listens ended with "attempt 1: ConnectionError (not
    sent) ... attempt 5: ConnectionError (not sent)", the progress line saying "done after 6 s" before it."""
    url = f"http://127.0.0.1:{closed_port()}"
    secret = "not-a-real-secret"
    env = {"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": secret, "GENESYS_API_URL": url, "GENESYS_LOGIN_URL": url}

    result = run_cli("token", "--no-store", env=env, cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    waiting = f"genesys-auth: waiting for a token from {url}: "
    assert lines[0].startswith(waiting + "still waiting after 2 s (Retrying POST ")
    assert lines[0].endswith("ConnectionError (not sent): connection refused)")
    assert any(line.startswith(waiting + "failed after ") for line in lines)
    assert not any("done after" in line for line in lines)
    assert lines[-1].startswith("genesys-auth: Token request failed: ")
    assert lines[-1].count("ConnectionError (not sent): connection refused") == 5  # each attempt says why
    assert secret not in result.stderr


def test_ctrl_c_during_a_slow_wait_says_interrupted(genesys_emulator: Emulator, tmp_path: Path) -> None:
    """Pins: the progress line said "done after 3 s" after Ctrl-C."""
    genesys_emulator.set_token_delay(20)
    child = subprocess.Popen(
        [sys.executable, "-m", "genesys_auth_adapter", "token", "--no-store"],
        env={**clean_environ(), "XDG_CACHE_HOME": str(tmp_path / ".cache"), **genesys_emulator.env()},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        first = child.stderr.readline()  # written once the wait has lasted 2 s
        assert "still waiting after 2 s" in first
        child.send_signal(signal.SIGINT)
        out, rest = child.communicate(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert out == ""
    assert f"waiting for a token from {genesys_emulator.login_url}: interrupted after " in rest
    assert "done after" not in rest


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
