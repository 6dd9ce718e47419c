"""The core over real sockets: the library against the emulator on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from genesys_auth_adapter import (
    ConfigurationError,
    GenesysAdapter,
    GenesysAuth,
    GenesysSession,
    ManualClock,
    TokenRequestError,
    UnreplayableBodyError,
    session,
)
from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, concurrent_gets, credentials_for

ECHO = "/_emulator/echo"


def _echo_sha(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["bodySha256"])


def test_a_fresh_session_gets_one_token_and_reuses_it(emu: Emulator, gsession: GenesysSession) -> None:
    """Pins: a token request per call (the login service throttles token minting)."""
    for _ in range(5):
        assert gsession.get("/api/v2/organizations/me").status_code == 200
    counters = emu.counters()
    assert counters["token_requests"] == 1
    assert counters["api_requests"] == 5


def test_proactive_refresh_replaces_the_token_before_it_expires(emu: Emulator) -> None:
    """Pins: a token used until the server rejects it. The client clock runs ahead by hand."""
    clock = ManualClock()
    with session(credentials_for(emu), clock=clock, timeout=TIMEOUT) as s:
        assert s.get("/api/v2/organizations/me").status_code == 200
        first = s.genesys_auth.manager.current
        assert first is not None and first.refresh_at is not None
        clock.advance(first.refresh_at - clock.monotonic() + 0.01)  # now stale, still valid
        response = s.get("/api/v2/organizations/me")
        second = s.genesys_auth.manager.current
    assert response.status_code == 200
    assert response.history == []  # no 401 was needed
    assert second is not None and second.generation == 2
    assert emu.counters()["token_requests"] == 2
    assert emu.counters()["api_401"] == 0


def test_a_failing_refresh_ahead_of_expiry_keeps_the_valid_token_and_waits_for_nothing(emu: Emulator) -> None:
    """Pins: the request that crosses refresh_at sitting through the login service's retry budget."""
    clock = ManualClock()
    with session(credentials_for(emu), clock=clock, timeout=TIMEOUT) as s:
        assert s.get("/api/v2/organizations/me").status_code == 200
        first = s.genesys_auth.manager.current
        assert first is not None and first.refresh_at is not None
        clock.advance(first.refresh_at - clock.monotonic() + 0.01)
        emu.fail_token_requests(3, status=429, retry_after=30)
        started = clock.monotonic()
        response = s.get("/api/v2/organizations/me")
        assert clock.monotonic() == started  # no wait at all on the manual clock
        assert response.status_code == 200
        assert s.genesys_auth.manager.current is first
    assert emu.counters()["token_requests"] == 2  # the first token, then one quick attempt


def test_a_revoked_token_is_replaced_and_the_request_resent(emu: Emulator, gsession: GenesysSession) -> None:
    """Pins: the 401 reaching the caller (the official SDK's client-credentials behaviour)."""
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    emu.revoke_all()
    response = gsession.get("/api/v2/organizations/me")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert emu.counters()["token_requests"] == 2
    assert emu.counters()["requests_by_path"]["/api/v2/organizations/me"] == 3


def test_a_one_off_call_with_auth_recovers_from_a_401_too(emu: Emulator, auth: GenesysAuth) -> None:
    url = emu.api_url + "/api/v2/organizations/me"
    assert requests.get(url, auth=auth, timeout=TIMEOUT).status_code == 200
    emu.revoke_all()
    response = requests.get(url, auth=auth, timeout=TIMEOUT)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert emu.counters()["token_requests"] == 2


def test_32_threads_on_a_revoked_token_cause_one_token_request(emu: Emulator, gsession: GenesysSession) -> None:
    """Pins: a thundering herd of token requests after a revocation."""
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    emu.revoke_all()
    emu.set_token_delay(0.3)  # a slow login service keeps the flight open while the others pile in
    assert concurrent_gets(gsession, 32, "/api/v2/organizations/me") == [200] * 32
    assert emu.counters()["token_requests"] == 2  # the first token and exactly one replacement


def test_a_persistent_401_is_returned_after_one_resend(emu: Emulator, gsession: GenesysSession) -> None:
    """Pins: an endless re-authenticate loop on a revoked grant."""
    emu.reject_all_tokens(True)
    response = gsession.get("/api/v2/organizations/me")
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"
    assert response.headers["ININ-Correlation-Id"]
    counters = emu.counters()
    assert counters["requests_by_path"]["/api/v2/organizations/me"] == 2
    assert counters["token_requests"] == 2


