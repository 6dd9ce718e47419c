"""Fixtures for the emulator's own tests: real sockets on 127.0.0.1, requests as the client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from genesys_auth_adapter.emulator import Emulator

# The plugin's fixture, made available here even when the package is not installed (no entry point).
from genesys_auth_adapter_pytest import genesys_emulator, genesys_emulator_factory  # noqa: F401

TIMEOUT = 10


class Client:
    """A requests session aimed at one emulator, holding a bearer token from its login origin."""

    def __init__(self, emu: Emulator, session: requests.Session) -> None:
        self.emu = emu
        self.session = session
        self.token = ""

    def new_token(self) -> str:
        """Fetches a token, keeps it as the session's bearer token, and returns it."""
        self.token = fetch_token(self.emu)
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        return self.token

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.emu.api_url + path, timeout=TIMEOUT, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.emu.api_url + path, timeout=TIMEOUT, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.emu.api_url + path, timeout=TIMEOUT, **kwargs)


def request_token(emu: Emulator, **kwargs: Any) -> requests.Response:
    """POSTs a client-credentials request with the emulator's own credentials (overridable)."""
    env = emu.env()
    kwargs.setdefault("auth", (env["GENESYS_CLIENT_ID"], env["GENESYS_CLIENT_SECRET"]))
    kwargs.setdefault("data", {"grant_type": "client_credentials"})
    return requests.post(f"{emu.login_url}/oauth/token", timeout=TIMEOUT, **kwargs)


def fetch_token(emu: Emulator) -> str:
    response = request_token(emu)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture
def make_client() -> Iterator[Any]:
    """A factory for a :class:`Client` (with a fresh token) on a given emulator; sessions closed after."""
    sessions: list[requests.Session] = []

    def make(emu: Emulator, with_token: bool = True) -> Client:
        session = requests.Session()
        sessions.append(session)
        client = Client(emu, session)
        if with_token:
            client.new_token()
        return client

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def client(genesys_emulator: Emulator, make_client: Any) -> Client:  # noqa: F811 - the imported fixture
    """A client with a token, on the default emulator."""
    result: Client = make_client(genesys_emulator)
    return result


@pytest.fixture
def token_for() -> Any:
    """``token_for(emu)``: a fresh access token from ``emu``."""
    return fetch_token


@pytest.fixture
def token_request() -> Any:
    """``token_request(emu, **requests_kwargs)``: the raw response of a token request."""
    return request_token
