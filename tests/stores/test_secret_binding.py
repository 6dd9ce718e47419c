"""A stored token serves only the processes that hold the secret it was obtained with.

Pins issue 13 (4): store keys hold the login host, the client id and the grant, not the secret, so a
process with a wrong secret was handed the token a right one had stored (and printed data, exit 0, for the
token's lifetime), and a rotated or revoked secret kept working for every process sharing the store.
"""

from __future__ import annotations

from typing import Callable

import pytest

from genesys_auth_adapter import ClientCredentials, GenesysAuth, TokenRequestError, from_env
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.stores import StoredToken, TokenStore
from genesys_auth_adapter.stores.base import secret_binding
from genesys_auth_adapter.stores.shared import source_binding, source_key

SECRET = "emulator-secret"


@pytest.fixture
def emu(genesys_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return genesys_emulator_factory(client_secret=SECRET)


def creds(emu: Emulator, secret: str | None = None) -> ClientCredentials:
    env = emu.env()
    if secret is not None:
        env["GENESYS_CLIENT_SECRET"] = secret
    return from_env(env, use_dotenv=False)


def test_a_wrong_secret_is_refused_as_it_would_be_without_a_store(emu: Emulator, file_or_redis: TokenStore) -> None:
    right = GenesysAuth(creds(emu), store=file_or_redis)
    wrong = GenesysAuth(creds(emu, "wrong-secret"), store=file_or_redis)
    later = GenesysAuth(creds(emu), store=file_or_redis)
    token = right.header()
    with pytest.raises(TokenRequestError) as caught:
        wrong.header()
    assert caught.value.error == "invalid_client"
    # The right secret's entry is untouched: another process with it still takes the stored token.
    assert later.header() == token
    assert emu.counters()["token_requests"] == 2  # the right secret's, and the wrong one's (refused)


def test_after_a_rotation_the_new_secret_works_and_the_old_one_gets_nothing_from_the_store(
    emu: Emulator, file_or_redis: TokenStore
) -> None:
    before = GenesysAuth(creds(emu), store=file_or_redis)
    old_token = before.header()
    emu.rotate_secret("rotated-secret")
    rotated = GenesysAuth(creds(emu), store=file_or_redis)  # emu.env() now gives the new secret
    new_token = rotated.header()
    assert new_token != old_token  # the stored token was the old secret's: not taken, and not in the way
    assert emu.counters()["token_requests"] == 2
    # A process started with the old secret after the rotation is refused, as it would be without a store.
    late = GenesysAuth(creds(emu, SECRET), store=file_or_redis)
    with pytest.raises(TokenRequestError) as caught:
        late.header()
    assert caught.value.error == "invalid_client"
    assert GenesysAuth(creds(emu), store=file_or_redis).header() == new_token  # the new secret's token is shared


def test_an_entry_binds_the_secret_without_revealing_it(emu: Emulator, file_or_redis: TokenStore) -> None:
    source = creds(emu)
    GenesysAuth(source, store=file_or_redis).header()
    key = source_key(source)
    assert key is not None
    entry = file_or_redis.load(key)
    assert entry is not None
    assert entry.binding == source_binding(source) != ""
    assert SECRET not in key and SECRET not in entry.to_json().decode() and SECRET not in repr(entry)
    assert entry.binding not in repr(entry)


def test_the_binding_depends_on_the_secret_the_client_and_the_login_origin() -> None:
    login = "https://login.mypurecloud.com"
    grant = "client_credentials"
    base = secret_binding(login, "client-1", grant, secret="s3cret")
    assert base == secret_binding("HTTPS://Login.MyPureCloud.com/oauth/token", "client-1", grant, secret="s3cret")
    others = {
        secret_binding(login, "client-1", grant, secret="s3cret2"),
        secret_binding(login, "client-2", grant, secret="s3cret"),
        secret_binding("https://login.mypurecloud.ie", "client-1", grant, secret="s3cret"),
    }
    assert base not in others and len(others) == 3
    assert "s3cret" not in base
    assert secret_binding(login, "public-client", "authorization_code", secret="") == ""


def test_an_entry_without_a_binding_reads_as_matching_no_secret() -> None:
    """An entry written before bindings existed is read (and then replaced by the next token stored)."""
    old = b'{"access_token":"tok","token_type":"bearer","expires_at":2e9,"issued_at":1.9e9}'
    assert StoredToken.from_json(old) == StoredToken("tok", "bearer", 2e9, 1.9e9, "")


def test_an_entry_with_a_foreign_binding_is_a_miss_not_a_crash(emu: Emulator, file_or_redis: TokenStore) -> None:
    source = creds(emu)
    key = source_key(source)
    assert key is not None
    file_or_redis.save(key, StoredToken("foreign", "bearer", None, 0.0, "caf\u00e9"))  # not even ASCII
    assert GenesysAuth(source, store=file_or_redis).header() != "Bearer foreign"
    assert emu.counters()["token_requests"] == 1
