"""A connection failure names its root cause, in the error and in each retry line, on every front end.

Pins: a token request to a port where nothing listens ended with "attempt 1: ConnectionError (not sent)
... attempt 5: ConnectionError (not sent)", even with -vv: the cause (refused, DNS, TLS, proxy) sat only in
``__cause__``. The port here is real: bound on 127.0.0.1, then closed, so connecting to it is refused.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from genesys_auth_adapter import (
    AccessToken,
    ClientCredentials,
    GenesysAuth,
    RetryExhaustedError,
    RetryPolicy,
    TokenRequestError,
    session,
)
from genesys_auth_adapter.httpx import GenesysHttpxAuth, async_client, client

ATTEMPTS = 3
FAST = RetryPolicy(max_attempts=ATTEMPTS, backoff=0.01, max_backoff=0.02)
SECRET = "not-a-real-secret-4242"
REFUSED = "(not sent): connection refused"


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def retry_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genesys_auth_adapter.retry"]


def assert_names_the_cause(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    message = str(error)
    assert message.count(REFUSED) == ATTEMPTS, message  # every attempt of the history says why
    lines = retry_lines(caplog)
    assert len(lines) == ATTEMPTS - 1
    assert all(line.endswith(REFUSED + ".") for line in lines), lines
    assert SECRET not in message + "".join(lines)


@pytest.mark.parametrize("front_end", ["requests", "httpx", "httpx-async"])
def test_a_token_request_to_a_closed_port_says_connection_refused(
    closed_url: str, front_end: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="genesys_auth_adapter")
    credentials = ClientCredentials("id", SECRET, login_url=closed_url, api_url=closed_url)
    with pytest.raises(TokenRequestError) as caught:
        if front_end == "requests":
            GenesysAuth(credentials, retry=FAST).token()
        elif front_end == "httpx":
            GenesysHttpxAuth(credentials, retry=FAST).token()
        else:
            asyncio.run(GenesysHttpxAuth(credentials, retry=FAST).atoken())
    assert_names_the_cause(caught.value, caplog)


@pytest.mark.parametrize("front_end", ["requests", "httpx", "httpx-async"])
def test_an_api_request_to_a_closed_port_says_connection_refused(
    closed_url: str, front_end: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="genesys_auth_adapter")
    credentials = AccessToken(SECRET, api_url=closed_url)  # the token is the secret here
    path = "/api/v2/users?access_token=" + SECRET  # a query string never shows in the cause
    with pytest.raises(RetryExhaustedError) as caught:
        if front_end == "requests":
            with session(credentials, retry=FAST, store=None) as s:
                s.get(path, timeout=5)
        elif front_end == "httpx":
            with client(credentials, retry=FAST, store=None) as c:
                c.get(path)
        else:

            async def get() -> None:
                async with async_client(credentials, retry=FAST, store=None) as c:
                    await c.get(path)

            asyncio.run(get())
    assert_names_the_cause(caught.value, caplog)
