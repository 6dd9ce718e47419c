"""What each user grant puts on the wire, and how the answers read: no network, no emulator."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest

from genesys_auth_adapter import ConfigurationError, IssuedToken, LoginRequiredError, TokenRequestError
from genesys_auth_adapter.grants import AuthorizationRequest, CodeClient, PkceClient, RefreshToken, Saml2Bearer
from genesys_auth_adapter.grants.code import check_redirect_uri, registered_port, with_port
from genesys_auth_adapter.grants.pkce import s256_challenge
from genesys_auth_adapter.oauth import parse_token_response
from genesys_auth_adapter.tokeninfo import TokenInfo, parse_token_info

LOGIN = "https://login.mypurecloud.ie"


@dataclass
class Answer:
    """A login service answer with the three attributes the login port reads."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def test_s256_challenge_matches_the_rfc_7636_example() -> None:
    """RFC 7636 appendix B: this verifier's S256 challenge is this value."""
    verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert s256_challenge(verifier) == challenge


def test_each_authorization_request_is_fresh_and_its_verifier_is_rfc_sized() -> None:
    first, second = AuthorizationRequest.new("http://127.0.0.1:1"), AuthorizationRequest.new("http://127.0.0.1:1")
    assert first.state != second.state and first.verifier != second.verifier
    assert 43 <= len(first.verifier) <= 128
    assert set(first.verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    digest = base64.urlsafe_b64encode(hashlib.sha256(first.verifier.encode()).digest()).rstrip(b"=").decode()
    assert first.challenge == digest
    assert first.state_matches(first.state) and not first.state_matches(second.state)
    assert not first.state_matches(None)


def test_the_authorize_url_asks_for_a_code_with_pkce_s256_and_state() -> None:
    client = PkceClient("cid", "eu-west-1")
    request = AuthorizationRequest.new("http://127.0.0.1:5123")
    url = urlsplit(client.authorize_url(request))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{LOGIN}/oauth/authorize"
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query == {
        "client_id": "cid",
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:5123",
        "code_challenge": request.challenge,
        "code_challenge_method": "S256",
        "state": request.state,
    }
    assert request.verifier not in client.authorize_url(request)


def test_a_pkce_client_exchanges_its_code_with_the_verifier_and_no_basic_credentials() -> None:
    request = AuthorizationRequest.new("http://127.0.0.1:5123")
    exchange = PkceClient("cid", "eu-west-1").exchange_request("the-code", request)
    assert exchange.url == f"{LOGIN}/oauth/token"
    assert exchange.basic is None
    assert dict(exchange.form) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://127.0.0.1:5123",
        "code_verifier": request.verifier,
        "client_id": "cid",
    }
    assert set(exchange.scrubbed) == {"the-code", request.verifier}


def test_a_code_client_authenticates_with_its_secret_in_every_token_request() -> None:
    client = CodeClient("cid", "s3cret", "eu-west-1")
    request = AuthorizationRequest.new("http://127.0.0.1:5123")
    exchange = client.exchange_request("the-code", request)
    refresh = client.refresh_request("rt-1")
    for sent in (exchange, refresh):
        assert sent.basic == ("cid", "s3cret")
        assert "client_id" not in dict(sent.form)
        assert "s3cret" in sent.scrubbed
    assert dict(refresh.form) == {"grant_type": "refresh_token", "refresh_token": "rt-1"}
    assert "rt-1" in refresh.scrubbed


