"""The 401 answer: one new token, one re-send of the same request, through both usage paths."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests_mock

from genesys_auth_adapter import (
    AccessToken,
    ClientCredentials,
    GenesysAuth,
    IssuedToken,
    ManualClock,
    RetryPolicy,
    TokenRequestError,
    TokenWaitTimeout,
    UnreplayableBodyError,
    attempts,
    retry_policy,
)

from .helpers import (
    API,
    ORG_ME,
    TOKEN_URL,
    Client,
    RecordingMock,
    body_bytes,
    http_date,
    make_client,
    mounted,
    statuses,
)

UPLOAD = f"{API}/api/v2/uploads"


def test_a_token_is_fetched_once_and_attached(client: Client) -> None:
    """Pins: the first API call gets a token; later calls reuse it."""
    client.mock.register_uri("GET", ORG_ME, json={"id": "me"})
    for _ in range(3):
        assert client.get(ORG_ME).json() == {"id": "me"}
    assert [r.headers["Authorization"] for r in client.api_calls()] == ["Bearer token-1"] * 3
    assert len(client.token_calls()) == 1


def test_a_401_gets_one_new_token_and_one_resend(client: Client) -> None:
    """Pins: an expired or revoked token costs the caller nothing: the same call succeeds."""
    client.mock.register_uri("GET", ORG_ME, statuses(401, 200))
    response = client.get(ORG_ME)
    assert response.status_code == 200
    assert response.json() == {"id": "me"}
    assert [r.status_code for r in response.history] == [401]
    assert response.history[0].json()["code"] == "bad.credentials"
    assert [r.headers["Authorization"] for r in client.api_calls()] == ["Bearer token-1", "Bearer token-2"]
    assert len(client.token_calls()) == 2  # the first token, then exactly one replacement
    assert response.request.headers["Authorization"] == "Bearer token-2"
    # The new token is kept for the next call.
    client.mock.register_uri("GET", ORG_ME, json={"id": "me"})
    client.get(ORG_ME)
    assert client.api_calls()[-1].headers["Authorization"] == "Bearer token-2"
    assert len(client.token_calls()) == 2


def test_a_persistent_401_reaches_the_caller_after_one_resend(client: Client) -> None:
    """Pins: no retry loop on a token the API keeps refusing; the Genesys error body stays readable."""
    client.mock.register_uri("GET", ORG_ME, statuses(401, 401, 401))
    response = client.get(ORG_ME)
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"
    assert response.headers["ININ-Correlation-Id"] == "api-401"
    assert len(client.api_calls()) == 2
    assert len(client.token_calls()) == 2
    assert [r.status_code for r in response.history] == [401]


def test_a_persistent_401_with_stream_true_keeps_the_body_readable(client: Client) -> None:
    """Pins: draining the first 401 for the re-send does not eat the final response's body."""
    client.mock.register_uri("GET", ORG_ME, statuses(401, 401))
    response = client.get(ORG_ME, stream=True)
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "bad.credentials"
    assert len(client.api_calls()) == 2


def test_a_403_is_not_re_authenticated(client: Client) -> None:
    """Pins: a permission problem is not fixed by a new token, so none is requested and nothing is re-sent."""
    client.mock.register_uri("GET", ORG_ME, statuses(403, 200))
    response = client.get(ORG_ME)
    assert response.status_code == 403
    assert response.json()["code"] == "missing.permissions"
    assert response.history == []
    assert len(client.api_calls()) == 1
    assert len(client.token_calls()) == 1


