"""``login_with_browser``: a user logs in in the browser; the program gets their tokens (PKCE, S256).

1. A redirect server starts on 127.0.0.1 (a free port unless one is registered or asked for).
2. The browser opens ``/oauth/authorize`` with a fresh PKCE challenge and state (or the URL is shown,
   for a browser elsewhere).
3. The user logs in; Genesys redirects the browser to the server, which checks the state, keeps the code
   and shows a page saying the login is done.
4. The code and its verifier are exchanged for an access token and a refresh token, and the access token's
   idle deadline is read (``GET /api/v2/tokens/me?preserveIdleTTL=true``).

The wait is bounded (``timeout``), and Ctrl-C ends it at once with the server closed.
"""

from __future__ import annotations

import contextlib
import sys
import time
import webbrowser
from dataclasses import replace
from typing import Callable
from urllib.parse import urlsplit

import requests

from ..engine.clock import SYSTEM_CLOCK
from ..engine.retry import RetryPolicy
from ..engine.skew import ClockOffset
from ..errors import ConfigurationError
from ..oauth import parse_token_response
from ..transport.login import LoginClient
from .code import CodeClient, PkceClient, UserClient, registered_port, with_port
from .loopback import LoopbackRedirect
from .pkce import AuthorizationRequest
from .refresh import RefreshToken

#: How long a login waits for the browser by default, in seconds.
DEFAULT_LOGIN_TIMEOUT = 300.0


def _show_on_stderr(url: str) -> None:
    print(
        f"Log in to Genesys Cloud in your browser. If no browser opens, open this address:\n\n  {url}\n",
        file=sys.stderr,
        flush=True,
    )


def login_with_browser(
    client: str | UserClient,
    region: str | None = None,
    *,
    client_secret: str | None = None,
    redirect_uri: str | None = None,
    port: int | None = None,
    open_browser: bool = True,
    timeout: float = DEFAULT_LOGIN_TIMEOUT,
    show_url: Callable[[str], None] | None = None,
    login_url: str | None = None,
    api_url: str | None = None,
    http: requests.Session | None = None,
    retry: RetryPolicy | None = None,
) -> RefreshToken:
    """Log a user in through their browser and return the login, ready for ``GenesysAuth``.

    Args:
        client: The OAuth client id (a :class:`PkceClient` is made from it, or a :class:`CodeClient` when
            ``client_secret`` is given), or a client object.
        region: A region name or domain (with a client id).
        client_secret: The secret of a confidential code client; None for a public (PKCE) client.
        redirect_uri: The loopback redirect URI registered for the client (default ``http://127.0.0.1``).
        port: The port to listen on (default: the registered URI's, else any free port).
        open_browser: False to only show the URL (a browser on another screen, or a test playing one).
        timeout: How long to wait for the browser to come back, in seconds.
        show_url: Called with the authorize URL; by default it is printed on stderr.
        login_url: Overrides the login base URL (with a client id).
        api_url: Overrides the API base URL (with a client id).
        http: The session for the code exchange (never closed here); by default a private one.
        retry: The retry policy of the code exchange.

    Returns:
        The login: pass it to ``GenesysAuth`` (with a token store to share and rotate its refresh token).

    Raises:
        ConfigurationError: A setting is missing or invalid.
        LoginRequiredError: The login was refused, timed out, or the port could not be bound.
        TokenRequestError: The code exchange failed.
    """
    user = _client(client, region, client_secret, redirect_uri, login_url, api_url)
    if not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
        raise ConfigurationError(f"timeout must be a positive number of seconds, not {timeout!r}")
    chosen = port if port is not None else (registered_port(user.redirect_uri) or 0)
    if not (isinstance(chosen, int) and 0 <= chosen <= 65535):
        raise ConfigurationError(f"port must be from 0 (any free port) to 65535, not {port!r}")
    with LoopbackRedirect(chosen, urlsplit(user.redirect_uri).path) as server:
        request = AuthorizationRequest.new(with_port(user.redirect_uri, server.port))
        url = user.authorize_url(request)
        server.expect(request)
        (show_url or _show_on_stderr)(url)
        if open_browser:
            _open(url)
        code = server.wait(timeout)
    login_at = time.time()
    exchange = user.exchange_request(code, request)
    session = http if http is not None else requests.Session()
    try:
        login = LoginClient(
            session,
            timeout=(10.0, 30.0),
            retry=retry if retry is not None else RetryPolicy(),
            clock=SYSTEM_CLOCK,
            offset=ClockOffset(),
        )
        issued = parse_token_response(login.post(exchange), secret=exchange.scrubbed)
        info = login.token_info(user.api_url, issued.access_token)  # its idle deadline, if the org has one
        if info.idles_in is not None:
            issued = replace(issued, idles_in=info.idles_in)
    finally:
        if http is None:
            session.close()
    return RefreshToken(user, issued.refresh_token, access_token=issued, login_at=login_at)


def _client(
    client: str | UserClient,
    region: str | None,
    secret: str | None,
    redirect_uri: str | None,
    login_url: str | None,
    api_url: str | None,
) -> UserClient:
    if isinstance(client, (PkceClient, CodeClient)):
        return client
    if not isinstance(client, str):
        raise ConfigurationError("login_with_browser needs a client id, a PkceClient or a CodeClient.")
    where = {"redirect_uri": redirect_uri, "login_url": login_url, "api_url": api_url}
    if secret:
        return CodeClient(client, secret, region, **where)
    return PkceClient(client, region, **where)


def _open(url: str) -> None:
    with contextlib.suppress(webbrowser.Error):  # no browser: the URL was shown
        webbrowser.open(url, new=1)
