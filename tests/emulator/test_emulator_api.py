"""The API origin: the bearer gate (401, revocation, rate limit) and the Genesys endpoints' shapes."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests

TIMEOUT = 10
GENESYS_ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}


def assert_bad_credentials(response: requests.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["message"] == "Invalid login credentials."
    assert body["code"] == "bad.credentials"
    assert body["status"] == 401
    assert body["details"] == [] and body["errors"] == []


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Bearer ", "Basic ZW11bGF0b3ItY2xpZW50OmVtdWxhdG9yLXNlY3JldA=="],
    ids=["missing", "unknown", "empty", "basic"],
)
def test_requests_without_a_valid_bearer_token_get_401(genesys_emulator, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = requests.get(genesys_emulator.api_url + "/api/v2/organizations/me", headers=headers, timeout=TIMEOUT)

    assert_bad_credentials(response)
    assert genesys_emulator.counters()["api_401"] == 1


def test_revoke_all_invalidates_issued_tokens_only(genesys_emulator, client):
    assert client.get("/api/v2/organizations/me").status_code == 200

    genesys_emulator.revoke_all()

    assert_bad_credentials(client.get("/api/v2/organizations/me"))
    client.new_token()
    assert client.get("/api/v2/organizations/me").status_code == 200


def test_reject_all_tokens_rejects_new_tokens_until_undone(genesys_emulator, client):
    genesys_emulator.reject_all_tokens(True)

    assert_bad_credentials(client.get("/api/v2/organizations/me"))
    client.new_token()  # the login service still issues tokens
    assert_bad_credentials(client.get("/api/v2/organizations/me"))
    genesys_emulator.reject_all_tokens(False)
    assert client.get("/api/v2/organizations/me").status_code == 200


def test_rate_limit_per_token_gives_normalized_429(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=3)
    client = make_client(emu)

    allowed = [client.get("/api/v2/organizations/me") for _ in range(3)]
    limited = client.get("/api/v2/organizations/me")

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert limited.status_code == 429
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    body = limited.json()
    assert body["code"] == "too.many.requests.retry.after"
    assert body["status"] == 429
    assert body["message"] == f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
    assert set(body) == GENESYS_ERROR_KEYS | {"limit"}
    assert body["limit"] == {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": 3}
    assert body["details"] == [] and body["errors"] == []
    assert emu.counters()["api_429"] == 1


def test_rate_limit_windows_are_per_token_and_end_after_a_minute(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=1)
    first, second = make_client(emu), make_client(emu)

    assert first.get("/api/v2/organizations/me").status_code == 200
    assert first.get("/api/v2/organizations/me").status_code == 429
    assert second.get("/api/v2/organizations/me").status_code == 200
    emu.set_skew(61.0)
    assert first.get("/api/v2/organizations/me").status_code == 200


def test_rate_limit_zero_disables_the_limit(genesys_emulator_factory, make_client):
    client = make_client(genesys_emulator_factory(rate_limit=0))

    responses = [client.get("/api/v2/organizations/me") for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5


def test_users_page_through_next_uri_to_the_end(genesys_emulator, client):
    pages = []
    url = genesys_emulator.api_url + "/api/v2/users"
    while True:
        page = client.session.get(url, timeout=TIMEOUT).json()
        pages.append(page)
        if "nextUri" not in page:
            break
        assert not page["nextUri"].startswith("http")  # relative, as Genesys may send it
        url = urljoin(genesys_emulator.api_url, page["nextUri"])

    assert [p["pageNumber"] for p in pages] == [1, 2, 3]
    assert all(p["pageSize"] == 25 and p["total"] == 57 and p["pageCount"] == 3 for p in pages)
    assert [len(p["entities"]) for p in pages] == [25, 25, 7]
    assert "previousUri" not in pages[0]
    assert pages[1]["previousUri"] == "/api/v2/users?pageSize=25&pageNumber=1"
    assert pages[2]["lastUri"] == pages[2]["selfUri"] == "/api/v2/users?pageSize=25&pageNumber=3"
    assert all(p["firstUri"] == "/api/v2/users?pageSize=25&pageNumber=1" for p in pages)
    ids = [user["id"] for p in pages for user in p["entities"]]
    assert len(set(ids)) == 57


def test_users_are_the_same_on_every_emulator(genesys_emulator_factory, make_client):
    first, second = (make_client(genesys_emulator_factory(users=5)) for _ in range(2))

    assert first.get("/api/v2/users").json()["entities"] == second.get("/api/v2/users").json()["entities"]


def test_users_honour_page_size_and_pages_past_the_end(genesys_emulator, client):
    big = client.get("/api/v2/users", params={"pageSize": 500}).json()
    past = client.get("/api/v2/users", params={"pageSize": 10, "pageNumber": 9}).json()

    assert len(big["entities"]) == 57 and big["pageCount"] == 1 and "nextUri" not in big
    assert past["entities"] == [] and "nextUri" not in past and past["total"] == 57


@pytest.mark.parametrize(
    ("name", "value"), [("pageSize", "0"), ("pageSize", "501"), ("pageSize", "ten"), ("pageNumber", "0")]
)
def test_users_bad_paging_gets_400_with_details(genesys_emulator, client, name, value):
    response = client.get("/api/v2/users", params={name: value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad.request"
    assert body["details"] == [{"errorCode": "INVALID_VALUE", "fieldName": name}]


def test_user_by_id_and_unknown_user(genesys_emulator, client):
    listed = client.get("/api/v2/users").json()["entities"][3]

    assert client.get(f"/api/v2/users/{listed['id']}").json() == listed
    assert client.get("/api/v2/users/nobody").status_code == 404


def test_organizations_me(genesys_emulator, client):
    org = client.get("/api/v2/organizations/me").json()

    assert {"id", "name", "thirdPartyOrgName"} <= set(org)


@pytest.mark.parametrize("path", ["/api/v2/users/me", "/api/v2/users/me/", "/api/v2/users/me/anything"])
def test_users_me_needs_a_user_context_which_client_credentials_lack(genesys_emulator, client, path):
    """As Genesys answers a client-credentials token: 400, "This request requires a user context..."."""
    response = client.get(path)

    assert response.status_code == 400
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["message"] == (
        "This request requires a user context. Client credentials cannot be used for requests to this resource."
    )
    assert body["code"] == "bad.request"  # the code is inferred; the message is Genesys'
    assert body["status"] == 400 and body["details"] == [] and body["errors"] == []
    assert response.headers["ININ-Correlation-Id"] == body["contextId"]
    assert client.get("/api/v2/organizations/me").status_code == 200  # the token itself is fine
    assert genesys_emulator.counters()["api_401"] == 0


def test_roles_are_forbidden_for_the_emulated_client(genesys_emulator, client):
    response = client.get("/api/v2/authorization/roles")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "missing.permissions"
    assert body["message"] == "You are missing the following permission(s): authorization:role:view"
    assert client.get("/api/v2/organizations/me").status_code == 200  # the token is still good
    assert genesys_emulator.counters()["api_401"] == 0


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/v2/nothing/here"), ("POST", "/api/v2/organizations/me"), ("GET", "/favicon.ico")]
)
def test_unknown_paths_get_a_genesys_404(genesys_emulator, client, method, path):
    response = client.request(method, path)

    assert response.status_code == 404
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["code"] == "not.found" and body["status"] == 404


def test_tokens_me_reports_verifies_and_revokes_the_calling_token(genesys_emulator, client):
    org = client.get("/api/v2/organizations/me").json()
    info = client.get("/api/v2/tokens/me").json()
    verify = client.request("HEAD", "/api/v2/tokens/me")
    deleted = client.request("DELETE", "/api/v2/tokens/me")

    assert info["OAuthClient"]["id"] == "emulator-client"
    assert info["organization"]["id"] == org["id"]
    assert info["authorizedScope"] == []
    assert info["authenticatedUser"] is None  # a client-credentials token: no user
    assert verify.status_code == 200
    assert deleted.status_code == 204
    assert_bad_credentials(client.get("/api/v2/tokens/me"))


def test_no_answer_carries_the_retired_inin_ratelimit_headers(genesys_emulator_factory, make_client):
    """Genesys removed inin-ratelimit-allowed/-count/-reset after 5 June 2021; the emulator must not send them."""
    emu = genesys_emulator_factory(rate_limit=2)
    client = make_client(emu)
    emu.fail_api_requests(1, status=429, retry_after=1, paths=["/api/v2/authorization"])

    responses = [
        client.get(path)
        for path in ("/api/v2/organizations/me", "/api/v2/authorization/roles", "/api/v2/nothing", "/api/v2/users")
    ]
    responses.append(requests.get(emu.api_url + "/api/v2/users", timeout=TIMEOUT))  # no token: 401

    assert [r.status_code for r in responses] == [200, 429, 404, 429, 401]
    assert [name for r in responses for name in r.headers if name.lower().startswith("inin-ratelimit")] == []
