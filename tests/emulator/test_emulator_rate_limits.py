"""Rate limits: per token and per endpoint prefix, fixed windows of any length, the 429 they give.

Windows are moved past with the server clock (``set_skew``), never waited out: the emulator counts by
its own clock, so a jump of the skew is a jump of time for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests

from genesys_auth_adapter.cli import build_parser
from genesys_auth_adapter.cli import emulator as emulator_command
from genesys_auth_adapter.emulator import Emulator

TIMEOUT = 10
ORG = "/api/v2/organizations/me"
USERS = "/api/v2/users"
TOKEN_LIMIT = {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api"}


def post_faults(emu: Emulator, spec: object) -> requests.Response:
    return requests.post(emu.api_url + "/_emulator/faults", json=spec, timeout=TIMEOUT)


def assert_429(response: requests.Response, retry_after: int, limit: dict[str, object] | None) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(retry_after)
    body = response.json()
    assert body["code"] == "too.many.requests.retry.after" and body["status"] == 429
    assert body["message"] == f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
    assert body["details"] == [] and body["errors"] == []
    assert body.get("limit") == limit
    assert not [name for name in response.headers if name.lower().startswith("inin-ratelimit")]


def test_retry_after_is_the_time_left_in_the_exceeded_window(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=2)
    client = make_client(emu)

    assert [client.get(ORG).status_code for _ in range(2)] == [200, 200]  # the window opened at the first
    emu.set_skew(50.0)  # 50 s into the minute: 10 s left
    limited = client.get(ORG)

    assert_429(limited, 10, {**TOKEN_LIMIT, "value": 2})
    emu.set_skew(60.5)  # the window closed: a new one opens
    assert client.get(ORG).status_code == 200


def test_a_short_window_for_fast_tests(genesys_emulator_factory, make_client):
    # 2.5 s: long enough for four requests on a loaded machine, short enough to show the rounding.
    emu = genesys_emulator_factory(rate_limit=3, rate_window=2.5)
    client = make_client(emu)

    statuses = [client.get(ORG).status_code for _ in range(3)]
    limited = client.get(ORG)
    emu.set_skew(2.6)
    after = [client.get(ORG).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after in (1, 2, 3)  # what is left of 2.5 s, in whole seconds rounded up
    assert_429(limited, retry_after, {**TOKEN_LIMIT, "value": 3})
    assert after == [200, 200, 200]


def test_the_limit_object_can_be_left_out(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=1, rate_limit_details=False)
    client = make_client(emu)
    client.get(ORG)

    assert_429(client.get(ORG), int(client.get(ORG).headers["Retry-After"]), None)
    emu.set_rate_limit_details(True)
    assert client.get(ORG).json()["limit"] == {**TOKEN_LIMIT, "value": 1}
    assert post_faults(emu, {"rateLimitDetails": False}).status_code == 200
    assert "limit" not in client.get(ORG).json()


def test_endpoint_limits_count_every_token_of_the_org(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=0, endpoint_limits={USERS: 3})
    first, second = make_client(emu), make_client(emu)

    answers = [first.get(USERS), second.get(USERS + "/nobody"), first.get(USERS + "?pageSize=25")]
    limited = second.get(USERS)

    counters = emu.counters()
    assert [r.status_code for r in answers] == [200, 404, 200]  # a path below the prefix counts too
    users_limit = {"key": "users.rate.per.minute", "namespace": "users", "value": 3}
    assert_429(limited, int(limited.headers["Retry-After"]), users_limit)
    assert counters["api_429_by_limit"] == {"users.rate.per.minute": 1}
    assert counters["requests_by_token"] == {"1": 2, "2": 2}  # by issue number: never the token itself
    assert first.get(ORG).status_code == 200  # other paths are not under it
    assert first.get("/api/v2/usersearch").status_code == 404  # a prefix is whole path segments


def test_endpoint_limit_names_come_from_the_prefix(genesys_emulator_factory, make_client):
    query = "/api/v2/analytics/conversations/details/query"
    emu = genesys_emulator_factory(endpoint_limits={query + "/": 1})
    client = make_client(emu)
    body = {"interval": "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z"}

    assert client.post(query, json=body).status_code == 200
    limited = client.post(query, json=body)

    assert limited.status_code == 429
    assert limited.json()["limit"] == {
        "key": "analytics.conversations.details.query.rate.per.minute",
        "namespace": "analytics",
        "value": 1,
    }


def test_when_several_limits_are_exceeded_retry_after_waits_for_the_last(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=1, endpoint_limits={USERS: 1})
    client = make_client(emu)

    assert client.get(ORG).status_code == 200  # opens the token's window at t
    emu.set_skew(30.0)
    token_only = client.get(USERS)  # the token is over (30 s left); the endpoint's window opens at t + 30
    both = client.get(USERS)  # both over: the endpoint's window closes last

    assert_429(token_only, 30, {**TOKEN_LIMIT, "value": 1})
    assert_429(both, 60, {"key": "users.rate.per.minute", "namespace": "users", "value": 1})


def test_threads_sharing_a_token_get_exactly_the_limit(genesys_emulator_factory, make_client):
    """Eight threads, released together, 25 requests each on one token: 100 answered, the rest 429."""
    emu = genesys_emulator_factory(rate_limit=100)
    token = make_client(emu).token
    start = threading.Barrier(8, timeout=TIMEOUT)
    statuses: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            start.wait()
            mine = [session.get(emu.api_url + ORG, timeout=TIMEOUT).status_code for _ in range(25)]
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 3)

    assert (statuses.count(200), statuses.count(429), len(statuses)) == (100, 100, 200)
    counters = emu.counters()
    assert counters["api_429"] == 100
    assert counters["api_429_by_limit"] == {"client.credentials.token.rate.per.minute": 100}
    assert counters["requests_by_token"] == {"1": 200}


def test_setters_change_the_limits_and_restart_the_windows(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=1)
    client = make_client(emu)
    client.get(ORG)
    assert client.get(ORG).status_code == 429

    emu.set_rate_limit(2)
    assert [client.get(ORG).status_code for _ in range(3)] == [200, 200, 429]
    emu.set_rate_window(30)
    emu.set_endpoint_limits({ORG: 1})
    answers = [client.get(ORG) for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 429]
    assert answers[1].json()["limit"]["key"] == "organizations.me.rate.per.minute"
    emu.set_skew(31)  # past the 30 s window
    assert client.get(ORG).status_code == 200
    emu.set_endpoint_limits({})
    emu.set_rate_limit(0)
    assert [client.get(ORG).status_code for _ in range(5)] == [200] * 5


def test_fault_api_sets_the_rate_limits(genesys_emulator, make_client):
    client = make_client(genesys_emulator)
    spec = {"rateLimit": 2, "rateWindow": 30, "endpointLimits": {USERS: 1}, "rateLimitDetails": True}

    assert post_faults(genesys_emulator, spec).json() == {"ok": True}

    assert [client.get(USERS).status_code for _ in range(2)] == [200, 429]
    assert client.get(ORG).status_code == 429  # the token's third request in this window
    genesys_emulator.set_skew(31)
    assert client.get(ORG).status_code == 200
    assert post_faults(genesys_emulator, {"endpointLimits": {}, "rateLimit": 0}).status_code == 200
    assert [client.get(USERS).status_code for _ in range(3)] == [200] * 3


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"rateLimit": -1}', "rateLimit"),
        ('{"rateLimit": 1.5}', "rateLimit"),
        ('{"rateLimit": 1e308}', "rateLimit"),
        ('{"rateWindow": 0}', "rateWindow"),
        ('{"rateWindow": NaN}', "rateWindow"),
        ('{"rateWindow": Infinity}', "rateWindow"),
        ('{"rateWindow": 3601}', "rateWindow"),
        ('{"endpointLimits": []}', "endpointLimits"),
        ('{"endpointLimits": {"/oauth/token": 5}}', "endpointLimits"),
        ('{"endpointLimits": {"/api/v2/": 5}}', "endpointLimits"),
        ('{"endpointLimits": {"/api/v2/users": 0}}', "endpointLimits"),
        ('{"endpointLimits": {"/api/v2/users": NaN}}', "endpointLimits"),
        ('{"rateLimitDetails": "yes"}', "rateLimitDetails"),
    ],
)
def test_fault_api_refuses_bad_rate_settings_and_changes_nothing(genesys_emulator, make_client, raw, field):
    client = make_client(genesys_emulator)

    response = requests.post(
        genesys_emulator.api_url + "/_emulator/faults",
        data='{"rateLimit": 1, ' + raw[1:],  # a valid setting alongside: all or nothing
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad.request"
    assert body["message"].startswith(field)
    assert body["details"] == [{"errorCode": "INVALID_VALUE", "fieldName": field}]
    assert [client.get(ORG).status_code for _ in range(3)] == [200] * 3  # still 300 per minute


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda emu: emu.set_rate_window(0), "rate_window must be a finite number of seconds above 0 to 3600"),
        (lambda emu: emu.set_rate_window(float("nan")), "rate_window must be"),
        (lambda emu: emu.set_rate_limit(-1), "rate_limit must be a whole number from 0 to 1000000000"),
        (lambda emu: emu.set_endpoint_limits({"/api/v2/users": 0}), "endpoint_limits['/api/v2/users'] must be"),
        (lambda emu: emu.set_endpoint_limits({"users": 1}), "endpoint_limits prefixes must be paths below /api/v2/"),
        (lambda emu: emu.set_endpoint_limits([("/api/v2/users", 1)]), "endpoint_limits must map path prefixes"),
        (lambda emu: emu.set_rate_limit_details("no"), "rate limit details must be True or False"),
    ],
)
def test_python_setters_refuse_bad_rate_settings(genesys_emulator, call: Callable[[Emulator], None], words):
    with pytest.raises(ValueError) as caught:
        call(genesys_emulator)

    assert str(caught.value).startswith(words)


def test_revoking_and_resetting_forget_what_was_counted(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=1)
    client = make_client(emu)
    client.get(ORG)
    client.get(ORG)
    emu.reset_counters()

    counters = emu.counters()
    assert (counters["api_429"], counters["api_429_by_limit"], counters["requests_by_token"]) == (0, {}, {})
    emu.revoke_all()
    client.new_token()
    assert client.get(ORG).status_code == 200
    assert emu.counters()["requests_by_token"] == {"2": 1}


def test_cli_options_reach_the_emulator(monkeypatch):
    seen: list[Emulator] = []
    monkeypatch.setattr(emulator_command, "serve_forever", lambda emu, out, grant=None: seen.append(emu))
    args = build_parser().parse_args(
        ["emulator", "--rate-limit", "5", "--rate-window", "2", "--endpoint-limit", "/api/v2/users=1"]
    )

    assert emulator_command.run(args) == 0

    emu = seen[0]
    with emu:
        token = requests.post(
            emu.login_url + "/oauth/token",
            auth=("emulator-client", "emulator-secret"),
            data={"grant_type": "client_credentials"},
            timeout=TIMEOUT,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [requests.get(emu.api_url + USERS, headers=headers, timeout=TIMEOUT).status_code for _ in range(2)]
    assert statuses == [200, 429]


@pytest.mark.parametrize("argv", [["--rate-window", "0"], ["--rate-window", "nan"], ["--endpoint-limit", "/x=1"]])
def test_cli_refuses_bad_rate_options(capsys, argv):
    from genesys_auth_adapter.cli import main

    assert main(["emulator", *argv]) == 2
    assert capsys.readouterr().err.strip()
