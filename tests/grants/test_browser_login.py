"""``login_with_browser`` against the emulator, the test playing the browser."""

from __future__ import annotations

from typing import Callable

import pytest
import requests

from genesys_auth_adapter import CodeClient, GenesysAuth, LoginRequiredError, PkceClient, login_with_browser
from genesys_auth_adapter.emulator import Emulator

from .browser_player import PlayedBrowser


def client_for(emu: Emulator, grant: str) -> PkceClient | CodeClient:
    env = emu.env(grant)
    where = {"redirect_uri": env["GENESYS_REDIRECT_URI"], "login_url": emu.login_url, "api_url": emu.api_url}
    if grant == "code":
        return CodeClient(env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"], **where)
    return PkceClient(env["GENESYS_CLIENT_ID"], **where)


@pytest.mark.parametrize("grant", ["pkce", "code"])
def test_a_browser_login_gives_a_user_token_that_calls_users_me(
    genesys_emulator_factory: Callable[..., Emulator], grant: str
) -> None:
    emu = genesys_emulator_factory()
    browser = PlayedBrowser()
    login = login_with_browser(client_for(emu, grant), open_browser=False, show_url=browser, timeout=20)
    browser.join()
    assert browser.error is None and browser.authorize_status == 302
    assert browser.landing is not None and browser.landing.status_code == 200
    assert "login is complete" in browser.landing.text
    assert (login.refresh_token is not None) is (grant == "code")  # the emulator's PKCE answers carry none
    auth = GenesysAuth(login)
    with requests.Session() as http:
        me = http.get(f"{emu.api_url}/api/v2/users/me", auth=auth, timeout=10)
    assert me.status_code == 200 and me.json()["id"] == emu.login_user["id"]
    counters = emu.counters()
    assert counters["codes_redeemed"] == 1 and counters["token_requests_by_grant"]["authorization_code"] == 1


def test_a_redirect_with_a_forged_state_never_logs_in(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory()
    browser = PlayedBrowser(tamper_state=True)
    with pytest.raises(LoginRequiredError, match="within 2 s"):
        login_with_browser(client_for(emu, "pkce"), open_browser=False, show_url=browser, timeout=2)
    browser.join()
    assert browser.landing is not None and browser.landing.status_code == 400
    assert emu.counters()["codes_redeemed"] == 0


def test_a_refused_consent_is_a_clear_error(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory(consent="deny")
    browser = PlayedBrowser()
    with pytest.raises(LoginRequiredError, match="access_denied"):
        login_with_browser(client_for(emu, "pkce"), open_browser=False, show_url=browser, timeout=20)
    browser.join()
    assert browser.landing is not None and "access_denied" in browser.landing.text


def test_the_logins_token_knows_when_it_idles_out(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory(idle_timeout=900)
    login = login_with_browser(client_for(emu, "code"), open_browser=False, show_url=PlayedBrowser(), timeout=20)
    assert login.access_token is not None and login.access_token.idles_in is not None
    assert 890 <= login.access_token.idles_in <= 900
