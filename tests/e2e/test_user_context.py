"""A client-credentials token on an endpoint that acts as a user: Genesys' 400, explained by the library."""

from __future__ import annotations

import pytest

from genesys_auth_adapter import ApiError, GenesysSession, attempts, raise_for_genesys
from genesys_auth_adapter.emulator import Emulator


def test_users_me_is_a_400_that_says_to_log_in_as_a_user(emu: Emulator, gsession: GenesysSession) -> None:
    response = gsession.get("/api/v2/users/me")

    assert (response.status_code, attempts(response)) == (400, 1)  # final: not retried, no new token
    with pytest.raises(ApiError) as caught:
        raise_for_genesys(response)
    assert caught.value.code == "bad.request"
    assert caught.value.message is not None and caught.value.message.startswith("This request requires a user")
    assert "a client-credentials token cannot call it" in str(caught.value)
    assert emu.counters()["token_requests"] == 1


def test_tokens_me_shows_no_user_behind_a_client_credentials_token(gsession: GenesysSession) -> None:
    info = gsession.get("/api/v2/tokens/me").json()

    assert info["authenticatedUser"] is None
    assert {"organization", "OAuthClient", "authorizedScope"} <= set(info)
