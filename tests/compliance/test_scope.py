"""The token goes only under the API base: never to a redirect target elsewhere, nor to other hosts."""

from __future__ import annotations

from genesys_auth_adapter.emulator import Emulator

from .frontends import FrontEnd, scenario


@scenario
async def test_a_redirect_to_storage_carries_no_authorization(fe: FrontEnd, emu: Emulator) -> None:
    """Pins: the bearer token leaking to a signed storage URL ("Only one auth mechanism allowed")."""
    reply = await fe.get("/api/v2/downloads/rec-42")
    assert reply.status == 200
    assert reply.url.startswith(emu.storage_url)
    assert len(reply.content) > 0
    assert not reply.authorization_sent
    counters = emu.counters()
    assert counters["storage_requests"] == 1
    assert counters["storage_authorization_headers"] == 0
    assert counters["requests_by_path"]["/api/v2/downloads/rec-42"] == 1


@scenario
async def test_absolute_urls_to_other_hosts_never_get_a_token(fe: FrontEnd, emu: Emulator) -> None:
    storage = await fe.get(emu.storage_url + "/signed/x")
    login = await fe.get(emu.login_url + "/oauth/nothing")
    assert not storage.authorization_sent
    assert not login.authorization_sent
    counters = emu.counters()
    assert counters["storage_requests"] == 1
    assert counters["storage_authorization_headers"] == 0
    assert counters["token_requests"] == 0  # not even fetched: no request needed one
    # An absolute URL under the API base does get one.
    assert (await fe.get(emu.api_url + "/api/v2/organizations/me")).authorization_sent
    assert emu.counters()["token_requests"] == 1
