"""``genesys-auth login``, ``api`` as the logged-in user, and ``logout``: real subprocesses, the emulator, and
the browser played by the test (the authorize URL read from stderr with --no-browser, its redirect followed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
import requests

from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, clean_environ, run_cli

_URL = re.compile(r"^\s+(http://\S+/oauth/authorize\?\S+)$")


class LoginRun:
    """``genesys-auth login --no-browser`` in a subprocess, its stderr read line by line in a thread."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "genesys_auth_adapter", "login", "--no-browser", *args],
            env={**clean_environ(), "XDG_CACHE_HOME": str(cwd / ".cache"), **env},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self._found = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = _URL.match(line.rstrip("\n"))
            if match and self.url is None:
                self.url = match.group(1)
                self._found.set()
        self._found.set()

    def authorize_url(self) -> str:
        assert self._found.wait(TIMEOUT), "no authorize URL on stderr"
        assert self.url is not None, "".join(self.lines)
        return self.url

    def finish(self) -> tuple[int, str]:
        try:
            code = self.process.wait(TIMEOUT)
            self._reader.join(TIMEOUT)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
        return code, "".join(self.lines)


def play_browser(url: str, *, state: str | None = None) -> requests.Response:
    """What a browser does with the authorize URL: follow the emulator's redirect to the loopback server."""
    with requests.Session() as browser:
        browser.trust_env = False
        answer = browser.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        location = answer.headers["Location"]
        if state is not None:
            location = re.sub(r"state=[^&]+", f"state={state}", location)
        return browser.get(location, timeout=10)


@pytest.fixture
def user_cli(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> Iterator[tuple[Emulator, dict[str, str], Path]]:
    emu = genesys_emulator_factory()
    yield emu, emu.env("code"), tmp_path


@pytest.mark.parametrize(("grant", "refresh_tokens"), [("code", True), ("pkce", True), ("pkce", False)])
def test_login_then_api_as_the_user_then_logout(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path, grant: str, refresh_tokens: bool
) -> None:
    emu = genesys_emulator_factory(pkce_refresh_tokens=refresh_tokens)
    env = emu.env(grant)
    login = LoginRun(env, tmp_path)
    url = login.authorize_url()
    assert "code_challenge_method=S256" in url and "state=" in url
    landing = play_browser(url)
    assert landing.status_code == 200 and "login is complete" in landing.text
    code, stderr = login.finish()
    assert code == 0, stderr
    assert f"as {emu.login_user['name']}" in stderr

    me = run_cli("api", "/api/v2/users/me", env=env, cwd=tmp_path)
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["id"] == emu.login_user["id"]
    assert emu.counters()["token_requests_by_grant"].get("authorization_code") == 1  # the login's token, reused

    out = run_cli("logout", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Logged out" in out.stderr and "token was revoked" in out.stderr
    again = run_cli("api", "/api/v2/users/me", env=env, cwd=tmp_path)
    assert again.returncode == 1
    assert "genesys-auth login" in again.stderr
    assert emu.counters()["token_requests_by_grant"].get("refresh_token", 0) == 0  # never a refresh after logout


def test_a_login_file_is_private(user_cli: tuple[Emulator, dict[str, str], Path]) -> None:
    emu, env, cwd = user_cli
    login = LoginRun(env, cwd)
    play_browser(login.authorize_url())
    code, stderr = login.finish()
    assert code == 0, stderr
    entries = list((cwd / ".cache").rglob("*.json"))
    assert entries, "the login is kept in the file store"
    for path in entries:
        assert path.stat().st_mode & 0o777 == 0o600
        assert emu.env("code")["GENESYS_CLIENT_SECRET"] not in path.read_text()


def test_a_redirect_with_another_state_is_refused_and_the_login_times_out(
    user_cli: tuple[Emulator, dict[str, str], Path],
) -> None:
    emu, env, cwd = user_cli
    login = LoginRun(env, cwd, "--timeout", "2")
    landing = play_browser(login.authorize_url(), state="forged")
    assert landing.status_code == 400
    code, stderr = login.finish()
    assert code == 1 and "within 2 s" in stderr
    assert emu.counters()["codes_redeemed"] == 0


def test_api_without_a_login_or_secret_says_to_log_in(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = genesys_emulator_factory()
    result = run_cli("api", "/api/v2/users/me", env=emu.env("pkce"), cwd=tmp_path)
    assert result.returncode == 1
    assert "No login is stored for the OAuth client emulator-pkce-client" in result.stderr
    assert "genesys-auth login" in result.stderr


def test_api_with_a_secret_and_no_login_uses_client_credentials(
    genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = genesys_emulator_factory()
    result = run_cli("api", "/api/v2/users/me", env=emu.env(), cwd=tmp_path)
    assert result.returncode == 1 and "requires a user context" in result.stderr
    assert run_cli("api", "/api/v2/organizations/me", env=emu.env(), cwd=tmp_path).returncode == 0


def test_logout_without_a_login_does_nothing(genesys_emulator_factory: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = genesys_emulator_factory()
    result = run_cli("logout", env=emu.env("pkce"), cwd=tmp_path)
    assert result.returncode == 0 and "nothing to do" in result.stderr


def test_login_is_interrupted_cleanly_by_ctrl_c(user_cli: tuple[Emulator, dict[str, str], Path]) -> None:
    import signal

    _, env, cwd = user_cli
    login = LoginRun(env, cwd)
    login.authorize_url()
    login.process.send_signal(signal.SIGINT)
    code, stderr = login.finish()
    assert code == 130
    assert "Traceback" not in stderr


def test_login_listens_on_the_port_asked_for(user_cli: tuple[Emulator, dict[str, str], Path]) -> None:
    import socket

    _, env, cwd = user_cli
    with socket.socket() as probe:  # a free port, given back at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    login = LoginRun(env, cwd, "--port", str(port))
    url = login.authorize_url()
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in url
    assert play_browser(url).status_code == 200
    code, stderr = login.finish()
    assert code == 0, stderr
