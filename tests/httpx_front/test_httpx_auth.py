"""The httpx front end over ``httpx.MockTransport``: what goes on the wire, with no sockets."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from genesys_auth_adapter import ClientCredentials, ManualClock, UnreplayableBodyError, attempts
from genesys_auth_adapter.httpx import GenesysHttpxAuth

API = "https://api.mypurecloud.com"
TOKEN_URL = "https://login.mypurecloud.com/oauth/token"
SECRET = "s3cr3t-httpx-do-not-log"


class Genesys:
    """A fake Genesys behind MockTransport: tokens token-1, token-2...; the API rejects ``rejected`` tokens."""

    def __init__(self) -> None:
        self.tokens = 0
        self.rejected: set[str] = set()
        self.sent: list[tuple[str, str | None, bytes]] = []  # (url, Authorization, body) of every API request

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.tokens += 1
            return httpx.Response(200, json={"access_token": f"token-{self.tokens}", "expires_in": 3600})
        authorization = request.headers.get("Authorization")
        # MockTransport reads (and caches) every request body before it gets here, so body replays are
        # tested over real sockets, in the compliance suite.
        self.sent.append((str(request.url), authorization, request.read()))
        if authorization in self.rejected:
            return httpx.Response(401, json={"code": "bad.credentials", "status": 401})
        if request.url.path == "/genesys/away":
            return httpx.Response(302, headers={"Location": "/elsewhere"})
        return httpx.Response(200, json={"ok": True})


@pytest.fixture
def genesys() -> Genesys:
    return Genesys()


def make_auth(genesys: Genesys, api_url: str = API) -> GenesysHttpxAuth:
    mock = httpx.MockTransport(genesys)
    creds = ClientCredentials("client", SECRET, api_url=api_url, login_url="https://login.mypurecloud.com")
    return GenesysHttpxAuth(
        creds, clock=ManualClock(), http=httpx.Client(transport=mock), async_http=httpx.AsyncClient(transport=mock)
    )


def sync_client(genesys: Genesys, auth: GenesysHttpxAuth) -> httpx.Client:
    return httpx.Client(auth=auth, transport=auth.transport(httpx.MockTransport(genesys)), follow_redirects=True)


def test_the_token_goes_only_under_the_api_base(genesys: Genesys) -> None:
    auth = make_auth(genesys)
    with sync_client(genesys, auth) as c:
        assert c.get(API + "/api/v2/organizations/me").status_code == 200
        assert c.get("https://other.example/api/v2/organizations/me").status_code == 200
    assert [authorization for _, authorization, _ in genesys.sent] == ["Bearer token-1", None]


def test_a_401_gets_one_new_token_and_one_resend(genesys: Genesys) -> None:
    auth = make_auth(genesys)
    with sync_client(genesys, auth) as c:
        c.get(API + "/api/v2/organizations/me")
        genesys.rejected.add("Bearer token-1")
        response = c.get(API + "/api/v2/organizations/me")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert response.history[0].json()["code"] == "bad.credentials"
    assert attempts(response) == 2
    assert [authorization for _, authorization, _ in genesys.sent] == ["Bearer token-1"] * 2 + ["Bearer token-2"]


def chunks() -> Iterator[bytes]:
    yield b"part one, "
    yield b"part two"


def test_a_generator_body_on_a_401_is_never_resent_short(genesys: Genesys) -> None:
    auth = make_auth(genesys)
    genesys.rejected.add("Bearer token-1")
    with sync_client(genesys, auth) as c, pytest.raises(UnreplayableBodyError) as caught:
        c.post(API + "/api/v2/uploads", content=chunks())
    assert len(genesys.sent) == 1
    response = caught.value.response
    assert response is not None and response.status_code == 401 and response.json()["code"] == "bad.credentials"


def test_an_async_generator_body_on_a_401_is_never_resent_short(genesys: Genesys) -> None:
    async def achunks() -> AsyncIterator[bytes]:
        yield b"async part"

    async def scenario() -> None:
        auth = make_auth(genesys)
        genesys.rejected.add("Bearer token-1")
        transport = auth.async_transport(httpx.MockTransport(genesys))
        async with httpx.AsyncClient(auth=auth, transport=transport) as c:
            with pytest.raises(UnreplayableBodyError):
                await c.post(API + "/api/v2/uploads", content=achunks())

    asyncio.run(scenario())
    assert len(genesys.sent) == 1


def test_a_connection_failure_is_retried_through_the_librarys_transport(genesys: Genesys) -> None:
    failures = [httpx.ConnectError("refused")]

    def flaky(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(API) and failures:
            raise failures.pop()
        return genesys(request)

    auth = make_auth(genesys)
    with httpx.Client(auth=auth, transport=auth.transport(httpx.MockTransport(flaky))) as c:
        response = c.post(API + "/api/v2/analytics/conversations/details/query", json={})
    assert response.status_code == 200
    assert attempts(response) == 2
    # Without the library's transport httpx raises the failure past the auth flow: it is not retried.
    failures.append(httpx.ConnectError("refused"))
    with httpx.Client(auth=auth, transport=httpx.MockTransport(flaky)) as c, pytest.raises(httpx.ConnectError):
        c.get(API + "/api/v2/organizations/me")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failure_raised_past_the_flow_leaves_no_mark_on_the_request(genesys: Genesys, mode: str) -> None:
    """Without the library's transport a connection failure is raised past the auth flow: on the fast path
    too, the request the caller may send again keeps no trace of this auth."""
    failing = False

    def flaky(request: httpx.Request) -> httpx.Response:
        if failing:
            raise httpx.ConnectError("connection refused", request=request)
        return genesys(request)

    auth = make_auth(genesys)
    if mode == "sync":
        with httpx.Client(auth=auth, transport=httpx.MockTransport(flaky)) as c:
            c.get(API + "/api/v2/organizations/me")  # the token: the next request takes the fast path
            failing = True
            request = c.build_request("GET", API + "/api/v2/organizations/me")
            with pytest.raises(httpx.ConnectError):
                c.send(request)
    else:

        async def main() -> httpx.Request:
            nonlocal failing
            async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(flaky)) as c:
                await c.get(API + "/api/v2/organizations/me")
                failing = True
                request = c.build_request("GET", API + "/api/v2/organizations/me")
                with pytest.raises(httpx.ConnectError):
                    await c.send(request)
                return request

        request = asyncio.run(main())
    assert genesys.tokens == 1 and auth.state.fresh_header() is not None  # it was the fast path's send
    assert set(request.extensions) == {"timeout"}


def test_a_same_host_redirect_out_of_a_prefixed_base_carries_no_token(genesys: Genesys) -> None:
    """Pins: httpx keeps Authorization on a same-origin redirect, even out of a path-prefixed API base."""
    auth = make_auth(genesys, api_url="https://gateway.example/genesys")
    with sync_client(genesys, auth) as c:
        response = c.get("https://gateway.example/genesys/away")
    assert response.status_code == 200
    assert [(url, authorization) for url, authorization, _ in genesys.sent] == [
        ("https://gateway.example/genesys/away", "Bearer token-1"),
        ("https://gateway.example/elsewhere", None),
    ]


def test_no_token_or_secret_in_logs_or_reprs(genesys: Genesys, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    auth = make_auth(genesys)
    genesys.rejected.add("Bearer token-1")
    with sync_client(genesys, auth) as c:
        c.get(API + "/api/v2/organizations/me")
    text = caplog.text + repr(auth) + repr(auth.state) + repr(auth.tokens)
    for secret in ("token-1", "token-2", SECRET):
        assert secret not in text


def test_the_core_imports_without_httpx() -> None:
    """``pip install .`` without the [httpx] extra: everything but the httpx front end works."""
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "import genesys_auth_adapter as gaa\n"
        "gaa.GenesysAuth(gaa.ClientCredentials('c', 's', 'us-east-1'))\n"
        "try:\n"
        "    import genesys_auth_adapter.httpx\n"
        "except ImportError as exc:\n"
        "    print(json.dumps(str(exc)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, timeout=60, check=True
    )
    message = json.loads(result.stdout)
    # Installs that work today: the package is not on the index, so not 'genesys-auth-adapter[httpx]'.
    assert "pip install '.[httpx]'" in message
    assert "pip install 'httpx>=0.27'" in message
    assert "genesys-auth-adapter[" not in message


def test_a_task_cancelled_mid_request_leaves_nothing_held() -> None:
    """Pins: an async request cancelled during its token request must leave no flight or lock behind: the next
    request on the same auth gets its token at once."""

    async def scenario() -> None:
        genesys = Genesys()
        token_started = asyncio.Event()
        hold_tokens = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            if str(request.url) == TOKEN_URL:
                token_started.set()
                await hold_tokens.wait()
            return genesys(request)

        mock = httpx.MockTransport(handler)
        creds = ClientCredentials("client", SECRET, api_url=API, login_url="https://login.mypurecloud.com")
        auth = GenesysHttpxAuth(creds, clock=ManualClock(), async_http=httpx.AsyncClient(transport=mock))
        async with httpx.AsyncClient(auth=auth, transport=auth.async_transport(mock)) as c:
            first = asyncio.ensure_future(c.get(API + "/api/v2/organizations/me"))
            await asyncio.wait_for(token_started.wait(), 5)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            assert auth.state._flight is None
            hold_tokens.set()
            response = await asyncio.wait_for(c.get(API + "/api/v2/organizations/me"), 5)
        assert response.status_code == 200
        assert genesys.tokens == 1  # the cancelled token request never reached the fake login service

    asyncio.run(scenario())


def test_the_auth_pickles_to_an_equivalent_auth_without_its_token(genesys: Genesys) -> None:
    import pickle

    auth = make_auth(genesys)
    assert auth.tokens.header() == "Bearer token-1"
    data = pickle.dumps(auth)
    assert b"token-1" not in data
    clone = pickle.loads(data)
    assert clone.api_url == auth.api_url and clone.credentials == auth.credentials
    assert clone.state.current is None  # it gets its own token in its process


def test_a_401_from_a_redirect_target_elsewhere_is_not_taken_for_the_apis(genesys: Genesys) -> None:
    """Pins: httpx judged the final hop whatever its URL: a 401 from another host dropped a valid token
    (and a shared store's entry) and fetched the other host twice."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "elsewhere.example":
            genesys.sent.append((str(request.url), request.headers.get("Authorization"), b""))
            return httpx.Response(401, json={"error": "not yours"})
        if request.url.path == "/api/v2/away":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/x"})
        return genesys(request)

    auth = make_auth(genesys)
    with httpx.Client(auth=auth, transport=auth.transport(httpx.MockTransport(handler)), follow_redirects=True) as c:
        response = c.get(API + "/api/v2/away")
    assert response.status_code == 401
    assert genesys.tokens == 1
    assert [url for url, _, _ in genesys.sent].count("https://elsewhere.example/x") == 1


def test_an_answer_from_a_redirect_target_elsewhere_is_no_clock_sample_on_the_fast_path(genesys: Genesys) -> None:
    """The fast path delivers a foreign answer as the flow does: its Date is another server's clock."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "elsewhere.example":
            return httpx.Response(200, headers={"Date": "Mon, 01 Jan 2001 00:00:00 GMT"})
        if request.url.path == "/api/v2/away":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/x"})
        return genesys(request)  # no Date: no clock sample from the API either

    auth = make_auth(genesys)
    with httpx.Client(auth=auth, transport=auth.transport(httpx.MockTransport(handler)), follow_redirects=True) as c:
        assert c.get(API + "/api/v2/organizations/me").status_code == 200
        assert auth.state.fresh_header() is not None  # so the next request takes the fast path
        response = c.get(API + "/api/v2/away")
    assert response.status_code == 200 and str(response.url) == "https://elsewhere.example/x"
    assert auth.clock_offset is None


def test_the_last_response_is_readable_on_retry_exhausted(genesys: Genesys) -> None:
    from genesys_auth_adapter import RetryExhaustedError, RetryPolicy

    def busy(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return genesys(request)
        return httpx.Response(503, json={"message": "busy", "status": 503})

    auth = make_auth(genesys)
    auth.retry = RetryPolicy(max_attempts=2, backoff=0.0)
    transport = auth.transport(httpx.MockTransport(busy))
    with httpx.Client(auth=auth, transport=transport) as c, pytest.raises(RetryExhaustedError) as caught:
        c.get(API + "/api/v2/organizations/me")
    response = caught.value.response
    assert response is not None and response.json()["message"] == "busy"


def hop_out_and_back(genesys: Genesys) -> httpx.MockTransport:
    """``/api/v2/start`` -> another host -> ``/api/v2/final``, which answers 401 to a request without a token."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "elsewhere.example":
            genesys.sent.append((str(request.url), request.headers.get("Authorization"), b""))
            return httpx.Response(302, headers={"Location": API + "/api/v2/final"})
        if request.url.path == "/api/v2/start":
            genesys.sent.append((str(request.url), request.headers.get("Authorization"), b""))
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/hop"})
        if request.url.path == "/api/v2/final" and "Authorization" not in request.headers:
            genesys.sent.append((str(request.url), None, b""))
            return httpx.Response(401, json={"code": "authentication.required", "status": 401})
        return genesys(request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_401_to_a_hop_that_lost_the_token_keeps_the_token(genesys: Genesys, mode: str) -> None:
    """Pins: httpx copies a hop's stripped headers onto the next hop, so the hop back into the API base went
    without the token; its 401 dropped the valid token, and the re-send's chain lost the new one too.

    A client built without the library's transport: nothing gives the token back to that hop."""
    auth = make_auth(genesys)
    mock = hop_out_and_back(genesys)

    async def aget() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth, transport=mock, follow_redirects=True) as c:
            return await c.get(API + "/api/v2/start")

    if mode == "sync":
        with httpx.Client(auth=auth, transport=mock, follow_redirects=True) as c:
            response = c.get(API + "/api/v2/start")
    else:
        response = asyncio.run(aget())
    assert response.status_code == 401
    assert genesys.tokens == 1
    assert auth.state.current is not None and auth.state.current.header == "Bearer token-1"
    assert [authorization for _, authorization, _ in genesys.sent] == ["Bearer token-1", None, None]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_librarys_transport_gives_the_token_back_to_a_hop_back_inside(genesys: Genesys, mode: str) -> None:
    auth = make_auth(genesys)
    mock = hop_out_and_back(genesys)

    async def aget() -> httpx.Response:
        transport = auth.async_transport(mock)
        async with httpx.AsyncClient(auth=auth, transport=transport, follow_redirects=True) as c:
            return await c.get(API + "/api/v2/start")

    if mode == "sync":
        with httpx.Client(auth=auth, transport=auth.transport(mock), follow_redirects=True) as c:
            response = c.get(API + "/api/v2/start")
    else:
        response = asyncio.run(aget())
    assert response.status_code == 200
    assert genesys.tokens == 1
    assert [(url, authorization) for url, authorization, _ in genesys.sent] == [
        (API + "/api/v2/start", "Bearer token-1"),
        ("https://elsewhere.example/hop", None),
        (API + "/api/v2/final", "Bearer token-1"),
    ]