def test_a_403_is_not_answered_by_reauthenticating(emu: Emulator, gsession: GenesysSession) -> None:
    response = gsession.get("/api/v2/authorization/roles")
    assert response.status_code == 403
    assert response.json()["code"] == "missing.permissions"
    assert emu.counters()["token_requests"] == 1
    assert emu.counters()["requests_by_path"]["/api/v2/authorization/roles"] == 1


def _bytes_body() -> dict[str, Any]:
    return {"data": b"\x00\x01binary\xff" * 100}


def _str_body() -> dict[str, Any]:
    return {"data": "caf\u00e9 text", "headers": {"Content-Type": "text/plain; charset=utf-8"}}


def _form_body() -> dict[str, Any]:
    return {"data": {"a": "1", "b": "two words"}}


def _json_body() -> dict[str, Any]:
    return {"json": {"interval": "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", "n": [1, 2, 3]}}


def _multipart_body() -> dict[str, Any]:
    return {"files": {"file": ("report.csv", b"a,b\n1,2\n", "text/csv")}}


def _bytearray_body() -> dict[str, Any]:
    return {"data": bytearray(b"mutable bytes")}


def _bytesio_at_5() -> dict[str, Any]:
    stream = io.BytesIO(b"SKIP!" + b"payload after position five")
    stream.seek(5)
    return {"data": stream}


@pytest.mark.parametrize(
    "make_body",
    [_bytes_body, _str_body, _form_body, _json_body, _multipart_body, _bytearray_body, _bytesio_at_5],
    ids=["bytes", "str", "form", "json", "multipart", "bytearray", "bytesio-at-5"],
)
def test_the_resent_body_is_identical(
    emu: Emulator, gsession: GenesysSession, make_body: Callable[[], dict[str, Any]]
) -> None:
    """Pins: a consumed body re-sent as zero bytes after a 401."""
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    emu.revoke_all()
    response = gsession.post(ECHO, **make_body())
    assert [r.status_code for r in response.history] == [401]
    first, second = [r for r in emu.requests() if r["path"] == ECHO]
    assert (first["status"], second["status"]) == (401, 200)
    assert first["body_length"] > 0
    assert (second["body_sha256"], second["body_length"]) == (first["body_sha256"], first["body_length"])
    assert _echo_sha(response) == first["body_sha256"]
    if isinstance(make_body().get("data"), io.BytesIO):
        assert first["body_sha256"] == hashlib.sha256(b"payload after position five").hexdigest()