class Recorder:
    """An API endpoint that answers 401 to its first call and 200 after, recording what it got."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.content_types: list[str | None] = []
        self.lengths: list[str | None] = []

    def __call__(self, request: requests_mock.Request, context: requests_mock.Context) -> dict[str, Any]:
        self.bodies.append(body_bytes(request))
        self.content_types.append(request.headers.get("Content-Type"))
        self.lengths.append(request.headers.get("Content-Length"))
        context.status_code = 401 if len(self.bodies) == 1 else 200
        return {"code": "bad.credentials"} if context.status_code == 401 else {"ok": True}


def _bytesio_at_5() -> io.BytesIO:
    stream = io.BytesIO(b"01234-payload-after-five")
    stream.seek(5)
    return stream


BODIES: dict[str, tuple[dict[str, Any], bytes | None]] = {
    "bytes": ({"data": b"\x00\x01binary\xff"}, b"\x00\x01binary\xff"),
    "str": ({"data": "plain text \u00e9"}, None),
    "dict": ({"data": {"a": "1", "b": "two words"}}, b"a=1&b=two+words"),
    "json": ({"json": {"interval": "2026-01-01/2026-01-02", "paging": {"pageSize": 100}}}, None),
    "files": ({"files": {"file": ("report.csv", b"a,b\n1,2\n", "text/csv")}, "data": {"note": "x"}}, None),
}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_bodies_are_re_sent_identically(client: Client, kind: str) -> None:
    """Pins: the re-sent request carries byte-for-byte the body (and Content-Type) of the first."""
    recorder = Recorder()
    client.mock.register_uri("POST", UPLOAD, json=recorder)
    kwargs, expected = BODIES[kind]
    response = client.post(UPLOAD, **kwargs)
    assert response.status_code == 200
    assert len(recorder.bodies) == 2
    assert recorder.bodies[0] == recorder.bodies[1]
    assert recorder.bodies[0]  # not vacuously equal
    assert recorder.content_types[0] == recorder.content_types[1]
    assert recorder.lengths[0] == recorder.lengths[1]
    if expected is not None:
        assert recorder.bodies[0] == expected


def test_a_file_body_is_re_sent_from_its_original_position(client: Client) -> None:
    """Pins: a BytesIO handed over at position 5 is re-sent from position 5, not from 0 or from the end."""
    recorder = Recorder()
    client.mock.register_uri("POST", UPLOAD, json=recorder)
    response = client.post(UPLOAD, data=_bytesio_at_5())
    assert response.status_code == 200
    assert recorder.bodies == [b"-payload-after-five", b"-payload-after-five"]


def _chunks() -> Iterator[bytes]:
    yield b"part one, "
    yield b"part two"


def test_a_generator_body_on_a_401_raises_unreplayable_body_error(client: Client) -> None:
    """Pins: a body that cannot be sent twice is not re-sent half-empty; the caller learns why."""
    recorder = Recorder()
    client.mock.register_uri("POST", UPLOAD, json=recorder)
    with pytest.raises(UnreplayableBodyError) as caught:
        client.post(UPLOAD, data=_chunks())
    error = caught.value
    assert isinstance(error, requests.RequestException)
    assert isinstance(error, requests.exceptions.UnrewindableBodyError)
    assert len(recorder.bodies) == 1
    assert "token-1" not in str(error)
    assert error.response is not None and error.response.status_code == 401
    # The rejected token was dropped: the next request gets a new one without a 401 first.
    client.mock.register_uri("GET", ORG_ME, json={"id": "me"})
    assert client.get(ORG_ME).status_code == 200
    assert client.api_calls()[-1].headers["Authorization"] == "Bearer token-2"
    assert len(client.token_calls()) == 2


def test_a_generator_body_that_succeeds_is_fine(client: Client) -> None:
    """Pins: streaming uploads work as long as no 401 comes back."""
    client.mock.register_uri("POST", UPLOAD, json={"ok": True})
    assert client.post(UPLOAD, data=_chunks()).json() == {"ok": True}


@pytest.mark.parametrize(("codes", "api_calls"), [((401, 200), 2), ((401, 401, 401), 2)])
def test_auth_and_adapter_together_re_send_only_once(
    auth: GenesysAuth, mock: RecordingMock, codes: tuple[int, ...], api_calls: int
) -> None:
    """Pins: auth=GenesysAuth on a session that also mounts GenesysAdapter does not double the re-send."""
    client = make_client("adapter", auth, mock)
    mock.register_uri("GET", ORG_ME, statuses(*codes))
    response = client.get(ORG_ME, auth=auth)
    assert response.status_code == codes[1]
    assert len(client.api_calls()) == api_calls
    assert len(client.token_calls()) == 2


def test_a_redirect_off_the_api_host_drops_the_token(client: Client) -> None:
    """Pins: signed storage URLs reject a second auth mechanism, and must never see the bearer token."""
    download = f"{API}/api/v2/downloads/abc123"
    storage = "https://storage.example/bucket/abc123?X-Amz-Signature=sig"
    client.mock.register_uri("GET", download, status_code=302, headers={"Location": storage})
    client.mock.register_uri("GET", storage, content=b"recording bytes")
    response = client.get(download)
    assert response.status_code == 200
    assert response.content == b"recording bytes"
    api_request, storage_request = [r for r in client.mock.sent if r.url != TOKEN_URL]
    assert api_request.headers["Authorization"] == "Bearer token-1"
    assert storage_request.url == storage
    assert "Authorization" not in storage_request.headers


def test_a_401_then_a_redirect_off_the_api_host_drops_the_token(client: Client) -> None:
    """Pins: the re-sent request's redirect is followed without a token either."""
    download = f"{API}/api/v2/downloads/abc123"
    storage = "https://storage.example/bucket/abc123"
    client.mock.register_uri(
        "GET",
        download,
        [statuses(401)[0], {"status_code": 302, "headers": {"Location": storage}}],
    )
    client.mock.register_uri("GET", storage, content=b"ok")
    response = client.get(download)
    assert response.content == b"ok"
    storage_requests = [r for r in client.mock.sent if r.url == storage]
    assert len(storage_requests) == 1
    assert "Authorization" not in storage_requests[0].headers


