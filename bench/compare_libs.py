"""The libraries bench/compare.py compares, each set up for client credentials the way its own docs show.

Every setup reads the emulator's GENESYS_* variables and returns a :class:`Caller`, the one interface the
workloads use. A caller does nothing of its own on an error: whatever the library hands back (an exception
or a 4xx/5xx response) is what the caller of the library would see.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol
from urllib.parse import urlencode

import requests


@dataclass(frozen=True)
class Outcome:
    """What one call gave its caller: a status and JSON body, or the error raised."""

    status: int | None
    body: Any = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        """The caller saw an error: an exception, or a status of 400 or more."""
        return self.error is not None or self.status is None or self.status >= 400


class Caller(Protocol):
    """One configured client."""

    def call(self, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None) -> Outcome:
        """Sends one request to the API origin (redirects followed) and reports what the caller saw."""
        ...


@dataclass(frozen=True)
class Env:
    """The emulator's coordinates, from the environment the parent set."""

    client_id: str
    client_secret: str
    login_url: str
    api_url: str

    @classmethod
    def load(cls) -> Env:
        return cls(
            os.environ["GENESYS_CLIENT_ID"],
            os.environ["GENESYS_CLIENT_SECRET"],
            os.environ["GENESYS_LOGIN_URL"],
            os.environ["GENESYS_API_URL"],
        )

    @property
    def token_url(self) -> str:
        return self.login_url + "/oauth/token"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class RequestsCaller:
    """A requests.Session (or subclass), or plain requests with an auth object."""

    def __init__(self, session: requests.Session, base: str) -> None:
        self._session = session
        self._base = base

    def call(self, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None) -> Outcome:
        try:
            response = self._session.request(method, self._base + path, data=data, headers=headers, timeout=30)
        except Exception as exc:
            return Outcome(None, error=type(exc).__name__)
        return Outcome(response.status_code, _json(response))


# --- this library -------------------------------------------------------------------------------------------


def gaa_session(env: Env) -> Caller:
    """README: ``s = gaa.session()`` reads GENESYS_* from the environment; relative paths resolve."""
    import genesys_auth_adapter as gaa

    return RequestsCaller(gaa.session(), "")


class _HttpxCaller:
    def __init__(self, client: Any) -> None:
        self._client = client

    def call(self, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None) -> Outcome:
        try:
            response = self._client.request(method, path, content=data, headers=headers)
        except Exception as exc:
            return Outcome(None, error=type(exc).__name__)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Outcome(response.status_code, body)


def gaa_httpx(env: Env) -> Caller:
    """README: ``with client() as c: c.get(...)``, from the environment."""
    from genesys_auth_adapter.httpx import client

    return _HttpxCaller(client())


# --- the official SDK ---------------------------------------------------------------------------------------


class _SdkCaller:
    def __init__(self, api_client: Any) -> None:
        self._api = api_client

    def call(self, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None) -> Outcome:
        from PureCloudPlatformClientV2.rest import ApiException

        try:
            body = self._api.call_api(
                path,
                method,
                header_params=dict(headers or {}),
                body=data,
                response_type=None,
                auth_settings=["PureCloud OAuth"],
            )
        except ApiException as exc:
            return Outcome(exc.status, error=f"ApiException {exc.status}")
        except Exception as exc:
            return Outcome(None, error=type(exc).__name__)
        return Outcome(200, body)


def sdk(env: Env) -> Caller:
    """SDK README: ``ApiClient().get_client_credentials_token(id, secret)`` after setting the region host.

    The SDK derives its login URL from the API host (``//api.`` becomes ``//login.``); the emulator's origins
    differ by port instead, so the client's host is the login origin for the token request, then the API's.
    """
    from PureCloudPlatformClientV2.api_client import ApiClient

    api_client = ApiClient(host=env.login_url).get_client_credentials_token(env.client_id, env.client_secret)
    api_client.host = env.api_url
    return _SdkCaller(api_client)


def sdk_gaa(env: Env) -> Caller:
    """This library's docs (docs/sdk.md): ``api_client()`` from the GENESYS_* environment; the SDK's own
    ``call_api`` on it, as in the SDK case (its login is never called: the token is this library's)."""
    from genesys_auth_adapter.sdk import api_client

    return _SdkCaller(api_client())


# --- google-auth --------------------------------------------------------------------------------------------


def google_auth(env: Env) -> Caller:
    """google-auth: a custom ``google.auth.credentials.Credentials`` (its documented extension point: implement
    ``refresh(request)``, set ``token`` and ``expiry``) in an ``AuthorizedSession``."""
    from google.auth import credentials, exceptions
    from google.auth.transport.requests import AuthorizedSession

    basic = base64.b64encode(f"{env.client_id}:{env.client_secret}".encode()).decode("ascii")

    class ClientCredentials(credentials.Credentials):
        def refresh(self, request: Callable[..., Any]) -> None:
            response = request(
                url=env.token_url,
                method="POST",
                body=urlencode({"grant_type": "client_credentials"}),
                headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"},
            )
            if response.status != 200:
                raise exceptions.RefreshError(f"token request failed: HTTP {response.status}")  # type: ignore[no-untyped-call]
            payload = json.loads(response.data)
            self.token = payload["access_token"]
            # google-auth compares naive UTC datetimes.
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            self.expiry = now + datetime.timedelta(seconds=int(payload["expires_in"]))

    session = AuthorizedSession(ClientCredentials())  # type: ignore[no-untyped-call]
    return RequestsCaller(session, env.api_url)


