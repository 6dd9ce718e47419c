"""A re-send's token from a flight that began before the 401 is replaced once more if it is rejected too.

Pins issue 13 (7) within one process: a refresh ahead of expiry sent its token request just before a
revocation and got its answer just after; a request rejected with the revoked token joined that flight,
was re-sent with its (also revoked) token, and the second 401 reached the caller.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest

from genesys_auth_adapter import GenesysAuth, ManualClock, attempts, from_env
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.emulator.state import TokenHold

from .conftest import TIMEOUT

ME = "/api/v2/organizations/me"


class ReleasingAdapter(HTTPAdapter):
    """Lets the held token answer go once the first 401 has reached the client, before the auth's hook runs."""

    def __init__(self, hold: TokenHold) -> None:
        super().__init__()
        self.hold = hold
        self.released_on: list[int] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if response.status_code == 401 and not self.released_on:
            self.released_on.append(response.status_code)
            self.hold.release()
        return response


def test_a_resend_token_from_a_flight_begun_before_the_revocation_is_replaced_again(
    genesys_emulator_factory: Callable[..., Emulator],
) -> None:
    emu = genesys_emulator_factory()
    clock = ManualClock()
    auth = GenesysAuth(from_env(emu.env(), use_dotenv=False), clock=clock)
    try:
        first = auth.token()
        assert first.refresh_at is not None and first.expires_at is not None
        clock.advance(first.refresh_at - clock.monotonic() + 1)  # due for a refresh, still valid
        hold = emu.hold_next_token()
        refreshing = threading.Thread(target=auth.token, daemon=True)  # leads the refresh ahead of expiry
        refreshing.start()
        assert hold.wait_minted(10)
        emu.revoke_all()  # the refresh's token is minted: the revocation revokes it too
        clock.advance(0.5)  # the 401 comes back after the refresh's token request was sent
        releasing = ReleasingAdapter(hold)
        with requests.Session() as http:
            http.mount(emu.api_url, releasing)
            try:
                # The refresh is running, so this request is sent with the current (revoked) token.
                response = http.get(emu.api_url + ME, auth=auth, timeout=TIMEOUT)
            finally:
                hold.release()
                refreshing.join(10)
        assert releasing.released_on == [401]
        assert (response.status_code, attempts(response)) == (200, 3)
        counters = emu.counters()
        assert (counters["token_requests"], counters["api_401"]) == (3, 2)
    finally:
        auth.close()
