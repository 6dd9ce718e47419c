"""HTTP plumbing and lifecycle: bodies (chunked too), keep-alive, control endpoints, start/stop, the CLI loop."""

from __future__ import annotations

import _thread
import base64
import hashlib
import io
import json
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from genesys_auth_adapter.emulator import Emulator, serve_forever

TIMEOUT = 10


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def refuses_connections(url: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port_of(url)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_echo_reports_the_bytes_received(genesys_emulator, client, method):
    payload = bytes(range(256)) * 3

    response = client.request(method, "/_emulator/echo", data=payload, headers={"Content-Type": "image/x-test"})

    body = response.json()
    assert body["method"] == method
    assert body["contentType"] == "image/x-test"
    assert body["bodyLength"] == len(payload)
    assert body["bodySha256"] == hashlib.sha256(payload).hexdigest()
    assert base64.b64decode(body["bodyBase64"]) == payload


def test_echo_reads_a_chunked_generator_body(genesys_emulator, client):
    parts = [b"first,", b"", b"second," * 1000, b"third"]

    response = client.post("/_emulator/echo", data=(part for part in parts))

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert base64.b64decode(response.json()["bodyBase64"]) == b"".join(parts)
    assert genesys_emulator.requests()[-1]["body_length"] == len(b"".join(parts))
    # The connection is still in step: the next request on it works.
    assert client.get("/api/v2/organizations/me").status_code == 200
    assert genesys_emulator.counters()["api_connections"] == 1


def test_echo_needs_a_bearer_token_and_a_body_method(genesys_emulator, client):
    anonymous = requests.post(genesys_emulator.api_url + "/_emulator/echo", data=b"x", timeout=TIMEOUT)

    assert anonymous.status_code == 401
    assert client.get("/_emulator/echo").status_code == 404


def test_responses_always_carry_content_length(genesys_emulator, client):
    for response in (
        client.get("/api/v2/users"),
        client.get("/api/v2/nothing"),
        client.request("HEAD", "/api/v2/tokens/me"),
    ):
        assert int(response.headers["Content-Length"]) == len(response.content), response.url


def test_malformed_chunked_body_gets_400_and_close(genesys_emulator):
    with socket.create_connection(("127.0.0.1", port_of(genesys_emulator.api_url)), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /_emulator/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk

    head = reply.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 400")
    assert "Connection: close" in head


def test_two_requests_on_one_session_share_one_connection(genesys_emulator, client):
    client.get("/api/v2/organizations/me")
    client.get("/api/v2/organizations/me")

    assert genesys_emulator.counters()["api_connections"] == 1
    requests.get(genesys_emulator.api_url + "/api/v2/organizations/me", timeout=TIMEOUT)
    assert genesys_emulator.counters()["api_connections"] == 2


def test_request_log_describes_requests_without_tokens(genesys_emulator, client):
    client.get("/api/v2/users", params={"pageSize": 5})
    client.post("/_emulator/echo", json={"a": 1})

    log = genesys_emulator.requests()

    assert [entry["path"] for entry in log] == ["/api/v2/users", "/_emulator/echo"]
    assert log[0]["query"] == "pageSize=5" and log[0]["status"] == 200 and log[0]["body_length"] == 0
    assert log[1]["content_type"] == "application/json"
    assert set(log[0]) == {
        "method", "path", "query", "authorization_present", "body_sha256", "body_length", "content_type", "status",
    }  # fmt: skip
    assert client.token not in json.dumps(log)
    assert client.token not in json.dumps(genesys_emulator.counters())


def test_request_log_keeps_the_last_1000(genesys_emulator_factory, make_client):
    emu = genesys_emulator_factory(rate_limit=0)
    client = make_client(emu)

    for number in range(1005):
        client.get("/api/v2/users", params={"pageNumber": number + 1, "pageSize": 1})

    log = emu.requests()
    assert len(log) == 1000
    assert log[0]["query"] == "pageNumber=6&pageSize=1"
    assert emu.counters()["api_requests"] == 1005


def test_logging_never_shows_tokens_or_secrets(genesys_emulator, client, caplog):
    with caplog.at_level(logging.DEBUG, logger="genesys_auth_adapter.emulator"):
        client.new_token()
        client.get("/api/v2/downloads/x")

    assert caplog.records  # access lines are logged
    assert client.token not in caplog.text
    assert "emulator-secret" not in caplog.text
    assert "X-Amz-Signature" not in caplog.text


def test_control_endpoints_match_the_python_methods(genesys_emulator, client):
    api = genesys_emulator.api_url
    client.get("/api/v2/organizations/me")

    counters = requests.get(api + "/_emulator/counters", timeout=TIMEOUT).json()
    logged = requests.get(api + "/_emulator/requests", timeout=TIMEOUT).json()

    def without_connections(snapshot: dict) -> dict:
        # Control requests do open connections, which the connection counters include.
        return {key: value for key, value in snapshot.items() if not key.endswith("_connections")}

    assert without_connections(counters) == without_connections(genesys_emulator.counters())
    assert counters["api_requests"] == 1  # control requests are not API requests
    assert logged == genesys_emulator.requests()
    assert requests.post(api + "/_emulator/reset", timeout=TIMEOUT).json() == {"ok": True}
    assert genesys_emulator.counters()["api_requests"] == 0 and genesys_emulator.requests() == []
    assert requests.post(api + "/_emulator/revoke-all", timeout=TIMEOUT).status_code == 200
    assert client.get("/api/v2/organizations/me").status_code == 401


def test_control_faults_document(genesys_emulator, client, token_request):
    api = genesys_emulator.api_url
    spec = {
        "token": {"count": 2, "status": 429, "retryAfter": 1},
        "api": {"count": 1, "status": 503, "paths": ["/api/v2/organizations"]},
        "tokenDelay": 0,
        "tokenLifetime": 120,
    }

    assert requests.post(api + "/_emulator/faults", json=spec, timeout=TIMEOUT).json() == {"ok": True}

    assert [token_request(genesys_emulator).status_code for _ in range(3)] == [429, 429, 200]
    assert token_request(genesys_emulator).json()["expires_in"] == 120
    assert client.get("/api/v2/users").status_code == 200
    assert client.get("/api/v2/organizations/me").status_code == 503
    requests.post(api + "/_emulator/faults", json={"rejectAllTokens": True}, timeout=TIMEOUT)
    assert client.get("/api/v2/organizations/me").status_code == 401
    requests.post(api + "/_emulator/faults", json={"rejectAllTokens": False, "skew": 30}, timeout=TIMEOUT)
    assert client.get("/api/v2/organizations/me").status_code == 200
    assert abs(genesys_emulator.server_time() - time.time() - 30) < 2


@pytest.mark.parametrize("retry_after", [2, None])
def test_control_faults_make_the_login_service_throttle(genesys_emulator, token_request, retry_after):
    """The login service's throttle: HTTP 400 invalid_request "rate limit exceeded; ...", Retry-After or not."""
    spec = {"token": {"count": 2, "status": 400, "retryAfter": retry_after}}

    assert requests.post(genesys_emulator.api_url + "/_emulator/faults", json=spec, timeout=TIMEOUT).ok

    responses = [token_request(genesys_emulator) for _ in range(3)]
    assert [r.status_code for r in responses] == [400, 400, 200]
    body = responses[0].json()
    assert body["error"] == "invalid_request"
    assert body["description"] == body["error_description"]
    assert body["description"].startswith("rate limit exceeded;")
    assert responses[0].headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
    assert genesys_emulator.counters()["faults_injected"] == 2


def test_control_faults_give_any_oauth_error(genesys_emulator, token_request):
    spec = {"token": {"count": 1, "status": 400, "error": "invalid_client", "description": "Client unknown."}}

    assert requests.post(genesys_emulator.api_url + "/_emulator/faults", json=spec, timeout=TIMEOUT).ok

    failed = token_request(genesys_emulator)
    assert failed.status_code == 400
    assert failed.json() == {
        "error": "invalid_client",
        "description": "Client unknown.",
        "error_description": "Client unknown.",
    }
    assert token_request(genesys_emulator).status_code == 200


@pytest.mark.parametrize(
    "spec",
    [
        {"token": {"count": 1, "status": 404}},
        {"api": {"count": -1}},
        {"tokenDelay": -1},
        {"rejectAllTokens": "yes"},
        {"whatever": 1},
        [],
        {"token": {"count": 1, "status": 429, "error": "invalid_client"}},
        {"token": {"count": 1, "status": 400, "description": 5}},
        {"token": {"count": 1, "status": 400, "error": " "}},
        {"api": {"count": 1, "status": 503, "error": "invalid_request"}},
    ],
    ids=[
        "token-status",
        "api-count",
        "delay",
        "reject",
        "unknown",
        "not-object",
        "error-without-400",
        "description-not-text",
        "blank-error",
        "error-on-api",
    ],
)
def test_control_faults_reject_bad_documents_and_change_nothing(genesys_emulator, token_request, spec):
    bundle = {"token": {"count": 1, "status": 503}} if isinstance(spec, dict) else {}
    payload = {**bundle, **spec} if isinstance(spec, dict) else spec

    response = requests.post(genesys_emulator.api_url + "/_emulator/faults", json=payload, timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["code"] == "bad.request"
    assert token_request(genesys_emulator).status_code == 200  # the valid part was not applied either


def test_unknown_control_path_is_404(genesys_emulator):
    assert requests.get(genesys_emulator.api_url + "/_emulator/nothing", timeout=TIMEOUT).status_code == 404


def test_start_and_stop_without_a_with_block():
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.api_url

    assert emu.start() is emu
    urls = (emu.login_url, emu.api_url, emu.storage_url)
    assert emu.start() is emu and emu.api_url == urls[1]  # start is idempotent
    assert len({port_of(url) for url in urls}) == 3
    assert requests.get(urls[1] + "/_emulator/counters", timeout=TIMEOUT).status_code == 200
    emu.stop()
    emu.stop()

    assert not emu.running
    assert all(refuses_connections(url) for url in urls)
    assert not [t for t in threading.enumerate() if t.name.startswith("genesys-emulator")]


def test_stop_is_prompt_with_an_open_keep_alive_connection(genesys_emulator, client):
    assert client.get("/api/v2/organizations/me").status_code == 200  # leaves a pooled, idle connection

    started = time.monotonic()
    genesys_emulator.stop()

    assert time.monotonic() - started < 1.0
    with pytest.raises(requests.ConnectionError):
        client.get("/api/v2/organizations/me")


def test_stop_ends_a_token_request_waiting_in_a_delay(genesys_emulator, token_request):
    genesys_emulator.set_token_delay(30)
    outcome: list[object] = []
    entered = threading.Event()

    def ask() -> None:
        entered.set()
        try:
            outcome.append(token_request(genesys_emulator).status_code)
        except requests.ConnectionError as exc:
            outcome.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    entered.wait(TIMEOUT)
    while genesys_emulator.counters()["token_requests"] == 0 and asker.is_alive():
        threading.Event().wait(0.01)  # waits for the server to hold the request, not for a duration
    started = time.monotonic()
    genesys_emulator.stop()
    asker.join(TIMEOUT)

    assert time.monotonic() - started < 3.0
    assert not asker.is_alive() and len(outcome) == 1


def free_base_port() -> int:
    """A port P such that P, P+1 and P+2 were all free a moment ago."""
    for _ in range(50):
        probes = [socket.socket() for _ in range(3)]
        try:
            probes[0].bind(("127.0.0.1", 0))
            base = probes[0].getsockname()[1]
            for offset in (1, 2):
                probes[offset].bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    pytest.fail("no three consecutive free ports found")


def test_fixed_port_puts_origins_on_consecutive_ports():
    base = free_base_port()

    with Emulator(port=base) as emu:
        ports = [port_of(url) for url in (emu.login_url, emu.api_url, emu.storage_url)]

    assert ports == [base, base + 1, base + 2]


def test_a_port_in_use_fails_start_and_leaves_nothing_listening():
    base = free_base_port()
    emu = Emulator(port=base)

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", base + 1))
        holder.listen()
        with pytest.raises(OSError):
            emu.start()

    assert not emu.running
    assert refuses_connections(f"http://127.0.0.1:{base}")  # the login port it had bound was released


def test_plugin_fixture_gives_a_running_default_emulator(genesys_emulator, token_request):
    assert genesys_emulator.running
    assert genesys_emulator.env()["GENESYS_CLIENT_SECRET"] == "emulator-secret"
    assert token_request(genesys_emulator).json()["expires_in"] == 86399


class _InterruptOnFlush(io.StringIO):
    """Delivers a Ctrl-C to the main thread as soon as serve_forever has printed its lines."""

    def flush(self) -> None:
        super().flush()
        if self.getvalue():
            _thread.interrupt_main()


def test_serve_forever_prints_exports_and_stops_on_ctrl_c():
    emu = Emulator()
    out = _InterruptOnFlush()

    serve_forever(emu, out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("# Paste")
    assert "export GENESYS_CLIENT_ID=emulator-client" in lines
    assert "export GENESYS_CLIENT_SECRET=emulator-secret" in lines
    api_line = next(line for line in lines if line.startswith("export GENESYS_API_URL="))
    assert not emu.running
    assert refuses_connections(api_line.split("=", 1)[1])


class _StopOnFlush(io.StringIO):
    """Stops the emulator from another thread once serve_forever has printed its lines."""

    def __init__(self, emu: Emulator) -> None:
        super().__init__()
        self.emu = emu
        self.stopper: threading.Thread | None = None

    def flush(self) -> None:
        super().flush()
        if self.getvalue() and self.stopper is None:
            self.stopper = threading.Thread(target=self.emu.stop)
            self.stopper.start()


def test_serve_forever_returns_when_stopped_elsewhere():
    emu = Emulator()
    out = _StopOnFlush(emu)

    serve_forever(emu, out)

    assert out.stopper is not None
    out.stopper.join(TIMEOUT)
    assert "export GENESYS_LOGIN_URL=http://127.0.0.1:" in out.getvalue()
    assert not emu.running
