"""Settings out of range are refused everywhere, and the emulator never stops answering.

Regression: ``POST /_emulator/faults {"skew": NaN}`` (or Infinity, or 1e308) used to be accepted, after
which every origin closed each connection without an answer (the Date header could not be written),
the counters included, until a restart; ``{"tokenDelay": 1e9}`` was accepted too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import requests

from genesys_auth_adapter.cli import main
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.emulator.errors import genesys_error
from genesys_auth_adapter.emulator.messages import Request, Response
from genesys_auth_adapter.emulator.server import Origin

TIMEOUT = 10
GENESYS_ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}


def post_faults(emu: Emulator, raw: str) -> requests.Response:
    # Raw text: requests refuses to encode NaN and Infinity, which Python's json module reads.
    return requests.post(
        emu.api_url + "/_emulator/faults",
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )


def assert_every_origin_answers(emu: Emulator) -> None:
    counters = requests.get(emu.api_url + "/_emulator/counters", timeout=TIMEOUT)
    assert counters.status_code == 200
    env = emu.env()
    token = requests.post(
        emu.login_url + "/oauth/token",
        auth=(env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"]),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )
    assert token.status_code == 200, token.text
    org = requests.get(
        emu.api_url + "/api/v2/organizations/me",
        headers={"Authorization": "Bearer " + token.json()["access_token"]},
        timeout=TIMEOUT,
    )
    assert org.status_code == 200, org.text
    assert requests.get(emu.storage_url + "/nothing", timeout=TIMEOUT).status_code in (403, 404)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"skew": NaN}', "skew"),
        ('{"skew": Infinity}', "skew"),
        ('{"skew": -Infinity}', "skew"),
        ('{"skew": 1e308}', "skew"),
        ('{"skew": 315360001}', "skew"),
        ('{"tokenDelay": 1e9}', "tokenDelay"),
        ('{"tokenDelay": NaN}', "tokenDelay"),
        ('{"tokenDelay": 601}', "tokenDelay"),
        ('{"tokenLifetime": 1000000000000000000000000000000}', "tokenLifetime"),
        ('{"tokenLifetime": 172801}', "tokenLifetime"),
        ('{"tokenLifetime": 1e3}', "tokenLifetime"),
        ('{"token": {"count": 1, "retryAfter": NaN}}', "token.retryAfter"),
        ('{"token": {"count": 1, "retryAfter": Infinity}}', "token.retryAfter"),
        ('{"api": {"count": 1, "status": 429, "retryAfter": 1e308}}', "api.retryAfter"),
        ('{"api": {"count": 1, "status": 429, "retryAfter": -1}}', "api.retryAfter"),
    ],
)
def test_fault_api_refuses_odd_numbers_by_name_and_keeps_answering(genesys_emulator, raw, field):
    before = genesys_emulator.server_time()

    response = post_faults(genesys_emulator, raw)

    assert response.status_code == 400
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["code"] == "bad.request"
    assert body["message"].startswith(field + " must be ")
    assert body["details"] == [{"errorCode": "INVALID_VALUE", "fieldName": field}]
    assert abs(genesys_emulator.server_time() - before) < 5  # the skew was not changed
    assert genesys_emulator.counters()["faults_injected"] == 0
    assert_every_origin_answers(genesys_emulator)


def test_fault_api_takes_the_largest_values_in_range(genesys_emulator):
    response = post_faults(genesys_emulator, '{"skew": -315360000, "tokenDelay": 0, "tokenLifetime": 172800}')

    assert response.status_code == 200, response.text
    assert_every_origin_answers(genesys_emulator)
    genesys_emulator.set_skew(315360000)
    assert_every_origin_answers(genesys_emulator)


@pytest.mark.parametrize(
    ("method", "value", "words"),
    [
        ("set_skew", math.nan, "skew must be a finite number of seconds from -315360000 to 315360000, not nan"),
        ("set_skew", math.inf, "skew must be"),
        ("set_skew", 1e308, "skew must be"),
        ("set_skew", "10", "skew must be"),
        ("set_token_delay", 1e9, "token delay must be a finite number of seconds from 0 to 600, not 1000000000.0"),
        ("set_token_delay", math.nan, "token delay must be"),
        ("set_token_delay", -1, "token delay must be"),
        ("set_token_lifetime", 172801, "token lifetime must be a whole number from 1 to 172800, not 172801"),
        ("set_token_lifetime", 10**400, "token lifetime must be"),
        ("set_token_lifetime", 1.5, "token lifetime must be"),
    ],
)
def test_python_setters_refuse_values_out_of_range_saying_the_range(genesys_emulator, method, value, words):
    with pytest.raises(ValueError) as caught:
        getattr(genesys_emulator, method)(value)

    assert str(caught.value).startswith(words)
    assert_every_origin_answers(genesys_emulator)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"skew": math.nan}, "skew must be"),
        ({"skew": -math.inf}, "skew must be"),
        ({"token_lifetime": 0}, "token lifetime must be"),
        ({"rate_limit": 1e308}, "rate_limit must be"),
        ({"users": 10**9}, "users must be"),
    ],
)
def test_constructor_refuses_values_out_of_range(settings, words):
    with pytest.raises(ValueError, match=f"^{words}"):
        Emulator(**settings)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--skew", "nan", "skew must be"),
        ("--skew", "inf", "skew must be"),
        ("--skew", "1e308", "skew must be"),
        ("--token-lifetime", "172801", "token lifetime must be"),
    ],
)
def test_cli_refuses_the_same_values_with_exit_2(capsys, option, value, words):
    assert main(["emulator", option, value]) == 2

    assert words in capsys.readouterr().err


@pytest.fixture
def origin_for() -> Iterator[object]:
    """``origin_for(app, clock)``: a started API-like origin on an ephemeral port; stopped after."""
    started: list[Origin] = []

    def start(app: object, clock: object) -> str:
        origin = Origin("api", app, clock, lambda: None)  # type: ignore[arg-type]
        origin.bind("127.0.0.1", 0)
        origin.start()
        started.append(origin)
        return origin.url

    yield start
    for origin in started:
        origin.stop(2.0)


def test_an_answer_that_cannot_be_written_becomes_a_genesys_500(origin_for):
    # A header value outside latin-1 cannot go on the wire; before the fix the connection just closed.
    url = origin_for(lambda request: Response(200, b"{}", headers=(("X-Odd", "\u20ac"),)), lambda: 0.0)

    response = requests.get(url + "/anything", timeout=TIMEOUT)

    assert response.status_code == 500
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["code"] == "internal.server.error"
    assert response.headers["ININ-Correlation-Id"] == body["contextId"]


def test_a_route_that_raises_becomes_a_genesys_500(origin_for):
    def broken(request: Request) -> Response:
        raise RuntimeError("boom")

    response = requests.get(origin_for(broken, lambda: 0.0) + "/anything", timeout=TIMEOUT)

    assert response.status_code == 500
    assert set(response.json()) == GENESYS_ERROR_KEYS


@pytest.mark.parametrize("clock_value", [math.nan, math.inf, 1e308])
def test_a_clock_beyond_any_date_still_gets_answers(origin_for, clock_value):
    answer = genesys_error(404, "not.found", "Nothing here.")
    url = origin_for(lambda request: answer, lambda: clock_value)

    responses = [requests.get(url + "/anything", timeout=TIMEOUT) for _ in range(2)]

    assert [r.status_code for r in responses] == [404, 404]
    assert all(r.headers["Date"].endswith(" GMT") for r in responses)
