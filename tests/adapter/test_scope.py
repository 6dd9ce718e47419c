"""Where a bearer token may go: only URLs under the API base URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
import requests_mock

from genesys_auth_adapter import GenesysAdapter, GenesysAuth
from genesys_auth_adapter.transport.scope import ApiScope

from .helpers import API, LOGIN, Client, RecordingMock, mounted

IN_SCOPE = [
    f"{API}/api/v2/organizations/me",
    f"{API}/api/v2/analytics/conversations/details/query?pageSize=100",
    f"{API}/",
    API,
    "https://API.MyPureCloud.com/api/v2/users",
    "https://api.mypurecloud.com:443/api/v2/users",
    "https://api.mypurecloud.com./api/v2/users",
]
OUT_OF_SCOPE = [
    f"{LOGIN}/oauth/token",
    "https://api.mypurecloud.ie/api/v2/organizations/me",
    "https://api.mypurecloud.com.evil.example/api/v2/organizations/me",
    "https://api.mypurecloud.com.evil.example/",
    "https://evil.example/api/v2?next=https://api.mypurecloud.com/",
    "https://api.mypurecloud.com@evil.example/api/v2",
    "https://api.mypurecloud.com:8443/api/v2/organizations/me",
    "http://api.mypurecloud.com/api/v2/organizations/me",
    "https://storage.example/download/abc",
]


@pytest.mark.parametrize("url", IN_SCOPE)
def test_urls_under_the_api_base_are_in_scope(url: str) -> None:
    """Pins: case, the default port and a trailing dot do not stop a token going to the API host."""
    assert url in ApiScope(API)


@pytest.mark.parametrize("url", OUT_OF_SCOPE)
def test_other_hosts_ports_schemes_and_look_alikes_are_out_of_scope(url: str) -> None:
    """Pins: the token never reaches the login host, another region, a look-alike host, port or scheme."""
    assert url not in ApiScope(API)


def test_a_base_url_with_a_path_scopes_by_path_segment() -> None:
    """Pins: a gateway base '/genesys' does not cover '/genesys-evil'."""
    scope = ApiScope("http://127.0.0.1:8080/genesys/")
    assert "http://127.0.0.1:8080/genesys/api/v2/users" in scope
    assert "http://127.0.0.1:8080/genesys" in scope
    assert "http://127.0.0.1:8080/genesys-evil/api/v2/users" not in scope
    assert "http://127.0.0.1:8080/api/v2/users" not in scope
    assert "http://127.0.0.1:8081/genesys/api/v2/users" not in scope
    assert "http://localhost:8080/genesys/api/v2/users" not in scope


def test_non_string_urls_are_out_of_scope() -> None:
    """Pins: a None or bytes URL never matches."""
    scope = ApiScope(API)
    assert None not in scope
    assert b"https://api.mypurecloud.com/api/v2" not in scope


@pytest.mark.parametrize("url", OUT_OF_SCOPE[1:])
def test_no_token_is_attached_outside_the_api_base(client: Client, url: str) -> None:
    """Pins the end-to-end behaviour: requests to other origins carry no Authorization header."""
    client.mock.register_uri("GET", requests_mock.ANY, json={})
    client.get(url)
    (request,) = client.mock.sent
    assert "Authorization" not in request.headers
    assert client.token_calls() == []


@pytest.mark.parametrize("url", IN_SCOPE[:4])
def test_a_token_is_attached_under_the_api_base(client: Client, url: str) -> None:
    """Pins: every request under the API base gets the bearer token."""
    client.mock.register_uri("GET", requests_mock.ANY, json={})
    client.get(url)
    assert client.mock.sent[-1].headers["Authorization"] == "Bearer token-1"


def test_an_adapter_mounted_wider_than_the_api_base_attaches_no_token_elsewhere(
    auth: GenesysAuth, mock: RecordingMock
) -> None:
    """Pins: the adapter checks the URL itself; mounting it on 'https://' leaks nothing to other hosts."""
    mock.register_uri("GET", requests_mock.ANY, json={})
    session = mounted(mock)
    adapter = GenesysAdapter(auth, transport=mock)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    for url in OUT_OF_SCOPE[1:]:
        session.get(url)
        assert "Authorization" not in mock.sent[-1].headers, url
    assert [r.url for r in mock.sent if r.url.startswith(LOGIN)] == []
    session.get(f"{API}/api/v2/organizations/me")
    assert mock.sent[-1].headers["Authorization"] == "Bearer token-1"


def test_a_hand_written_token_source_cannot_send_tokens_over_plain_http() -> None:
    """Pins: a custom TokenSource with an http:// api_url getting Bearer tokens sent in clear text."""
    from genesys_auth_adapter import ConfigurationError, IssuedToken

    class Source:
        api_url = "http://api.example.com"

        def initial_token(self) -> IssuedToken | None:
            return None

        def token_request(self) -> None:
            return None

        def obtain(self) -> IssuedToken:
            return IssuedToken("secret-tok")

    with pytest.raises(ConfigurationError, match="plain http"):
        GenesysAuth(Source())  # type: ignore[arg-type]
    assert ApiScope("http://127.0.0.1:8080").base_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        ("https://gw.example/genesys/api/v2/users", True),
        ("https://gw.example/genesys/a/../api/v2/users", True),
        ("https://gw.example/genesys/./api", True),
        ("https://gw.example/genesys/../other/api", False),
        ("https://gw.example/genesys/%2e%2e/other", False),
        ("https://gw.example/genesys/%2E%2e/other", False),
        ("https://gw.example/genesys/..%2fother", False),
        ("https://gw.example/genesys/..%5Cother", False),
        ("https://gw.example/genesys/a/%2e%2e/%2e%2e/other", False),
        ("https://gw.example/genesysother", False),
    ],
)
def test_dot_segments_are_resolved_before_the_prefix_test(url: str, inside: bool) -> None:
    """Pins: /genesys/../other and its encoded forms counted as inside /genesys (a server resolves them)."""
    scope = ApiScope("https://gw.example/genesys")
    assert (url in scope) is inside
    parts = urlsplit(url)
    assert scope.contains_parts("https", "gw.example", None, parts.path) is inside


def test_an_internationalized_host_matches_its_idna_form() -> None:
    """Pins: an IDN api_url never matching the IDNA host of prepared URLs, so no token was ever attached."""
    scope = ApiScope("https://bücher.example/genesys")
    prepared = requests.Request("GET", "https://bücher.example/genesys/api/v2/users").prepare().url
    assert prepared in scope
    assert scope.contains_parts("https", "bücher.example", None, "/genesys/api/v2/users")
