"""The login's redirect server, with the test playing the browser (requests to 127.0.0.1 only)."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from genesys_auth_adapter import LoginRequiredError
from genesys_auth_adapter.grants import AuthorizationRequest
from genesys_auth_adapter.grants.loopback import LoopbackRedirect


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # never through a proxy: the server is on this machine
    yield session
    session.close()


@pytest.fixture
def server() -> Iterator[tuple[LoopbackRedirect, AuthorizationRequest]]:
    with LoopbackRedirect(0, "/") as redirect:
        request = AuthorizationRequest.new(f"http://127.0.0.1:{redirect.port}")
        redirect.expect(request)
        yield redirect, request


def test_it_listens_on_127_0_0_1_only() -> None:
    with LoopbackRedirect() as redirect:
        assert redirect._server.server_address[0] == "127.0.0.1"
        assert redirect._server.socket.getsockname()[0] == "127.0.0.1"


def test_the_redirect_with_this_logins_state_gives_the_code_and_a_page_saying_it_is_done(
    server: tuple[LoopbackRedirect, AuthorizationRequest], browser: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    redirect, request = server
    page = browser.get(f"{request.redirect_uri}/?code=the-code&state={request.state}", timeout=5)
    assert page.status_code == 200
    assert "login is complete" in page.text and "close this tab" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert redirect.wait(5) == "the-code"
    out, err = capfd.readouterr()
    assert "the-code" not in out + err  # no request line is logged


def test_a_redirect_with_another_state_is_refused_and_the_wait_goes_on(
    server: tuple[LoopbackRedirect, AuthorizationRequest], browser: requests.Session
) -> None:
    redirect, request = server
    stale = browser.get(f"{request.redirect_uri}/?code=stolen&state=not-this-one", timeout=5)
    assert stale.status_code == 400 and "another login" in stale.text
    missing = browser.get(f"{request.redirect_uri}/?code=stolen", timeout=5)
    assert missing.status_code == 400
    browser.get(f"{request.redirect_uri}/?code=the-code&state={request.state}", timeout=5)
    assert redirect.wait(5) == "the-code"


def test_other_paths_are_not_served(
    server: tuple[LoopbackRedirect, AuthorizationRequest], browser: requests.Session
) -> None:
    _, request = server
    assert browser.get(f"{request.redirect_uri}/favicon.ico", timeout=5).status_code == 404


def test_an_error_redirect_ends_the_wait_with_the_reason(
    server: tuple[LoopbackRedirect, AuthorizationRequest], browser: requests.Session
) -> None:
    redirect, request = server
    url = f"{request.redirect_uri}/?error=access_denied&error_description=The+user+said+no&state={request.state}"
    page = browser.get(url, timeout=5)
    assert page.status_code == 400 and "access_denied" in page.text
    with pytest.raises(LoginRequiredError, match="access_denied: The user said no"):
        redirect.wait(5)


def test_no_redirect_within_the_timeout_is_a_clear_error(server: tuple[LoopbackRedirect, AuthorizationRequest]) -> None:
    redirect, _ = server
    with pytest.raises(LoginRequiredError, match=r"within 0\.3 s"):
        redirect.wait(0.3)


def test_a_browser_preconnection_that_sends_nothing_does_not_hold_the_redirect_up(
    server: tuple[LoopbackRedirect, AuthorizationRequest], browser: requests.Session
) -> None:
    redirect, request = server
    with socket.create_connection(("127.0.0.1", redirect.port), timeout=5):  # idle, as Chrome's preconnects are
        browser.get(f"{request.redirect_uri}/?code=the-code&state={request.state}", timeout=5)
        assert redirect.wait(5) == "the-code"


def test_a_port_in_use_is_a_clear_error() -> None:
    with (
        LoopbackRedirect() as taken,
        pytest.raises(LoginRequiredError, match=r"Cannot listen on 127\.0\.0\.1:\d+.*--port"),
    ):
        LoopbackRedirect(taken.port)


def test_ctrl_c_ends_the_wait_at_once_and_frees_the_port() -> None:
    """Pins: a KeyboardInterrupt in the wait leaves no listening socket behind."""
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt), LoopbackRedirect() as redirect:
        port = redirect.port
        redirect.expect(AuthorizationRequest.new(f"http://127.0.0.1:{port}"))
        timer.start()
        redirect.wait(30)
    timer.join()
    with LoopbackRedirect(port) as again:  # the same port binds again: the socket was closed
        assert again.port == port
