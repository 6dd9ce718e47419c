"""GenesysSdkHttpClient on an ApiClient the caller made, with requests-mock as the network."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import PureCloudPlatformClientV2 as gc
import pytest
import requests
import requests_mock
from PureCloudPlatformClientV2.api_client import ApiClient
from PureCloudPlatformClientV2.http_request_options import HttpRequestOptions
from PureCloudPlatformClientV2.rest import ApiException

from genesys_auth_adapter import ClientCredentials, ConfigurationError, GenesysAuth, RetryPolicy, session
from genesys_auth_adapter.sdk import GenesysSdkHttpClient, api_client

API = "https://api.mypurecloud.com"
LOGIN = "https://login.mypurecloud.com"
ORG = API + "/api/v2/organizations/me"
SECRET = "s3cr3t-do-not-log"


@pytest.fixture
def network() -> requests_mock.Adapter:
    mock = requests_mock.Adapter()
    mock.register_uri("POST", LOGIN + "/oauth/token", json={"access_token": "lib-token", "expires_in": 86399})
    mock.register_uri("GET", ORG, json={"id": "org-1", "name": "Org"})
    return mock


@pytest.fixture
def auth(network: requests_mock.Adapter) -> Iterator[GenesysAuth]:
    http = requests.Session()
    http.mount("https://", network)
    genesys = GenesysAuth(ClientCredentials("client-1", SECRET, "us-east-1"), http=http)
    yield genesys
    genesys.close()


@pytest.fixture
def http_client(auth: GenesysAuth, network: requests_mock.Adapter) -> Iterator[GenesysSdkHttpClient]:
    client = GenesysSdkHttpClient(auth, transport=network, retry=RetryPolicy(max_attempts=1))
    client.session.mount(LOGIN + "/", network)  # what leaves the API base goes through the mock too
    yield client
    client.close()


def existing(http_client: GenesysSdkHttpClient) -> Any:
    """An ApiClient made the SDK's way (region host from its Configuration), then given this library's client."""
    client = ApiClient()
    client.set_http_client(http_client)
    return client


def test_the_sdks_own_token_is_replaced_by_the_librarys(
    http_client: GenesysSdkHttpClient, network: requests_mock.Adapter
) -> None:
    client = existing(http_client)
    client.access_token = "sdk-token"  # what get_client_credentials_token() would have left there
    assert gc.OrganizationApi(client).get_organizations_me().name == "Org"
    assert network.last_request.headers["Authorization"] == "Bearer lib-token"


def test_the_sdks_own_token_request_goes_out_as_it_built_it(
    http_client: GenesysSdkHttpClient, network: requests_mock.Adapter
) -> None:
    """Old code that still logs the SDK in keeps working (the token it gets is never sent)."""
    client = existing(http_client).get_client_credentials_token("client-1", SECRET)
    basic = "Basic " + base64.b64encode(f"client-1:{SECRET}".encode()).decode()
    assert network.last_request.headers["Authorization"] == basic
    assert gc.OrganizationApi(client).get_organizations_me().name == "Org"
    assert network.last_request.headers["Authorization"] == "Bearer lib-token"


def test_an_api_client_aimed_elsewhere_than_its_credentials_is_refused(
    http_client: GenesysSdkHttpClient, network: requests_mock.Adapter
) -> None:
    """Pins: an ApiClient for another region sending its calls with no token, to come back as a puzzling 401."""
    client = ApiClient(host="https://api.mypurecloud.ie")
    client.set_http_client(http_client)
    with pytest.raises(ConfigurationError) as raised:
        gc.OrganizationApi(client).get_organizations_me()
    message = str(raised.value)
    assert "https://api.mypurecloud.ie/api/v2/organizations/me" in message and API in message
    assert "api_client()" in message
    assert network.call_count == 0


def test_set_timeout_is_in_milliseconds(http_client: GenesysSdkHttpClient, network: requests_mock.Adapter) -> None:
    client = existing(http_client)
    gc.OrganizationApi(client).get_organizations_me()
    assert network.last_request.timeout == (10.0, 60.0)  # the session's default until one is set
    http_client.set_timeout(2500)
    gc.OrganizationApi(client).get_organizations_me()
    assert network.last_request.timeout == 2.5
    for bad in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="positive number of milliseconds"):
            http_client.set_timeout(bad)


def test_no_answer_raises_the_librarys_error_not_an_api_exception(
    http_client: GenesysSdkHttpClient, network: requests_mock.Adapter
) -> None:
    network.register_uri("GET", ORG, exc=requests.exceptions.ConnectionError("connection refused"))
    with pytest.raises(requests.exceptions.ConnectionError):
        gc.OrganizationApi(existing(http_client)).get_organizations_me()


def test_a_certificate_failure_is_an_api_exception_with_status_0_as_by_default(
    http_client: GenesysSdkHttpClient, network: requests_mock.Adapter
) -> None:
    network.register_uri("GET", ORG, exc=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(ApiException) as raised:
        gc.OrganizationApi(existing(http_client)).get_organizations_me()
    assert raised.value.status == 0 and "certificate verify failed" in raised.value.reason


def test_requests_the_default_client_would_refuse_are_refused(http_client: GenesysSdkHttpClient) -> None:
    with pytest.raises(ValueError, match="must be an instance of HttpRequestOptions"):
        http_client.request({"url": ORG, "method": "GET"})
    with pytest.raises(ValueError, match="not TRACE"):
        http_client.request(HttpRequestOptions(url=ORG, method="TRACE"))


def test_what_it_is_built_from(auth: GenesysAuth) -> None:
    with pytest.raises(TypeError, match="needs a GenesysAuth or a GenesysSession, got ClientCredentials"):
        GenesysSdkHttpClient(auth.credentials)  # type: ignore[arg-type]
    genesys = session(auth.credentials)
    with pytest.raises(TypeError, match=r"session options \['retry'\]"):
        GenesysSdkHttpClient(genesys, retry=RetryPolicy())
    text = repr(GenesysSdkHttpClient(genesys))
    assert text.startswith("GenesysSdkHttpClient(GenesysAuth(") and SECRET not in text
    genesys.close()


def test_close_closes_only_a_session_it_owns(auth: GenesysAuth, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    handed_in = session(auth.credentials)
    monkeypatch.setattr(handed_in, "close", lambda: closed.append("handed in"))
    with GenesysSdkHttpClient(handed_in) as borrowed:
        assert borrowed.session is handed_in and borrowed.auth is handed_in.genesys_auth
    owned = api_client(auth.credentials)
    monkeypatch.setattr(owned.get_http_client().session, "close", lambda: closed.append("owned"))
    owned.get_http_client().close()
    made_here = GenesysSdkHttpClient(auth)
    monkeypatch.setattr(made_here.session, "close", lambda: closed.append("made here"))
    made_here.close()
    assert closed == ["owned", "made here"]