# --- authlib ------------------------------------------------------------------------------------------------


def authlib(env: Env) -> Caller:
    """authlib docs (client credentials): ``OAuth2Session(id, secret, token_endpoint=..., grant_type=
    'client_credentials')`` then ``fetch_token()``; with token_endpoint set it re-fetches an expired token."""
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # http to 127.0.0.1 (documented switch)
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        env.client_id, env.client_secret, token_endpoint=env.token_url, grant_type="client_credentials"
    )
    session.fetch_token()
    return RequestsCaller(session, env.api_url)


# --- requests-oauthlib --------------------------------------------------------------------------------------


def requests_oauthlib(env: Env) -> Caller:
    """requests-oauthlib docs, "Backend Application Flow": ``BackendApplicationClient`` + ``OAuth2Session``,
    then ``fetch_token(token_url, client_id, client_secret)``."""
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # http to 127.0.0.1 (documented switch)
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session(client=BackendApplicationClient(client_id=env.client_id))
    session.fetch_token(token_url=env.token_url, client_id=env.client_id, client_secret=env.client_secret)
    return RequestsCaller(session, env.api_url)


# --- requests_auth ------------------------------------------------------------------------------------------


def requests_auth(env: Env) -> Caller:
    """requests_auth docs: ``requests.get(url, auth=OAuth2ClientCredentials(token_url, client_id=...,
    client_secret=...))``; here on one Session for keep-alive."""
    from requests_auth import OAuth2ClientCredentials

    session = requests.Session()
    session.auth = OAuth2ClientCredentials(env.token_url, client_id=env.client_id, client_secret=env.client_secret)
    return RequestsCaller(session, env.api_url)


# --- requests-oauth2client ----------------------------------------------------------------------------------


def requests_oauth2client(env: Env) -> Caller:
    """requests_oauth2client docs: ``OAuth2Client(token_endpoint, auth=ClientSecretBasic(...))`` and
    ``session.auth = OAuth2ClientCredentialsAuth(client)``; ``testing=True`` admits http to 127.0.0.1."""
    from requests_oauth2client import ClientSecretBasic, OAuth2Client, OAuth2ClientCredentialsAuth

    client = OAuth2Client(env.token_url, auth=ClientSecretBasic(env.client_id, env.client_secret), testing=True)
    session = requests.Session()
    session.auth = OAuth2ClientCredentialsAuth(client)
    return RequestsCaller(session, env.api_url)


# --- the baseline -------------------------------------------------------------------------------------------


def _token_by_hand(env: Env) -> str:
    response = requests.post(
        env.token_url, data={"grant_type": "client_credentials"}, auth=(env.client_id, env.client_secret), timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def static_header(env: Env) -> Caller:
    """A plain requests.Session with a static Authorization header (one token fetched by hand)."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + _token_by_hand(env)
    return RequestsCaller(session, env.api_url)


def static_header_httpx(env: Env) -> Caller:
    """A plain httpx.Client with a static Authorization header: the baseline of this library's httpx front end."""
    import httpx

    headers = {"Authorization": "Bearer " + _token_by_hand(env)}
    return _HttpxCaller(httpx.Client(base_url=env.api_url, headers=headers, timeout=30))


@dataclass(frozen=True)
class Library:
    """One contender: its label, its distribution (for the version) and its setup."""

    key: str
    label: str
    distribution: str
    setup: Callable[[Env], Caller]
    #: Why it cannot express a streamed or file body, if it cannot.
    no_stream: str | None = None
    #: The key of the static-header client its per-request cost is compared with (the same HTTP library).
    baseline: str = "static"

    def version(self) -> str:
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return "not installed"


LIBRARIES: tuple[Library, ...] = (
    Library("gaa", "genesys-auth-adapter session()", "genesys-auth-adapter", gaa_session),
    Library(
        "gaa-httpx", "genesys-auth-adapter httpx client()", "genesys-auth-adapter", gaa_httpx, baseline="static-httpx"
    ),
    Library(
        "sdk",
        "PureCloudPlatformClientV2 (official SDK)",
        "PureCloudPlatformClientV2",
        sdk,
        no_stream="call_api sends json.dumps(body): no generator or file body",
    ),
    Library(
        "sdk-gaa",
        "official SDK + genesys-auth-adapter api_client()",
        "PureCloudPlatformClientV2",
        sdk_gaa,
        no_stream="call_api sends json.dumps(body): no generator or file body",
    ),
    Library("google-auth", "google-auth AuthorizedSession", "google-auth", google_auth),
    Library("authlib", "authlib OAuth2Session", "Authlib", authlib),
    Library("requests-oauthlib", "requests-oauthlib OAuth2Session", "requests-oauthlib", requests_oauthlib),
    Library("requests-auth", "requests_auth OAuth2ClientCredentials", "requests_auth", requests_auth),
    Library(
        "requests-oauth2client",
        "requests-oauth2client OAuth2ClientCredentialsAuth",
        "requests_oauth2client",
        requests_oauth2client,
    ),
)

BASELINE = Library("static", "requests.Session + static header", "requests", static_header)
HTTPX_BASELINE = Library("static-httpx", "httpx.Client + static header", "httpx", static_header_httpx)
#: The static-header clients, by key: each library's per-request cost is measured against its ``baseline``.
BASELINES = {lib.key: lib for lib in (BASELINE, HTTPX_BASELINE)}
