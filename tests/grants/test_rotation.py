"""Refresh-token rotation in a store: which token is presented, what is stored, when a login ends.

Driven with a memory store and a fake login service (no network); the fetch lock is the caller's and is
held here by the test, as the cross-process fetch holds it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from genesys_auth_adapter import IssuedToken, LoginRequiredError, ManualClock, TokenRequestError
from genesys_auth_adapter.engine.state import TokenState
from genesys_auth_adapter.grants import CodeClient, PkceClient, RefreshToken, Saml2Bearer
from genesys_auth_adapter.oauth import TokenRequest
from genesys_auth_adapter.stores import MemoryTokenStore
from genesys_auth_adapter.stores._async.rotation import AsyncRotation
from genesys_auth_adapter.stores.lineage import LOGGED_OUT, REFRESH, REFUSED, Ended, Presented, choose, tombstone
from genesys_auth_adapter.stores.lineage import refresh_entry as entry
from genesys_auth_adapter.stores.shared import ThreadedAsyncStore
from genesys_auth_adapter.tokeninfo import TokenInfo

CLIENT = CodeClient("cid", "s3cret", login_url="https://login.example.test", api_url="https://api.example.test")


class LoginService:
    """Rotates refresh tokens like Genesys: each refresh retires the one presented and issues the next."""

    def __init__(self, valid: str = "rt-1") -> None:
        self.valid = {valid}
        self.presented: list[str] = []
        self.grants: list[str] = []
        self._numbers = itertools.count(2)

    async def post(self, request: TokenRequest) -> IssuedToken:
        form = dict(request.form)
        self.grants.append(form["grant_type"])
        if form["grant_type"] == "refresh_token":
            self.presented.append(form["refresh_token"])
            if form["refresh_token"] not in self.valid:
                raise TokenRequestError(
                    "Token request failed: HTTP 400 invalid_grant", status=400, error="invalid_grant"
                )
            self.valid.discard(form["refresh_token"])
        number = next(self._numbers)
        self.valid.add(f"rt-{number}")
        return IssuedToken(f"at-{number}", expires_in=600.0, refresh_token=f"rt-{number}")


@pytest.fixture
def store() -> Iterator[MemoryTokenStore]:
    yield MemoryTokenStore()


def rotation(
    store: MemoryTokenStore,
    source: object,
    service: LoginService,
    info: object = None,
    current: IssuedToken | None = None,
) -> AsyncRotation:
    identity = source.store_identity()  # type: ignore[attr-defined]
    state = TokenState(clock=ManualClock(), initial=current)
    return AsyncRotation(ThreadedAsyncStore(store), source, identity, state, service.post, service.post, info)  # type: ignore[arg-type]


def test_the_store_of_the_same_or_a_later_login_wins_over_the_objects_own_token() -> None:
    binding = CLIENT.store_identity().binding()
    assert choose(entry("rt-stored", 100.0, binding), binding, "rt-own", 100.0) == Presented("rt-stored", 100.0, True)
    assert choose(entry("rt-stored", 200.0, binding), binding, "rt-own", 100.0) == Presented("rt-stored", 200.0, True)
    assert choose(entry("rt-stored", 50.0, binding), binding, "rt-own", 100.0) == Presented("rt-own", 100.0, False)
    assert choose(entry("rt-stored", 100.0, "another"), binding, "rt-own", 100.0) == Presented("rt-own", 100.0, False)
    assert choose(tombstone(LOGGED_OUT, 150.0, binding), binding, "rt-own", 100.0) == Ended(LOGGED_OUT, 150.0)
    assert choose(tombstone(LOGGED_OUT, 150.0, binding), binding, "rt-own", 200.0) == Presented("rt-own", 200.0, False)
    assert choose(None, binding, None, 0.0) is None


def test_a_login_is_seeded_then_rotated_and_every_new_refresh_token_replaces_the_last(store: MemoryTokenStore) -> None:
    service = LoginService("rt-1")
    login = RefreshToken(CLIENT, "rt-1", access_token=IssuedToken("at-1", expires_in=600.0), login_at=100.0)
    rotating = rotation(store, login, service)
    assert asyncio.run(rotating.seed(login.initial_token(), 1000.0)) is True
    assert asyncio.run(rotating.seed(login.initial_token(), 1000.0)) is False  # already there
    first = asyncio.run(rotating.grant())
    second = asyncio.run(rotation(store, CLIENT, service).grant())  # another process: the client alone
    assert (first.access_token, second.access_token) == ("at-2", "at-3")
    assert first.refresh_token is None and second.refresh_token is None  # kept in the store only
    assert service.presented == ["rt-1", "rt-2"]  # never one already rotated
    kept = store.load(CLIENT.store_identity().refresh_key)
    assert kept is not None and (kept.access_token, kept.token_type, kept.issued_at) == ("rt-3", REFRESH, 100.0)


def test_an_older_login_object_never_presents_its_token_once_the_store_holds_a_later_login(
    store: MemoryTokenStore,
) -> None:
    service = LoginService("rt-1")
    service.valid.add("rt-old")
    asyncio.run(rotation(store, RefreshToken(CLIENT, "rt-1", login_at=200.0), service).grant())
    asyncio.run(rotation(store, RefreshToken(CLIENT, "rt-old", login_at=100.0), service).grant())
    assert service.presented == ["rt-1", "rt-2"]


def test_a_refused_refresh_token_is_one_clear_error_and_never_tried_again(store: MemoryTokenStore) -> None:
    """Pins: invalid_grant leaves a tombstone; the next fetch asks for a login without a token request."""
    service = LoginService("rt-other")
    rotating = rotation(store, RefreshToken(CLIENT, "rt-revoked", login_at=100.0), service)
    with pytest.raises(LoginRequiredError, match="genesys-auth login") as raised:
        asyncio.run(rotating.grant())
    assert raised.value.error == "invalid_grant" and "rt-revoked" not in str(raised.value)
    with pytest.raises(LoginRequiredError, match="refused"):
        asyncio.run(rotating.grant())
    assert service.presented == ["rt-revoked"]
    kept = store.load(CLIENT.store_identity().refresh_key)
    assert kept is not None and kept.token_type == REFUSED


def test_a_logout_ends_the_login_for_every_process_until_a_later_login(store: MemoryTokenStore) -> None:
    service = LoginService("rt-1")
    asyncio.run(rotation(store, RefreshToken(CLIENT, "rt-1", login_at=100.0), service).grant())
    asyncio.run(rotation(store, CLIENT, service).forget("at-2"))
    with pytest.raises(LoginRequiredError, match="logged out"):
        asyncio.run(rotation(store, CLIENT, service).grant())
    later = RefreshToken(CLIENT, "rt-new", login_at=10**10)
    service.valid.add("rt-new")
    assert asyncio.run(rotation(store, later, service).grant()).access_token.startswith("at-")


def test_a_client_with_nothing_stored_asks_for_a_login(store: MemoryTokenStore) -> None:
    with pytest.raises(LoginRequiredError, match=r"No login is stored.*genesys-auth login"):
        asyncio.run(
            rotation(
                store,
                PkceClient("cid", api_url="https://api.example.test", login_url="https://login.example.test"),
                LoginService(),
            ).grant()
        )


def test_saml2_uses_its_assertion_when_no_refresh_token_is_kept(store: MemoryTokenStore) -> None:
    service = LoginService()
    grant = Saml2Bearer(
        "cid", "s", "org", "assertion", login_url="https://login.example.test", api_url="https://api.example.test"
    )
    asyncio.run(rotation(store, grant, service).grant())
    assert service.grants == ["urn:ietf:params:oauth:grant-type:saml2-bearer"]


@pytest.mark.parametrize(
    ("answer", "refreshed"),
    [
        (TokenInfo(alive=True, idles_in=1800.0), False),  # its requests kept it alive: kept
        (TokenInfo(alive=True, idles_in=20.0), True),  # about to idle out: refreshed
        (TokenInfo(alive=False), True),  # idled out already: refreshed
        (TokenInfo(alive=None), True),  # no answer: refreshed, as ahead of expiry
    ],
)
def test_a_token_due_only_to_its_idle_deadline_is_looked_at_before_a_refresh(
    store: MemoryTokenStore, answer: TokenInfo, refreshed: bool
) -> None:
    """Pins: a token due because of its idle deadline (not its expiry) is refreshed only if the API says it
    idles out soon, or cannot say."""
    service = LoginService("rt-1")
    seen: list[str] = []

    async def info(token: str) -> TokenInfo:
        seen.append(token)
        return answer if token == "at-live" else TokenInfo(alive=True, idles_in=300.0)

    current = IssuedToken("at-live", expires_in=86400.0, idles_in=300.0)
    rotating = rotation(store, RefreshToken(CLIENT, "rt-1", login_at=100.0), service, info, current)
    got = asyncio.run(rotating.grant_ahead())
    assert seen[0] == "at-live"
    if refreshed:
        assert got.access_token == "at-2" and service.grants == ["refresh_token"]
        assert got.idles_in == 300.0  # the new token's own deadline, read once it came
    else:
        assert (got.access_token, got.idles_in, got.stored) == ("at-live", 1800.0, True)
        assert service.grants == []


def test_a_token_due_to_its_expiry_is_refreshed_without_looking(store: MemoryTokenStore) -> None:
    service = LoginService("rt-1")
    seen: list[str] = []

    async def info(token: str) -> TokenInfo:
        seen.append(token)
        return TokenInfo(alive=True, idles_in=1800.0)

    current = IssuedToken("at-old", expires_in=10.0)
    rotating = rotation(store, RefreshToken(CLIENT, "rt-1", login_at=100.0), service, info, current)
    rotating.state.clock.advance(6.0)  # type: ignore[attr-defined]  # past its refresh margin (5 s)
    got = asyncio.run(rotating.grant_ahead())
    assert got.access_token == "at-2" and seen == ["at-2"]
