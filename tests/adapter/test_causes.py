"""root_cause(): the few words that say why a connection failed, from real failures where they can be had."""

from __future__ import annotations

import io
import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest
import requests

from genesys_auth_adapter import ClientCredentials, GenesysAuth, TokenRequestError
from genesys_auth_adapter.causes import root_cause
from genesys_auth_adapter.cli.common import report


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """A port that answers a TLS handshake with plain HTTP."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(10)

    def answer() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            connection.recv(1024)
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        thread.join(10)


def failure(call: object) -> BaseException:
    assert callable(call)
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not fail")


def test_a_refused_connection_through_requests_and_httpx(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/x?access_token=secret-in-query"
    for error in (failure(lambda: requests.get(url, timeout=5)), failure(lambda: httpx.get(url, timeout=5))):
        assert root_cause(error) == "connection refused"


def test_a_read_timeout_says_which_phase_timed_out(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}/"
    assert root_cause(failure(lambda: requests.get(url, timeout=(5, 0.2)))) == "read timed out"
    assert root_cause(failure(lambda: httpx.get(url, timeout=httpx.Timeout(0.2, connect=5)))) == "read timed out"


def test_a_tls_handshake_with_a_plain_http_server_is_a_tls_error(plain_http_port: int) -> None:
    error = failure(lambda: requests.get(f"https://127.0.0.1:{plain_http_port}/", timeout=5))
    assert root_cause(error).startswith("TLS error: ")


def test_a_proxy_that_refuses_is_named_and_its_credentials_are_not(closed_port: int) -> None:
    proxy = f"http://user:proxy-password@127.0.0.1:{closed_port}"
    http = requests.Session()
    http.trust_env = False
    error = failure(lambda: http.get("http://127.0.0.1:9/x", proxies={"http": proxy}, timeout=5))
    assert root_cause(error) == "proxy error: connection refused"


def test_name_resolution_and_certificate_failures_read_from_their_chains() -> None:
    """DNS and certificates without the network: the chains the libraries build, built by hand."""
    resolution = _wrapped(socket.gaierror(-2, "Name or service not known"))
    assert root_cause(resolution) == "name or service not known"
    verify = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    assert root_cause(_wrapped(verify)) == "certificate verify failed: unable to get local issuer certificate"


def test_urls_in_an_innermost_message_lose_user_info_and_query() -> None:
    error = _wrapped(RuntimeError("bad answer from https://user:pw-123@gw.example/p?access_token=tok-456 (x)"))
    cause = root_cause(error)
    assert "pw-123" not in cause and "tok-456" not in cause
    assert "https://gw.example/p?..." in cause


def test_a_cyclic_chain_ends_and_an_unknown_error_is_named_by_its_class() -> None:
    first, second = ValueError(), KeyError()
    first.__cause__, second.__cause__ = second, first
    assert root_cause(first) == "ValueError"  # bounded; neither says anything, so the outer class names it
    assert root_cause(LookupError()) == "LookupError"


def test_the_command_line_reports_a_requests_failure_by_its_cause_without_the_query(closed_port: int) -> None:
    error = failure(lambda: requests.get(f"http://127.0.0.1:{closed_port}/api?access_token=tok-789", timeout=5))
    err = io.StringIO()
    assert report(error, err) == 1
    assert "ConnectionError: connection refused" in err.getvalue()
    assert "tok-789" not in err.getvalue()


def _wrapped(inner: BaseException) -> BaseException:
    """``inner`` inside two wrappers, linked as urllib3 and requests link them."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise OSError("HTTPConnection(host='h', port=443): Failed to establish a new connection") from exc
    except OSError as outer:
        return requests.ConnectionError(outer)


def test_a_token_request_that_is_not_retried_names_its_cause_too(plain_http_port: int) -> None:
    """A TLS failure is not retried: the error says at once why the login service could not be reached."""
    url = f"https://127.0.0.1:{plain_http_port}"
    auth = GenesysAuth(ClientCredentials("id", "not-a-real-secret-77", login_url=url, api_url=url))
    try:
        with pytest.raises(TokenRequestError, match=r"SSLError \(TLS error: [a-z ]+\)"):
            auth.token()
    finally:
        auth.close()
