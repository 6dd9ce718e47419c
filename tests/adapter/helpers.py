"""Shared constants and test doubles for the requests-glue tests (requests-mock, no sockets)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import requests
import requests_mock
from requests.structures import CaseInsensitiveDict

from genesys_auth_adapter import GenesysAdapter, GenesysAuth, ManualClock

API = "https://api.mypurecloud.com"
LOGIN = "https://login.mypurecloud.com"
TOKEN_URL = f"{LOGIN}/oauth/token"
ORG_ME = f"{API}/api/v2/organizations/me"
CLIENT_ID = "client-id-4711"
CLIENT_SECRET = "s3cr3t-Xy9-do-not-log"
BASIC_CREDENTIALS = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
#: The emulated Genesys server clock runs this far ahead of the local (manual) clock.
SERVER_AHEAD = 42.4

BAD_CREDENTIALS = {"message": "Invalid login credentials.", "code": "bad.credentials", "status": 401}
MISSING_PERMISSIONS = {"message": "Missing permissions.", "code": "missing.permissions", "status": 403}


def http_date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


@dataclass
class TokenEndpoint:
    """The login service: hands out ``token-1``, ``token-2``, ... and stamps a server-clock ``Date``."""

    clock: ManualClock
    expires_in: float = 86399.0
    prefix: str = "token"
    issued: list[str] = field(default_factory=list)

    def __call__(self, request: requests_mock.Request, context: requests_mock.Context) -> dict[str, Any]:
        token = f"{self.prefix}-{len(self.issued) + 1}"
        self.issued.append(token)
        context.headers["Date"] = http_date(self.clock.wall() + SERVER_AHEAD)
        context.headers["ININ-Correlation-Id"] = f"login-{len(self.issued)}"
        return {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in}


@dataclass(frozen=True)
class Sent:
    """A request as it went out: method, URL and a copy of its headers taken at send time."""

    method: str
    url: str
    headers: CaseInsensitiveDict[str]


class RecordingMock(requests_mock.Adapter):
    """requests-mock's adapter that also snapshots each request's headers when it is sent.

    requests-mock's own history keeps the live request objects; a snapshot shows what was on the
    wire even if a request object is touched after it was sent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(Sent(str(request.method), str(request.url), CaseInsensitiveDict(request.headers)))
        response: requests.Response = super().send(request, **kwargs)
        return response


def body_bytes(request: requests_mock.Request) -> bytes:
    """The bytes a request would put on the wire, reading a file-like body the way a socket send does."""
    body = request.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        data = body.read()
        return data if isinstance(data, bytes) else data.encode()
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes):
        return body
    return b"".join(body)  # a generator or other iterable, consumed as a chunked upload would be


@dataclass
class Client:
    """Sends requests through one of the two ways to use the library.

    ``auth``: a plain session with ``auth=GenesysAuth`` on every call (the response-hook path).
    ``adapter``: a session with ``GenesysAdapter`` mounted on the API base (the adapter path).
    Both send through the same ``requests_mock.Adapter``, which records every request.
    """

    mode: str
    session: requests.Session
    auth: GenesysAuth
    mock: RecordingMock

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if self.mode == "auth":
            kwargs.setdefault("auth", self.auth)
        return self.session.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def api_calls(self) -> list[Sent]:
        return [r for r in self.mock.sent if r.url.startswith(API + "/")]

    def token_calls(self) -> list[Sent]:
        return [r for r in self.mock.sent if r.url == TOKEN_URL]


def mounted(mock: requests_mock.Adapter) -> requests.Session:
    """A new session that sends everything through ``mock``."""
    session = requests.Session()
    session.mount("https://", mock)
    session.mount("http://", mock)
    return session


def statuses(*codes: int, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A requests-mock response list: one response per status code, each with a Genesys-style body."""
    responses = []
    for code in codes:
        if code == 401:
            payload: dict[str, Any] = BAD_CREDENTIALS
        elif code == 403:
            payload = MISSING_PERMISSIONS
        else:
            payload = body if body is not None else {"id": "me"}
        responses.append({"status_code": code, "json": payload, "headers": {"ININ-Correlation-Id": f"api-{code}"}})
    return responses


def make_client(mode: str, auth: GenesysAuth, mock: RecordingMock) -> Client:
    """A :class:`Client` for ``mode`` (``auth`` or ``adapter``) sending through ``mock``."""
    session = mounted(mock)
    if mode == "adapter":
        session.mount(API + "/", GenesysAdapter(auth, transport=mock))
    return Client(mode, session, auth, mock)
