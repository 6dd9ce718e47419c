"""Errors, sessions, auth objects and adapters survive pickle and copy (process pools copy them)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import requests

from genesys_auth_adapter import (
    AccessToken,
    ApiError,
    Attempt,
    ClientCredentials,
    ConfigurationError,
    GenesysAdapter,
    GenesysAuth,
    GenesysError,
    GenesysSession,
    ManualClock,
    PaginationError,
    RateLimitedError,
    RetryExhaustedError,
    RetryPolicy,
    TokenRequestError,
    TokenWaitTimeout,
    UnreplayableBodyError,
    session,
)

from .helpers import API, CLIENT_SECRET, RecordingMock


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b'{"code": "x"}'
    return response


def every_error() -> list[GenesysError]:
    """One instance of every error class, with every field set."""
    api_fields: dict[str, Any] = {
        "status": 403,
        "code": "missing.permissions",
        "message": "Missing permissions.",
        "context_id": "ctx-1",
        "details": [{"errorCode": "e", "fieldName": "f"}],
        "correlation_id": "corr-1",
        "body": {"code": "missing.permissions", "status": 403},
        "response": _response(403),
        "attempts": 2,
    }
    token_fields: dict[str, Any] = {
        "status": 400,
        "error": "invalid_client",
        "description": "bad client",
        "correlation_id": "corr-2",
        "response": _response(400),
    }
    return [
        GenesysError("plain"),
        ConfigurationError("Missing GENESYS_CLIENT_ID."),
        TokenRequestError("Token request failed", **token_fields),
        TokenWaitTimeout("Waited 65 s", **token_fields),
        ApiError("HTTP 403 missing.permissions", **api_fields),
        RateLimitedError("HTTP 429", **{**api_fields, "status": 429}),
        UnreplayableBodyError("POST /x was rejected", response=_response(401)),
        RetryExhaustedError(
            "GET /x gave up",
            attempts=3,
            history=(
                Attempt(1, 503, "c-1", 0.5, "HTTP 503 (correlation id c-1)"),
                Attempt(2, 401, None, 0.0, "HTTP 401", resent=True),
                Attempt(3, 503, "c-3", None, "HTTP 503 (correlation id c-3)"),
            ),
            last_status=503,
            correlation_id="corr-3",
            response=_response(503),
        ),
        PaginationError("too many pages"),
    ]


def fields(error: BaseException) -> dict[str, Any]:
    return {k: v for k, v in vars(error).items() if k not in ("response", "request")}


@pytest.mark.parametrize("error", every_error(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_fields(error: GenesysError) -> None:
    """Pins: unpickling called ``cls(*args)``, which cannot fill keyword-only fields (TypeError), and a
    process pool died of it."""
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert clone.args == error.args
    assert fields(clone) == fields(error)
    # Live objects (sockets, hooks, the auth) stay in the process that made them.
    assert clone.response is None and clone.request is None


@pytest.mark.parametrize("error", every_error(), ids=lambda e: type(e).__name__)
def test_every_error_copies_with_its_fields_and_response(error: GenesysError) -> None:
    clone = copy.copy(error)
    assert type(clone) is type(error)
    assert fields(clone) == fields(error)
    assert clone.response is error.response


def test_an_error_is_still_caught_as_its_bases_after_pickling() -> None:
    clone = pickle.loads(pickle.dumps(every_error()[6]))
    assert isinstance(clone, UnreplayableBodyError)
    assert isinstance(clone, requests.exceptions.UnrewindableBodyError)
    assert isinstance(clone, requests.RequestException)


@pytest.fixture
def creds() -> ClientCredentials:
    return ClientCredentials("client-id-4711", CLIENT_SECRET, "us-east-1")


def test_an_auth_pickles_to_an_equivalent_auth_without_its_token(creds: ClientCredentials) -> None:
    clock = ManualClock()
    auth = GenesysAuth(creds, clock=clock, timeout=(3.0, 7.0), retry=RetryPolicy(max_attempts=2), wait_timeout=9.0)
    data = pickle.dumps(auth)
    clone = pickle.loads(data)
    assert type(clone) is GenesysAuth
    assert clone is not auth and clone.manager is not auth.manager
    assert clone.credentials == creds
    assert clone.api_url == auth.api_url
    assert clone.retry == RetryPolicy(max_attempts=2)
    assert clone.login.timeout == (3.0, 7.0)
    assert clone.manager.wait_timeout == 9.0
    assert isinstance(clone.manager.clock, ManualClock) and clone.manager.clock.wall() == clock.wall()


def test_a_pickled_auth_carries_no_token(creds: ClientCredentials, mock: RecordingMock) -> None:
    """The secret travels inside the pickle (as with the credentials); the token does not."""
    auth = GenesysAuth(creds)
    auth.login.http.mount("https://", mock)  # its own token-request session, which is not pickled
    header = auth.header()
    assert header == "Bearer token-1"
    data = pickle.dumps(auth)
    assert b"token-1" not in data
    clone = pickle.loads(data)
    assert clone.manager.current is None
    clone.login.http.mount("https://", mock)
    assert clone.header() == "Bearer token-2"  # its own token, from the same login service


def test_copying_an_auth_gives_the_same_auth(creds: ClientCredentials) -> None:
    """An auth is a handle on one token: copies of sessions and adapters share it."""
    auth = GenesysAuth(creds)
    assert copy.copy(auth) is auth
    assert copy.deepcopy(auth) is auth


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_a_session_pickles_and_copies_into_a_working_session(
    creds: ClientCredentials, mock: RecordingMock, how: str
) -> None:
    """Pins: a GenesysSession used to unpickle without base_url (and copy without it) and fail on first use."""
    retry = RetryPolicy(max_attempts=3)
    original = session(creds, timeout=(4.0, 8.0), retry=retry)
    copies = {"pickle": lambda s: pickle.loads(pickle.dumps(s)), "copy": copy.copy, "deepcopy": copy.deepcopy}
    clone = copies[how](original)
    assert isinstance(clone, GenesysSession)
    assert clone.base_url == API
    assert clone.default_timeout == (4.0, 8.0)
    adapter = clone.get_adapter(API + "/")
    assert isinstance(adapter, GenesysAdapter)
    assert adapter.retry == retry
    assert adapter.auth is clone.genesys_auth  # one auth for the session and its adapter
    # It works: relative paths resolve, a token is attached (sent through the recording mock).
    adapter._transport = mock
    clone.genesys_auth.login.http.mount("https://", mock)
    mock.register_uri("GET", API + "/api/v2/organizations/me", json={"id": "me"})
    response = clone.get("/api/v2/organizations/me")
    assert response.status_code == 200
    assert mock.sent[-1].headers["Authorization"].startswith("Bearer token-")
    # A copy shares the original's auth (one token); a pickle is an equivalent auth of its own.
    assert (clone.genesys_auth is original.genesys_auth) == (how != "pickle")


def test_a_deep_copied_adapter_shares_the_auth_but_not_the_pools(creds: ClientCredentials) -> None:
    auth = GenesysAuth(creds)
    adapter = GenesysAdapter(auth, retry=RetryPolicy(max_attempts=2), pool_maxsize=3)
    clone = copy.deepcopy(adapter)
    assert clone.auth is auth
    assert clone.retry == adapter.retry
    assert clone.poolmanager is not adapter.poolmanager
    assert clone._pool_maxsize == 3  # type: ignore[attr-defined]


def _module_level_refresh() -> str:
    return "fresh-token"


def test_an_access_token_with_a_lambda_refresh_refuses_to_pickle_saying_what_to_pass() -> None:
    """Pins: pickle's bare "Can't pickle <lambda>" from deep inside a GenesysAuth."""
    auth = GenesysAuth(AccessToken("given", "us-east-1", refresh=lambda: "x"))
    with pytest.raises(TypeError, match="module-level function"):
        pickle.dumps(auth)
    clone = pickle.loads(pickle.dumps(AccessToken("given", "us-east-1", refresh=_module_level_refresh)))
    assert clone.refresh is _module_level_refresh
    assert clone.obtain().access_token == "fresh-token"
