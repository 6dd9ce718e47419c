"""Regions and base URLs: the 18 Genesys Cloud regions, URL checks and loopback detection."""

from __future__ import annotations

import pytest

from genesys_auth_adapter import REGIONS, ClientCredentials, ConfigurationError, get_region
from genesys_auth_adapter.regions import is_loopback, login_url_for, normalize_base_url

# Transcribed from the platform notes (GENESYS.md), independently of the library's table.
EXPECTED = {
    "us-east-1": "mypurecloud.com",
    "eu-west-1": "mypurecloud.ie",
    "ap-southeast-2": "mypurecloud.com.au",
    "ap-northeast-1": "mypurecloud.jp",
    "eu-central-1": "mypurecloud.de",
    "us-west-2": "usw2.pure.cloud",
    "ca-central-1": "cac1.pure.cloud",
    "ap-northeast-2": "apne2.pure.cloud",
    "eu-west-2": "euw2.pure.cloud",
    "ap-south-1": "aps1.pure.cloud",
    "us-east-2": "use2.us-gov-pure.cloud",
    "sa-east-1": "sae1.pure.cloud",
    "me-central-1": "mec1.pure.cloud",
    "ap-northeast-3": "apne3.pure.cloud",
    "eu-central-2": "euc2.pure.cloud",
    "mx-central-1": "mxc1.pure.cloud",
    "ap-southeast-1": "apse1.pure.cloud",
    "eusc-de-east-1": "edee1.eusc-pure.cloud",
}


def test_the_region_table_has_exactly_the_18_documented_regions() -> None:
    """Pins: no region is missing, misspelt or mapped to the wrong domain."""
    assert len(REGIONS) == 18
    assert {region.name: region.domain for region in REGIONS} == EXPECTED


@pytest.mark.parametrize(("name", "domain"), sorted(EXPECTED.items()))
def test_each_region_is_found_by_name_underscore_form_and_domain(name: str, domain: str) -> None:
    """Pins: 'us-east-1', 'US_EAST_1', ' mypurecloud.com ', 'api.<domain>' and 'login.<domain>' all work."""
    region = get_region(name)
    assert (region.name, region.domain) == (name, domain)
    for alias in (
        name.replace("-", "_"),
        name.upper(),
        f"  {name}  ",
        domain,
        domain.upper(),
        f"api.{domain}",
        f"login.{domain}",
        f"https://api.{domain}",
    ):
        assert get_region(alias) == region, alias
    assert region.api_url == f"https://api.{domain}"
    assert region.login_url == f"https://login.{domain}"


@pytest.mark.parametrize(
    "value",
    [
        "mypurecloud.ie/",
        "apps.mypurecloud.ie",
        "https://apps.mypurecloud.ie/",
        "HTTPS://Apps.MyPureCloud.ie/directory/#/",
        "http://login.mypurecloud.ie:443",
        "https://api.mypurecloud.ie/api/v2/",
        "mypurecloud.ie?x=1",
    ],
)
def test_a_region_is_found_by_the_host_or_url_people_copy_from_their_browser(value: str) -> None:
    """Pins: GENESYS_REGION=apps.mypurecloud.ie (where people log in), or a pasted URL, was an unknown region."""
    assert get_region(value).name == "eu-west-1"


@pytest.mark.parametrize(
    "value",
    ["us-east-9", "us-east-1.mypurecloud.com", "", "api.example.com", "www.mypurecloud.ie", "ftp://mypurecloud.ie"],
)
def test_an_unknown_region_error_lists_every_valid_name(value: str) -> None:
    """Pins: a typo gets an actionable message (region names are not subdomains)."""
    with pytest.raises(ConfigurationError) as caught:
        get_region(value)
    message = str(caught.value)
    for name in EXPECTED:
        assert name in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.mypurecloud.com/", "https://api.mypurecloud.com"),
        ("https://api.mypurecloud.com", "https://api.mypurecloud.com"),
        (" https://gateway.example.com/genesys/ ", "https://gateway.example.com/genesys"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://127.5.6.7", "http://127.5.6.7"),
        ("https://api.mypurecloud.com:443/", "https://api.mypurecloud.com:443"),
        ("https://gateway.example.com:65535/api/v2-proxy", "https://gateway.example.com:65535/api/v2-proxy"),
        ("https://gateway.example.com/api/v2/genesys", "https://gateway.example.com/api/v2/genesys"),
        ("https://internal_proxy.corp.example", "https://internal_proxy.corp.example"),
        ("https://api.bücher.example", "https://api.bücher.example"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
    ],
)
def test_normalize_base_url_accepts_https_and_loopback_http(url: str, expected: str) -> None:
    """Pins: trailing slashes go; plain http is fine for a local emulator."""
    assert normalize_base_url(url, what="api_url") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.mypurecloud.com",
        "http://10.0.0.5:8080",
        "http://localhost.evil.example",
        "ftp://api.mypurecloud.com",
        "api.mypurecloud.com",
        "https://",
        "https://api.mypurecloud.com/?x=1",
        "https://api.mypurecloud.com/#frag",
        "https://user:pw@api.mypurecloud.com",
    ],
)
def test_normalize_base_url_rejects_plain_http_off_loopback_and_malformed_urls(url: str) -> None:
    """Pins: a bearer token never crosses a network unencrypted, and odd URLs fail at configuration time."""
    with pytest.raises(ConfigurationError, match="api_url"):
        normalize_base_url(url, what="api_url")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("localhost.evil.example", False),
        ("api.mypurecloud.com", False),
        ("::2", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Pins: only genuine loopback addresses count; look-alike names do not."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("api_url", "login_url"),
    [
        ("https://api.mypurecloud.ie", "https://login.mypurecloud.ie"),
        ("https://api.usw2.pure.cloud/", "https://login.usw2.pure.cloud"),
        ("http://api.localhost:8080", "http://login.localhost:8080"),
        ("https://gateway.example.com", None),
    ],
)
def test_login_url_is_derived_by_replacing_the_api_label(api_url: str, login_url: str | None) -> None:
    """Pins the official SDK's rule: the login host is the API host with 'api.' replaced by 'login.'."""
    assert login_url_for(api_url) == login_url