def test_a_401_then_a_same_host_redirect_carries_the_new_token(client: Client) -> None:
    """Pins: after the re-send, a redirect within the API host is followed with the new token.

    Sending the token the API just rejected costs a second 401 and a second re-send in one call.
    """
    moved, target = f"{API}/api/v2/old-path", f"{API}/api/v2/new-path"
    client.mock.register_uri("GET", moved, [statuses(401)[0], {"status_code": 302, "headers": {"Location": target}}])
    client.mock.register_uri("GET", target, json={"id": "me"})
    response = client.get(moved)
    assert response.status_code == 200
    calls = [(r.url, r.headers["Authorization"]) for r in client.api_calls()]
    assert calls == [(moved, "Bearer token-1"), (moved, "Bearer token-2"), (target, "Bearer token-2")]
    assert len(client.token_calls()) == 2


def test_clock_offset_is_learned_from_api_date_headers(client: Client, clock: ManualClock) -> None:
    """Pins: every API response's Date header feeds the offset estimate (here the server is 1000.3 s behind)."""
    client.mock.register_uri("POST", TOKEN_URL, json={"access_token": "tok", "expires_in": 300})  # no Date
    client.mock.register_uri("GET", ORG_ME, json={}, headers={"Date": http_date(clock.wall() - 1000.3)})
    assert client.auth.clock_offset is None
    client.get(ORG_ME)
    estimate = client.auth.clock_offset
    assert estimate is not None
    assert estimate.low <= -1000.3 <= estimate.high
    assert estimate.uncertainty < 1.0


def test_auth_works_under_requests_mock_mocker(creds: ClientCredentials) -> None:
    """Pins: auth=GenesysAuth on plain requests calls, with requests_mock.Mocker patching everything."""
    sent: list[str] = []

    def users_me(request: requests_mock.Request, context: requests_mock.Context) -> dict[str, Any]:
        sent.append(request.headers["Authorization"])
        context.status_code = 401 if len(sent) == 1 else 200
        return {}

    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, [{"json": {"access_token": "t1", "expires_in": 300}}, {"json": {"access_token": "t2"}}])
        m.get(ORG_ME, json=users_me)
        response = requests.get(ORG_ME, auth=GenesysAuth(creds))
        assert response.status_code == 200
    assert sent == ["Bearer t1", "Bearer t2"]
    assert [r.status_code for r in response.history] == [401]


def test_an_access_token_with_refresh_is_replaced_after_a_401(client: Client) -> None:
    """Pins: AccessToken's refresh callback is called once on a 401, and its token re-sends the request."""
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        return "refreshed-token"

    auth = GenesysAuth(AccessToken("given-token", "us-east-1", refresh=refresh), http=mounted(client.mock))
    other = make_client(client.mode, auth, client.mock)
    client.mock.register_uri("GET", ORG_ME, statuses(401, 200))
    assert other.get(ORG_ME).status_code == 200
    assert [r.headers["Authorization"] for r in other.api_calls()] == [
        "Bearer given-token",
        "Bearer refreshed-token",
    ]
    assert calls == [1]
    assert other.token_calls() == []


def test_an_access_token_without_refresh_reports_the_401_as_a_token_error(client: Client) -> None:
    """Pins: a rejected fixed token gives a TokenRequestError that says how to supply a refresh."""
    auth = GenesysAuth(AccessToken("given-token", "us-east-1"), http=mounted(client.mock))
    other = make_client(client.mode, auth, client.mock)
    client.mock.register_uri("GET", ORG_ME, statuses(401, 200))
    with pytest.raises(TokenRequestError, match="refresh"):
        other.get(ORG_ME)
    assert len(other.api_calls()) == 1