def test_a_file_on_disk_is_rewound_for_the_resend(emu: Emulator, gsession: GenesysSession, tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(os.urandom(50_000))
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    emu.revoke_all()
    with path.open("rb") as handle:
        response = gsession.post(ECHO, data=handle)
    assert [r.status_code for r in response.history] == [401]
    assert _echo_sha(response) == expected


def test_a_generator_body_is_never_resent_short(emu: Emulator, gsession: GenesysSession) -> None:
    """Pins: a generator re-sent empty after a 401 (it was consumed by the first send)."""
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    emu.revoke_all()

    def chunks() -> Iterator[bytes]:
        yield b"first chunk,"
        yield b"second chunk"

    with pytest.raises(UnreplayableBodyError) as caught:
        gsession.post(ECHO, data=chunks(), stream=True)
    assert isinstance(caught.value, requests.RequestException)
    assert "generator" in str(caught.value)
    assert caught.value.response is not None and caught.value.response.status_code == 401
    # The Genesys error body stays readable (it used to be closed unread on a streamed response).
    assert caught.value.response.json()["status"] == 401
    assert emu.counters()["requests_by_path"][ECHO] == 1
    # The rejected token was dropped: the next call just works.
    assert gsession.get("/api/v2/organizations/me").status_code == 200
    assert emu.counters()["token_requests"] == 2


@pytest.mark.parametrize("mode", ["adapter", "auth"])
def test_a_redirect_to_storage_carries_no_authorization(
    emu: Emulator, creds: Any, auth: GenesysAuth, mode: str
) -> None:
    """Pins: the bearer token leaking to a signed storage URL ("Only one auth mechanism allowed")."""
    url = emu.api_url + "/api/v2/downloads/rec-42"
    if mode == "adapter":
        with requests.Session() as s:
            s.mount(creds.api_url + "/", GenesysAdapter(auth))
            response = s.get(url, timeout=TIMEOUT)
    else:
        response = requests.get(url, auth=auth, timeout=TIMEOUT)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [303]
    assert response.url.startswith(emu.storage_url)
    assert len(response.content) > 0
    assert "Authorization" not in response.request.headers
    assert emu.counters()["storage_authorization_headers"] == 0


def test_no_token_goes_to_the_login_host_or_elsewhere(emu: Emulator, auth: GenesysAuth) -> None:
    with requests.Session() as s:
        s.mount("http://", GenesysAdapter(auth))  # deliberately too wide a mount
        s.get(emu.api_url + "/api/v2/organizations/me", timeout=TIMEOUT)
        storage = s.get(emu.storage_url + "/signed/x", timeout=TIMEOUT)
        login = s.get(emu.login_url + "/oauth/nothing", timeout=TIMEOUT)
    assert "Authorization" not in storage.request.headers
    assert "Authorization" not in login.request.headers
    assert emu.counters()["storage_authorization_headers"] == 0


def test_a_wrong_secret_is_a_typed_login_error_without_the_secret(emu: Emulator) -> None:
    secret = "not-the-right-secret-3141"
    with session(credentials_for(emu, secret=secret), timeout=TIMEOUT) as s, pytest.raises(TokenRequestError) as caught:
        s.get("/api/v2/organizations/me")
    error = caught.value
    assert error.status == 400
    assert error.error == "invalid_client"
    assert error.correlation_id and error.correlation_id in str(error)
    assert secret not in str(error) and secret not in repr(error)
    assert emu.counters()["token_requests"] == 1  # a credential error is never retried
    assert emu.counters()["api_requests"] == 0


def test_missing_configuration_names_every_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GENESYS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", "   ")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        session()
    message = str(caught.value)
    for name in ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_REGION"):
        assert name in message


def test_session_from_a_dotenv_file(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GENESYS_"):
            monkeypatch.delenv(name)
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in emu.env().items()))
    monkeypatch.chdir(tmp_path)
    with session() as s:
        assert s.get("/api/v2/organizations/me").status_code == 200


def test_skew_is_learned_from_date_headers(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory(skew=600.0)
    with session(credentials_for(emu), timeout=TIMEOUT) as s:
        for _ in range(5):
            s.get("/api/v2/organizations/me")
        estimate = s.genesys_auth.clock_offset
    assert estimate is not None
    assert abs(estimate.offset - 600.0) <= 1.0
    assert estimate.uncertainty <= 0.6


def test_jwt_tokens_are_scheduled_from_their_claims(genesys_emulator_factory: Callable[..., Emulator]) -> None:
    emu = genesys_emulator_factory(jwt=True, skew=-900.0, token_lifetime=300)
    with session(credentials_for(emu), timeout=TIMEOUT) as s:
        assert s.get("/api/v2/organizations/me").status_code == 200
        token = s.genesys_auth.manager.current
        estimate = s.genesys_auth.clock_offset
    assert token is not None and token.claims is not None and token.expires_at is not None
    assert 298 <= token.expires_at - token.obtained_at <= 300
    assert estimate is not None and abs(estimate.offset + 900.0) <= 1.0


def test_debug_logs_never_contain_secrets_or_tokens(
    emu: Emulator, creds: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen_tokens: list[str] = []
    with session(creds, timeout=TIMEOUT) as s:
        s.get("/api/v2/organizations/me")
        current = s.genesys_auth.manager.current
        assert current is not None
        seen_tokens.append(current.access_token)
        emu.revoke_all()
        s.get("/api/v2/organizations/me")
        current = s.genesys_auth.manager.current
        assert current is not None
        seen_tokens.append(current.access_token)
        s.post(ECHO, json={"x": 1})
        text = caplog.text + repr(s) + repr(s.genesys_auth) + repr(s.genesys_auth.manager)
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    assert "Obtained token #2" in caplog.text  # the logs did capture the flow
    for secret in (creds.client_secret, basic, *seen_tokens):
        assert secret not in text


def test_the_pytest_plugin_session_fixture(genesys_emulator: Emulator, genesys_session: GenesysSession) -> None:
    body = genesys_session.get("/api/v2/users", params={"pageSize": 100}).json()
    assert body["total"] == 57
    genesys_emulator.revoke_all()
    assert genesys_session.get("/api/v2/organizations/me").status_code == 200
    assert json.loads(json.dumps(genesys_emulator.counters()))["token_requests"] == 2
