"""A user's login through every front end: requests threads and httpx threads and tasks share one refresh."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import httpx
import pytest
import requests

from genesys_auth_adapter import CodeClient, GenesysAuth, RefreshToken, Saml2Bearer, login_with_browser, session
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.httpx import GenesysHttpxAuth
from genesys_auth_adapter.stores import MemoryTokenStore

from .browser_player import PlayedBrowser

ME = "/api/v2/users/me"
THREADS, TASKS = 6, 6


def log_in(emu: Emulator) -> RefreshToken:
    env = emu.env("code")
    client = CodeClient(
        env["GENESYS_CLIENT_ID"],
        env["GENESYS_CLIENT_SECRET"],
        redirect_uri=env["GENESYS_REDIRECT_URI"],
        login_url=emu.login_url,
        api_url=emu.api_url,
    )
    return login_with_browser(client, open_browser=False, show_url=PlayedBrowser(), timeout=20)


def refreshes(emu: Emulator) -> int:
    return int(emu.counters()["token_requests_by_grant"].get("refresh_token", 0))


def test_threads_and_tasks_meeting_a_revocation_make_one_refresh(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    emu = genesys_emulator_factory()
    auth = GenesysHttpxAuth(log_in(emu))
    url = emu.api_url + ME
    with httpx.Client(auth=auth, transport=auth.transport()) as client:
        assert client.get(url).status_code == 200
        rejected_before = emu.counters()["api_401"]
        emu.revoke_all()
        hold = emu.hold_next_refresh()
        start = threading.Barrier(THREADS + 1, timeout=20)

        def in_a_thread(_: int) -> int:
            start.wait()
            return client.get(url).status_code

        async def in_tasks() -> list[int]:
            async with httpx.AsyncClient(auth=auth, transport=auth.async_transport()) as aclient:
                await asyncio.to_thread(start.wait)  # the threads and the tasks start together
                return [
                    answer.status_code for answer in await asyncio.gather(*(aclient.get(url) for _ in range(TASKS)))
                ]

        with ThreadPoolExecutor(THREADS + 1) as pool:
            threads = pool.map(in_a_thread, range(THREADS))
            tasks = pool.submit(asyncio.run, in_tasks())
            try:
                # The refresh is held until the emulator has rotated it: every caller started meanwhile either
                # met the revocation (a 401) or, once this process knew of it, waits for the one refresh.
                assert hold.wait_minted(20)
                assert emu.counters()["api_401"] > rejected_before
            finally:
                hold.release()
            statuses = [*threads, *tasks.result(timeout=30)]
    assert statuses == [200] * (THREADS + TASKS)
    assert refreshes(emu) == 1 and emu.counters()["refresh_tokens_rejected"] == 0


def test_a_login_in_a_session_refreshes_after_a_revocation_and_shares_through_a_store(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    emu = genesys_emulator_factory()
    login = log_in(emu)
    store = MemoryTokenStore()
    with session(login, store=store) as first, session(login.client, store=store) as second:
        assert first.get(ME).status_code == 200
        assert second.get(ME).status_code == 200  # the client alone: the login the store holds
        emu.revoke_all()
        assert first.get(ME).status_code == 200
        assert second.get(ME).status_code == 200  # the token the first refresh stored: no second refresh
    assert refreshes(emu) == 1


def test_a_revoked_refresh_token_is_one_clear_error_then_no_more_requests(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    emu = genesys_emulator_factory()
    auth = GenesysAuth(log_in(emu))
    with requests.Session() as http:
        http.trust_env = False
        assert http.get(emu.api_url + ME, auth=auth, timeout=10).status_code == 200
        emu.revoke_refresh_tokens()
        emu.revoke_all()
        for _ in range(3):
            with pytest.raises(Exception, match="run `genesys-auth login`") as raised:
                http.get(emu.api_url + ME, auth=auth, timeout=10)
            assert type(raised.value).__name__ == "LoginRequiredError"
    assert emu.counters()["refresh_tokens_rejected"] == 1  # tried once, never again


def test_saml2_bearer_acts_as_the_user(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory()
    env = emu.env("saml2")
    grant = Saml2Bearer(
        env["GENESYS_CLIENT_ID"],
        env["GENESYS_CLIENT_SECRET"],
        env["GENESYS_ORG_NAME"],
        env["GENESYS_SAML2_ASSERTION"],
        login_url=emu.login_url,
        api_url=emu.api_url,
    )
    with session(grant) as s:
        me = s.get(ME)
        emu.revoke_all()
        again = s.get(ME)  # no refresh token: the assertion again
    assert me.status_code == 200 and me.json()["id"] == emu.login_user["id"] and again.status_code == 200
    assert emu.counters()["token_requests_by_grant"]["urn:ietf:params:oauth:grant-type:saml2-bearer"] == 2
