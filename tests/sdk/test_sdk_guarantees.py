"""Every guarantee of the library for SDK calls: single flight, refresh ahead, clock offset, retries, stores,
scope, and no global side effects."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import PureCloudPlatformClientV2 as gc
import pytest
from PureCloudPlatformClientV2.configuration import Configuration
from PureCloudPlatformClientV2.rest import ApiException

from genesys_auth_adapter import FileTokenStore, ManualClock, RateLimitedError, RetryExhaustedError, RetryPolicy
from genesys_auth_adapter.emulator import Emulator

from .conftest import ApiClientFactory

THREADS = 32


def org_names(client: Any, n: int) -> list[str]:
    """``get_organizations_me`` from ``n`` threads released together; each thread's result or error name."""
    start = threading.Barrier(n, timeout=10)
    api = gc.OrganizationApi(client)

    def call(_: int) -> str:
        start.wait()
        try:
            name: str = api.get_organizations_me().name
        except Exception as exc:
            return type(exc).__name__
        return name

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


def test_a_revocation_under_32_threads_costs_one_token_request_and_no_error(client: Any, emu: Emulator) -> None:
    """Pins what the SDK alone does here: 32 of 32 calls fail (it never re-fetches a client-credentials token)."""
    assert gc.OrganizationApi(client).get_organizations_me().name
    emu.revoke_all()
    emu.set_token_delay(0.3)  # a slow login service keeps the one flight open while the others pile in
    assert org_names(client, THREADS) == ["Emulated Organization"] * THREADS
    counters = emu.counters()
    assert counters["token_requests"] == 2  # the first token and exactly one replacement
    assert counters["api_401"] >= 1


def test_the_server_clock_ten_minutes_ahead_with_short_tokens(
    make_client: ApiClientFactory, genesys_emulator_factory: Callable[..., Emulator]
) -> None:
    """Pins: a JWT's ``exp`` (server time) read on the local clock would keep a token 10 minutes past its end."""
    emu = genesys_emulator_factory(skew=600.0, jwt=True, token_lifetime=60, rate_limit=0)
    clock = ManualClock(wall=time.time(), monotonic=time.monotonic())
    client = make_client(emu, clock=clock)
    api = gc.OrganizationApi(client)
    auth = client.get_http_client().auth
    assert api.get_organizations_me().name
    first = auth.manager.current
    assert first is not None and first.refresh_at is not None and first.expires_at is not None
    # Past the refresh point, before expiry: client and server clocks jump together.
    jump = first.refresh_at - clock.monotonic() + 0.5
    assert jump < first.expires_at - clock.monotonic() - 10
    emu.set_token_lifetime(600)  # the replacement outlives the second jump
    clock.advance(jump)
    emu.set_skew(600.0 + jump)
    assert api.get_organizations_me().name
    second = auth.manager.current
    assert second is not None and second.generation == 2
    # Past the first token's expiry on the server: the replacement carries on.
    clock.advance(35)
    emu.set_skew(600.0 + jump + 35)
    assert api.get_organizations_me().name
    counters = emu.counters()
    assert (counters["api_401"], counters["token_requests"]) == (0, 2)


def test_the_clock_offset_is_learned_from_sdk_calls(
    make_client: ApiClientFactory, genesys_emulator_factory: Callable[..., Emulator]
) -> None:
    emu = genesys_emulator_factory(skew=600.0, rate_limit=0)
    client = make_client(emu)
    for _ in range(3):
        gc.OrganizationApi(client).get_organizations_me()
    estimate = client.get_http_client().auth.clock_offset
    assert estimate is not None and abs(estimate.offset - 600.0) <= 1.0


def test_429s_are_ridden_out(client: Any, emu: Emulator) -> None:
    emu.fail_api_requests(2, status=429, retry_after=0)
    page = gc.UsersApi(client).get_users(page_size=25)
    assert page.total == 57
    counters = emu.counters()
    assert (counters["api_429"], counters["requests_by_path"]["/api/v2/users"]) == (2, 3)


def test_retries_that_run_out_raise_the_429_with_every_attempt(make_client: ApiClientFactory, emu: Emulator) -> None:
    client = make_client(emu, retry=RetryPolicy(max_attempts=3, backoff=0.01, max_backoff=0.05))
    emu.fail_api_requests(5, status=429, retry_after=0)
    with pytest.raises(ApiException) as raised:
        gc.UsersApi(client).get_users()
    assert raised.value.status == 429
    assert raised.value.headers["Retry-After"] == "0"
    error = raised.value.__cause__
    assert isinstance(error, RateLimitedError) and error.attempts == 3
    assert isinstance(error.__cause__, RetryExhaustedError)
    assert [attempt.status for attempt in error.__cause__.history] == [429, 429, 429]


def test_a_token_store_gives_two_api_clients_one_token(
    make_client: ApiClientFactory, emu: Emulator, tmp_path: Path
) -> None:
    first = make_client(emu, store=FileTokenStore(tmp_path))
    second = make_client(emu, store=FileTokenStore(tmp_path))
    assert gc.OrganizationApi(first).get_organizations_me().name
    assert gc.OrganizationApi(second).get_organizations_me().name
    assert emu.counters()["token_requests"] == 1


def test_a_download_redirect_to_storage_carries_no_token(client: Any, emu: Emulator) -> None:
    """The SDK decodes every body as UTF-8, so a binary download fails in it (its default client fails the same
    way); what this pins is where the token went on the 303 to the storage origin."""
    with pytest.raises(UnicodeDecodeError):
        gc.DownloadsApi(client).get_download("recording-1", issue_redirect=True)
    counters = emu.counters()
    assert (counters["storage_requests"], counters["storage_authorization_headers"]) == (1, 0)


def _configuration_state() -> dict[str, Any]:
    config = Configuration()
    names = ("host", "access_token", "api_client", "gateway_configuration", "ssl_context", "proxy", "verify_ssl")
    return {name: getattr(config, name) for name in names}


def test_two_orgs_side_by_side_leave_the_sdk_configuration_alone(
    make_client: ApiClientFactory, genesys_emulator_factory: Callable[..., Emulator]
) -> None:
    before = _configuration_state()
    east = genesys_emulator_factory(client_id="org-east", client_secret="secret-east", rate_limit=0)
    west = genesys_emulator_factory(client_id="org-west", client_secret="secret-west", rate_limit=0)
    clients = {"east": make_client(east), "west": make_client(west)}
    start = threading.Barrier(8, timeout=10)

    def call(index: int) -> int:
        start.wait()
        page: int = gc.UsersApi(clients["east" if index % 2 else "west"]).get_users(page_size=25).total
        return page

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(call, range(8))) == [57] * 8
    for emu in (east, west):
        counters = emu.counters()
        assert (counters["token_requests"], counters["api_requests"], counters["api_401"]) == (1, 4, 0)
    assert _configuration_state() == before