def test_a_pkce_refresh_names_the_client_in_the_form() -> None:
    refresh = PkceClient("cid", "eu-west-1").refresh_request("rt-1")
    assert refresh.basic is None
    assert dict(refresh.form) == {"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "cid"}


def test_saml2_bearer_sends_org_name_and_assertion_with_basic_credentials() -> None:
    grant = Saml2Bearer("cid", "s3cret", "myorg", "PHNhbWw+YXNzZXJ0aW9uPC9zYW1sPg==", "eu-west-1")
    sent = grant.token_request()
    assert sent.url == f"{LOGIN}/oauth/token"
    assert sent.basic == ("cid", "s3cret")
    assert dict(sent.form) == {
        "grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer",
        "orgName": "myorg",
        "assertion": "PHNhbWw+YXNzZXJ0aW9uPC9zYW1sPg==",
    }
    assert "PHNhbWw+YXNzZXJ0aW9uPC9zYW1sPg==" in sent.scrubbed


def test_two_assertions_never_share_store_entries_but_one_assertion_does() -> None:
    one = Saml2Bearer("cid", "s", "org", "assertion-of-alice", "eu-west-1")
    again = Saml2Bearer("cid", "s", "org", "assertion-of-alice", "eu-west-1")
    other = Saml2Bearer("cid", "s", "org", "assertion-of-bob", "eu-west-1")
    assert one.store_identity().key == again.store_identity().key
    assert one.store_identity().key != other.store_identity().key


def test_a_public_and_a_confidential_client_bind_their_entries_differently() -> None:
    public = PkceClient("cid", "eu-west-1").store_identity()
    confidential = CodeClient("cid", "s3cret", "eu-west-1").store_identity()
    assert public.key == confidential.key  # one login per client id and login host
    assert public.binding() and confidential.binding() and public.binding() != confidential.binding()
    assert public.binding() != PkceClient("cid", "us-east-1").store_identity().binding()
    assert public.refresh_key != public.key


def test_a_token_answer_with_a_refresh_token_reads_both() -> None:
    answer = Answer(200, b'{"access_token":"at-1","token_type":"bearer","expires_in":600,"refresh_token":"rt-1"}')
    issued = parse_token_response(answer)
    assert (issued.access_token, issued.refresh_token, issued.expires_in) == ("at-1", "rt-1", 600.0)
    assert "rt-1" not in repr(issued)


def test_a_refused_refresh_token_reads_as_invalid_grant_without_quoting_it() -> None:
    answer = Answer(400, b'{"error":"invalid_grant","error_description":"refresh token rt-secret-1 is revoked"}')
    with pytest.raises(TokenRequestError) as raised:
        parse_token_response(answer, secret=PkceClient("cid", "eu-west-1").refresh_request("rt-secret-1").scrubbed)
    assert raised.value.error == "invalid_grant"
    assert "rt-secret-1" not in str(raised.value) and "rt-secret-1" not in (raised.value.description or "")
    assert "refused" in str(raised.value)


@pytest.mark.parametrize(
    "uri",
    ["https://127.0.0.1", "http://example.com/cb", "http://0.0.0.0", "http://127.0.0.1/cb?x=1", "http://127.0.0.1:0"],
)
def test_a_redirect_uri_that_is_not_a_plain_loopback_http_address_is_refused(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="redirect_uri"):
        check_redirect_uri(uri)


def test_a_registered_port_is_kept_and_an_unported_uri_takes_the_servers() -> None:
    assert registered_port(check_redirect_uri("http://localhost:7788/cb")) == 7788
    assert registered_port(check_redirect_uri("http://127.0.0.1")) is None
    assert with_port("http://127.0.0.1", 5000) == "http://127.0.0.1:5000"
    assert with_port("http://localhost:7788/cb", 7788) == "http://localhost:7788/cb"


def test_a_client_alone_asks_for_a_login_instead_of_a_token() -> None:
    client = PkceClient("cid", "eu-west-1")
    assert client.token_request() is None and client.initial_token() is None
    with pytest.raises(LoginRequiredError, match="genesys-auth login"):
        client.obtain()


def test_a_login_starts_with_the_lifetime_its_access_token_has_left(monkeypatch: pytest.MonkeyPatch) -> None:
    login = RefreshToken(
        PkceClient("cid", "eu-west-1"),
        "rt-1",
        access_token=IssuedToken("at-1", expires_in=600.0, refresh_token="rt-1"),
        login_at=1000.0,
    )
    assert login.access_token is not None and login.access_token.refresh_token is None  # kept once
    monkeypatch.setattr("genesys_auth_adapter.grants.refresh.time.time", lambda: 1100.0)
    start = login.initial_token()
    assert start is not None and start.access_token == "at-1" and start.expires_in == pytest.approx(500.0)
    monkeypatch.setattr("genesys_auth_adapter.grants.refresh.time.time", lambda: 1600.0)
    assert login.initial_token() is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PkceClient("", "eu-west-1"), "client_id"),
        (lambda: CodeClient("cid", " ", "eu-west-1"), "client_secret"),
        (lambda: Saml2Bearer("cid", "s", "", "a", "eu-west-1"), "org_name"),
        (lambda: Saml2Bearer("cid", "s", "org", "", "eu-west-1"), "assertion"),
        (lambda: RefreshToken("cid"), "PkceClient"),  # type: ignore[arg-type]
    ],
)
def test_missing_values_are_named(build: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"dateTokenIdles":"2026-12-01T09:15:00.000Z"}', TokenInfo(alive=True, idles_in=299.0)),
        (200, b'{"dateTokenIdles":"2026-12-01T09:09:00Z"}', TokenInfo(alive=True, idles_in=0.0)),  # past
        (200, b'{"organization":{}}', TokenInfo(alive=True)),  # no idle timeout in the org
        (200, b"not json", TokenInfo(alive=True)),
        (401, b"{}", TokenInfo(alive=False)),
        (503, b"{}", TokenInfo(alive=None)),
    ],
)
def test_token_info_reads_the_idle_deadline_against_the_answers_date(
    status: int, body: bytes, expected: TokenInfo
) -> None:
    """``Date: 09:10:00`` means "between 09:10:00 and 09:10:01": the time left is counted from its end."""
    answer = Answer(status, body, {"Content-Type": "application/json", "Date": "Tue, 01 Dec 2026 09:10:00 GMT"})
    assert parse_token_info(answer, received_wall=0.0) == expected
    assert parse_token_info(None, received_wall=0.0) == TokenInfo(alive=None)