def test_a_failing_login_stops_the_request_before_the_api(client: Client) -> None:
    """Pins: with no token to send, the API is not called and the login error reaches the caller."""
    client.mock.register_uri("POST", TOKEN_URL, status_code=400, json={"error": "invalid_client"})
    client.mock.register_uri("GET", ORG_ME, json={})
    with pytest.raises(TokenRequestError) as caught:
        client.get(ORG_ME)
    assert caught.value.error == "invalid_client"
    assert client.api_calls() == []


class SlowSource:
    """A token source whose token request hangs until released."""

    api_url = API

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def initial_token(self) -> IssuedToken | None:
        return None

    def token_request(self) -> None:
        return None  # tokens come from obtain()

    def obtain(self) -> IssuedToken:
        self.started.set()
        assert self.release.wait(5)
        return IssuedToken("slow-token", expires_in=300.0)


def test_waiting_too_long_for_another_threads_token_raises_token_wait_timeout() -> None:
    """Pins: the engine's WaitTimeout reaches requests users as a TokenRequestError subclass."""
    source = SlowSource()
    auth = GenesysAuth(source, wait_timeout=0.05)
    leader = threading.Thread(target=auth.header, daemon=True)
    leader.start()
    try:
        assert source.started.wait(5)
        with pytest.raises(TokenWaitTimeout) as caught:
            auth.header()
        assert isinstance(caught.value, TokenRequestError)
    finally:
        source.release.set()
        leader.join(5)
    assert auth.header() == "Bearer slow-token"


def test_concurrent_401s_share_one_new_token(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins: 16 threads (each with its own session, one shared auth) hit by 401s cause one re-authentication.

    The threads truly overlap: every request with the first token is held at a barrier until all 16
    were sent, and the replacement token request is held until all 16 threads asked for a new token.
    Without single flight each of them would make its own token request.
    """
    threads = 16
    sent_with_old_token = threading.Barrier(threads, timeout=5)
    asked = threading.Condition()
    asked_count = [0]
    rejected = client.auth.manager.rejected

    def counting_rejected(header: str, after: float | None = None) -> Any:
        with asked:
            asked_count[0] += 1
            asked.notify_all()
        return rejected(header, after)

    monkeypatch.setattr(client.auth.manager, "rejected", counting_rejected)

    def users_me(request: requests_mock.Request, context: requests_mock.Context) -> dict[str, Any]:
        if request.headers.get("Authorization") == "Bearer token-1":
            sent_with_old_token.wait()
            context.status_code = 401
        return {}

    issued: list[str] = []

    def token(request: requests_mock.Request, context: requests_mock.Context) -> dict[str, Any]:
        if issued:  # the replacement: wait (bounded) until every thread has asked for one
            with asked:
                asked.wait_for(lambda: asked_count[0] >= threads, timeout=5)
        issued.append(f"token-{len(issued) + 1}")
        return {"access_token": issued[-1], "token_type": "bearer", "expires_in": 3600}

    client.mock.register_uri("POST", TOKEN_URL, json=token)
    client.mock.register_uri("GET", ORG_ME, json=users_me)
    clients = [make_client(client.mode, client.auth, client.mock) for _ in range(threads)]
    client.auth.header()  # the first token, before the threads start
    statuses_seen: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads, timeout=5)

    def run(each: Client) -> None:
        try:
            start.wait()
            statuses_seen.append(each.get(ORG_ME).status_code)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(each,), daemon=True) for each in clients]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(15)
    assert errors == []
    assert statuses_seen == [200] * threads
    assert asked_count[0] == threads
    assert issued == ["token-1", "token-2"]


def test_a_401_is_answered_once_per_request_across_retries(auth: GenesysAuth, mock: RecordingMock) -> None:
    """Pins: a GET answered 401, 503, 401, 200 was sent four times and fetched two new tokens; the
    second 401 (after one re-send and a retry) now reaches the caller."""
    client = make_client("adapter", auth, mock)
    mock.register_uri("GET", ORG_ME, statuses(401, 503, 401, 200))
    with retry_policy(RetryPolicy(backoff=0.0)):
        response = client.get(ORG_ME)
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"
    assert len(client.api_calls()) == 3
    assert len(client.token_calls()) == 2  # the first token and one replacement
    assert attempts(response) == 3


def test_attempts_counts_the_resend(client: Client) -> None:
    """Pins: ``attempts(r)`` counts every send, the 401 re-send included, on both paths."""
    client.mock.register_uri("GET", ORG_ME, statuses(401, 200))
    response = client.get(ORG_ME)
    assert response.status_code == 200
    assert attempts(response) == 2
    client.mock.register_uri("GET", ORG_ME, json={"id": "me"})
    assert attempts(client.get(ORG_ME)) == 1
