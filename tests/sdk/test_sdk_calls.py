"""The SDK's contract for its callers, unchanged: typed calls, models, ApiException, last_response, hooks."""

from __future__ import annotations

import json
from typing import Any, Callable

import PureCloudPlatformClientV2 as gc
import pytest
from PureCloudPlatformClientV2.api_client import ApiClient
from PureCloudPlatformClientV2.rest import ApiException, RESTResponse

from genesys_auth_adapter import ApiError, GenesysAuth
from genesys_auth_adapter.emulator import Emulator

from .conftest import credentials_for

ROLES = "/api/v2/authorization/roles"
INTERVAL = "2026-11-01T00:00:00.000Z/2026-11-03T00:00:00.000Z"


def sdk_default_client(emu: Emulator) -> Any:
    """An ApiClient with the SDK's own default HTTP client, holding a token of the emulator's."""
    auth = GenesysAuth(credentials_for(emu))
    try:
        token = auth.token().access_token
    finally:
        auth.close()
    client = ApiClient(host=emu.api_url)
    client.access_token = token
    return client


def test_typed_calls_page_through_users_with_one_token(client: Any, emu: Emulator) -> None:
    org = gc.OrganizationApi(client).get_organizations_me()
    assert isinstance(org, gc.Organization) and org.name == "Emulated Organization"
    users = gc.UsersApi(client)
    seen: list[str] = []
    page_number = 1
    while True:
        page = users.get_users(page_size=25, page_number=page_number)
        assert isinstance(page, gc.UserEntityListing)
        assert all(isinstance(user, gc.User) for user in page.entities)
        seen += [user.id for user in page.entities]
        if page.next_uri is None:
            break
        page_number += 1
    assert (page_number, page.page_count, page.total) == (3, 3, 57)
    assert len(set(seen)) == 57
    logged = emu.requests()
    assert [entry["query"] for entry in logged[1:]] == [f"pageSize=25&pageNumber={n}" for n in (1, 2, 3)]
    assert all(entry["authorization_present"] and entry["status"] == 200 for entry in logged)
    assert emu.counters()["token_requests"] == 1
    assert client.access_token == ""  # the SDK's own token is never fetched nor used


def test_the_details_query_pages_by_page_number(client: Any) -> None:
    api = gc.ConversationsApi(client)
    found: dict[str, Any] = {}
    for number in range(1, 10):
        body = gc.ConversationQuery()
        body.interval = INTERVAL
        body.paging = gc.PagingSpec()
        body.paging.page_size = 25
        body.paging.page_number = number
        page = api.post_analytics_conversations_details_query(body)
        assert isinstance(page, gc.AnalyticsConversationQueryResponse)
        if not page.conversations:
            break
        found.update({conversation.conversation_id: conversation for conversation in page.conversations})
    assert page.total_hits > 25  # more than one page
    assert len(found) == page.total_hits
    assert all(isinstance(conversation, gc.AnalyticsConversationWithoutAttributes) for conversation in found.values())


def test_a_403_raises_api_exception_as_the_default_client_with_the_librarys_error(client: Any, emu: Emulator) -> None:
    with pytest.raises(ApiException) as ours:
        gc.AuthorizationApi(client).get_authorization_roles()
    with pytest.raises(ApiException) as default:
        gc.AuthorizationApi(sdk_default_client(emu)).get_authorization_roles()
    exc, expected = ours.value, default.value
    assert (exc.status, exc.reason) == (expected.status, expected.reason) == (403, "Forbidden")
    assert json.loads(exc.body)["code"] == json.loads(expected.body)["code"] == "missing.permissions"
    assert type(exc.headers) is type(expected.headers)
    assert exc.headers["Content-Type"] == expected.headers["Content-Type"]
    correlation_id = exc.headers["ININ-Correlation-Id"]
    assert correlation_id and "ININ-Correlation-Id" in str(exc)
    error = exc.__cause__
    assert isinstance(error, ApiError)
    assert (error.status, error.code, error.correlation_id, error.attempts) == (
        403,
        "missing.permissions",
        correlation_id,
        1,
    )
    assert emu.counters()["requests_by_path"][ROLES] == 2  # one send each: a 403 is not re-authenticated


def test_a_persistent_401_is_sent_twice_then_raised_with_its_attempts(client: Any, emu: Emulator) -> None:
    emu.reject_all_tokens(True)
    with pytest.raises(ApiException) as raised:
        gc.OrganizationApi(client).get_organizations_me()
    assert raised.value.status == 401
    error = raised.value.__cause__
    assert isinstance(error, ApiError) and (error.code, error.attempts) == ("bad.credentials", 2)
    assert emu.counters()["token_requests"] == 2


def test_last_response_is_the_sdks_response_of_the_last_answer(client: Any) -> None:
    org = gc.OrganizationApi(client).get_organizations_me()
    last = client.last_response
    assert isinstance(last, RESTResponse)
    assert last.status == 200 and last.reason == "OK"
    assert json.loads(last.data)["id"] == org.id
    assert last.getheader("content-type") == "application/json"
    assert last.getheader("X-Not-There", "default") == "default"
    assert last.getheaders()["ININ-Correlation-Id"]


def install_hooks(http_client: Any, pre_hook: Callable[[Any], Any], post_hook: Callable[[Any], Any]) -> None:
    """The SDK's setters where it has them (229.0.0 on); the attributes they set on the floor, 227.0.0."""
    if hasattr(http_client, "set_pre_request_hook"):
        http_client.set_pre_request_hook(pre_hook)
        http_client.set_post_request_hook(post_hook)
    else:
        http_client.pre_hook, http_client.post_hook = pre_hook, post_hook


def test_the_pre_and_post_request_hooks_run_as_in_the_default_client(client: Any, emu: Emulator) -> None:
    seen: list[tuple[str, str, str | None]] = []
    answered: list[int] = []

    def pre_hook(options: Any) -> Any:
        seen.append((options.method, options.url, options.headers.get("Authorization")))
        options.query_params = {**options.query_params, "pageSize": 30}
        return options

    def post_hook(response: Any) -> Any:
        answered.append(response.status)
        return response

    install_hooks(client.get_http_client(), pre_hook, post_hook)
    page = gc.UsersApi(client).get_users(page_size=25)
    with pytest.raises(ApiException):
        gc.AuthorizationApi(client).get_authorization_roles()
    assert page.page_size == 30  # the query the pre-hook changed is the one sent
    assert [(method, url.split("/", 3)[-1]) for method, url, _ in seen] == [
        ("GET", "api/v2/users"),
        ("GET", "api/v2/authorization/roles"),
    ]
    # The hook sees the SDK's headers: its own, empty, bearer value, never this library's token.
    assert {authorization for _, _, authorization in seen} == {"Bearer "}
    assert answered == [200]  # the post-hook sees answers; an error status raises before it, as by default
    assert emu.requests()[-2]["query"] == "pageSize=30"


def test_a_callback_call_after_a_revocation_gets_its_model(client: Any, emu: Emulator) -> None:
    api = gc.OrganizationApi(client)
    assert api.get_organizations_me().name == "Emulated Organization"
    emu.revoke_all()
    received: list[Any] = []
    thread = api.get_organizations_me(callback=received.append)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(received) == 1 and isinstance(received[0], gc.Organization)
    counters = emu.counters()
    assert (counters["token_requests"], counters["api_401"]) == (2, 1)
