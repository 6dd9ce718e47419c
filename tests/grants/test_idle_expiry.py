"""Idle user tokens: ``dateTokenIdles`` is honoured like the expiry, against the emulator.

Time passes on both sides without sleeping: the library runs on a manual clock, and the emulator's clock is
moved forward by the same amount (``set_skew``), which is what idles its tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Callable

import pytest
import requests

from genesys_auth_adapter import CodeClient, GenesysAuth, ManualClock, attempts, login_with_browser
from genesys_auth_adapter.emulator import Emulator

from .browser_player import PlayedBrowser

IDLE = 600  # the organization's idle timeout, seconds


class Fixture:
    def __init__(self, emu: Emulator, auth: GenesysAuth, clock: ManualClock, http: requests.Session) -> None:
        self.emu, self.auth, self.clock, self.http = emu, auth, clock, http
        self.elapsed = 0.0

    def later(self, seconds: float) -> None:
        """``seconds`` pass for the library and for Genesys alike."""
        self.elapsed += seconds
        self.clock.advance(seconds)
        self.emu.set_skew(self.elapsed)

    def me(self) -> requests.Response:
        return self.http.get(f"{self.emu.api_url}/api/v2/users/me", auth=self.auth, timeout=(5, 15))

    def counts(self) -> tuple[int, int, int]:
        counters = self.emu.counters()
        return (
            counters["token_requests_by_grant"].get("refresh_token", 0),
            counters["api_401"],
            counters["idle_expired"],
        )


@pytest.fixture
def idle(genesys_emulator_factory: Callable[..., Emulator]) -> Iterator[Fixture]:
    emu = genesys_emulator_factory(idle_timeout=IDLE)
    env = emu.env("code")
    client = CodeClient(
        env["GENESYS_CLIENT_ID"],
        env["GENESYS_CLIENT_SECRET"],
        redirect_uri=env["GENESYS_REDIRECT_URI"],
        login_url=emu.login_url,
        api_url=emu.api_url,
    )
    login = login_with_browser(client, open_browser=False, show_url=PlayedBrowser(), timeout=20)
    clock = ManualClock(wall=time.time())  # near the real time: no clock warning
    auth = GenesysAuth(login, clock=clock)
    with requests.Session() as http:
        http.trust_env = False
        state = Fixture(emu, auth, clock, http)
        assert state.me().status_code == 200
        emu.revoke_all()  # the next token comes from a refresh, whose idle deadline the library reads
        assert state.me().status_code == 200
        yield state
    auth.close()


def test_a_token_about_to_idle_out_is_refreshed_before_it_is_sent(idle: Fixture) -> None:
    """Pins: a token left unused until just before its idle deadline reached Genesys and got a 401."""
    before = idle.counts()
    idle.later(IDLE - 10)  # it idles out in 10 s: too close to keep
    answer = idle.me()
    assert (answer.status_code, attempts(answer)) == (200, 1)
    refreshes, rejected, idled = (now - then for now, then in zip(idle.counts(), before))
    assert (refreshes, rejected, idled) == (1, 0, 0)


def test_a_token_that_was_kept_alive_is_looked_at_and_kept(idle: Fixture) -> None:
    before = idle.counts()
    idle.later(IDLE - 60)  # due for a refresh by its idle deadline (10% ahead), which is still 60 s away
    assert idle.me().status_code == 200  # looked at (preserveIdleTTL): 60 s left is enough, kept; this use resets it
    idle.later(IDLE - 60)
    assert idle.me().status_code == 200
    refreshes, rejected, idled = (now - then for now, then in zip(idle.counts(), before))
    assert (refreshes, rejected, idled) == (0, 0, 0)


def test_a_token_that_idled_out_unseen_costs_one_401_and_one_refresh(idle: Fixture) -> None:
    before = idle.counts()
    idle.later(IDLE - 1)
    idle.emu.set_skew(idle.elapsed + 120)  # Genesys' clock runs ahead: the token idled out already
    answer = idle.me()
    assert answer.status_code == 200
    refreshes, rejected, _ = (now - then for now, then in zip(idle.counts(), before))
    assert refreshes == 1 and rejected <= 1


def test_a_users_token_is_refreshed_ahead_of_its_expiry(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    """The refresh token is used before the access token expires (no 401 on the way), as a client's is renewed."""
    emu = genesys_emulator_factory()
    emu.set_token_lifetime(3600)
    env = emu.env("code")
    client = CodeClient(
        env["GENESYS_CLIENT_ID"],
        env["GENESYS_CLIENT_SECRET"],
        redirect_uri=env["GENESYS_REDIRECT_URI"],
        login_url=emu.login_url,
        api_url=emu.api_url,
    )
    clock = ManualClock(wall=time.time())
    auth = GenesysAuth(
        login_with_browser(client, open_browser=False, show_url=PlayedBrowser(), timeout=20), clock=clock
    )
    with requests.Session() as http:
        http.trust_env = False
        state = Fixture(emu, auth, clock, http)
        first = state.me()
        before = state.counts()
        state.later(3600 - 120)  # inside the last tenth of its hour (refreshed 5 minutes ahead at most)
        second = state.me()
    auth.close()
    assert (first.status_code, second.status_code, attempts(second)) == (200, 200, 1)
    refreshes, rejected, _ = (now - then for now, then in zip(state.counts(), before))
    assert (refreshes, rejected) == (1, 0)