@pytest.mark.parametrize(
    "url",
    [
        "https://api.mypurecloud.com/api/v2",
        "https://api.mypurecloud.com/api/v2/",
        "https://api.mypurecloud.com/API/V2",
        "https://gateway.example.com/genesys/api/v2//",
    ],
)
def test_an_api_url_ending_in_api_v2_says_to_drop_it(url: str) -> None:
    """Pins: requests going to /api/v2/api/v2/... and failing with 404s far from the cause."""
    with pytest.raises(ConfigurationError) as caught:
        normalize_base_url(url, what="api_url")
    assert "api_url ends in /api/v2: drop it and set it to 'https://" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "fixed"),
    [
        ("https://login.mypurecloud.ie/oauth/token", "https://login.mypurecloud.ie"),
        ("https://login.mypurecloud.ie/oauth/token/", "https://login.mypurecloud.ie"),
        ("https://gateway.example.com/genesys/OAuth/Token", "https://gateway.example.com/genesys"),
    ],
)
def test_a_login_url_ending_in_oauth_token_says_what_to_set(url: str, fixed: str) -> None:
    """Pins: the token request going to /oauth/token/oauth/token and failing with a 404 at the first request."""
    with pytest.raises(ConfigurationError) as caught:
        ClientCredentials("client", "secret", region="eu-west-1", login_url=url)
    assert str(caught.value).startswith(f"login_url ends in /oauth/token: drop it and set it to {fixed!r}.")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_url": "https://apps.mypurecloud.ie/"}, "api_url names apps.mypurecloud.ie, which is not the API host"),
        ({"api_url": "https://mypurecloud.ie"}, "api_url names mypurecloud.ie, which is not the API host"),
        ({"api_url": "https://login.usw2.pure.cloud"}, "api_url names login.usw2.pure.cloud, which is not the API"),
        (
            {"region": "eu-west-1", "login_url": "https://api.mypurecloud.ie"},
            "login_url names api.mypurecloud.ie, which is not the login host of eu-west-1",
        ),
    ],
)
def test_a_genesys_host_of_the_wrong_kind_is_refused_naming_the_right_one(kwargs: dict[str, str], message: str) -> None:
    """Pins: the web app's host as the API URL failing later with an HTML page instead of JSON."""
    with pytest.raises(ConfigurationError) as caught:
        ClientCredentials("client", "secret", **kwargs)
    assert str(caught.value).startswith(message)
    assert "https://" + ("login" if "login_url" in kwargs else "api") in str(caught.value)


def test_hosts_outside_the_genesys_domains_are_not_checked_for_their_label() -> None:
    creds = ClientCredentials(
        "client", "secret", api_url="https://gw.mypurecloud.ie.example.com", login_url="https://sso.example.com"
    )
    assert (creds.api_url, creds.login_url) == ("https://gw.mypurecloud.ie.example.com", "https://sso.example.com")


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("https://api.x.com:99999", "invalid host or port"),
        ("https://api.x.com:65536", "invalid host or port"),
        ("https://api.x.com:0", "port 0"),
        ("https://api.x.com:https", "invalid host or port"),
        ("https://api.x.com:+443", "invalid host or port"),
        ("https://api.x.com:٤٤٣", "invalid host or port"),
        ("http://[::1:8080/", "invalid host or port"),
        ("https://api.x .com", "a blank or a control character"),
        ("https://api.mypure\ncloud.com", "a blank or a control character"),
        ("https://api.mypurecloud.com/gen\tesys", "a blank or a control character"),
        ("https://api.x\u00a0.com", "a blank or a control character"),
        ("https://api.x!.com", "invalid host name 'api.x!.com'"),
        ("https://api.x%2e.com", "invalid host name"),
        ("https://api..x.com", "invalid host name"),
        ("https://-api.x.com", "invalid host name"),
        ("https://" + "a" * 64 + ".example.com", "invalid host name"),
    ],
)
def test_a_bad_port_or_host_is_refused_when_the_url_is_given(url: str, complaint: str) -> None:
    """Pins: a bad port or host passing configuration and failing later, inside the first request."""
    with pytest.raises(ConfigurationError) as caught:
        normalize_base_url(url, what="login_url")
    message = str(caught.value)
    assert message.startswith("login_url") and complaint in message


@pytest.mark.parametrize("url", ["https://@api.mypurecloud.com", "https://api.mypurecloud.com:0443"])
def test_a_base_url_no_prepared_url_would_match_is_refused(url: str) -> None:
    """Pins: an empty user part or a zero-padded port made a mount prefix no request matched (no token, ever)."""
    with pytest.raises(ConfigurationError):
        ClientCredentials("client", "secret", api_url=url)
