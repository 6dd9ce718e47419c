"""What goes on the wire: every request the SDK builds is sent as its own default client sends it.

Each case is made twice, once through this library and once through the SDK's ``DefaultHttpClient`` (with
a token of the emulator's), and the emulator's log of the two requests is compared: method, path, query,
content type and the body's length and sha256.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import PureCloudPlatformClientV2 as gc
import pytest
import urllib3.filepost
from PureCloudPlatformClientV2.http_request_options import HttpRequestOptions
from PureCloudPlatformClientV2.rest import ApiException

from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.sdk.wire import encode

from .test_sdk_calls import sdk_default_client

ECHO = "/_emulator/echo"
WIRE = ("method", "path", "query", "content_type", "body_length", "body_sha256")

Call = Callable[[Any], Any]


def echo(method: str, **params: Any) -> Call:
    """``call_api`` on the emulator's echo, as the generated API methods call it."""
    params.setdefault("header_params", {"Accept": "application/json"})

    def call(client: Any) -> Any:
        # Fresh arguments for each call: the SDK adds to the ones it is given (headers, files to post_params).
        fresh = copy.deepcopy(params)
        return client.call_api(ECHO, method, response_type="object", auth_settings=["PureCloud OAuth"], **fresh)

    return call


def _users(client: Any) -> Any:
    return gc.UsersApi(client).get_users(
        page_size=25, page_number=2, id=["a b", "c/d"], sort_order="ASC", expand=["presence", "groups"], state="any"
    )


def _details_query(client: Any) -> Any:
    body = gc.ConversationQuery()
    body.interval = "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z"
    body.order = "desc"
    return gc.ConversationsApi(client).post_analytics_conversations_details_query(body)


CASES: dict[str, Call] = {
    "typed-get-with-query-lists": _users,
    "typed-post-of-a-model": _details_query,
    "json-dict-with-query": echo("POST", query_params={"x": "1 2", "y": "caf\u00e9"}, body={"n": [1, 2], "s": "é"}),
    "json-no-body": echo("PUT"),
    "form": echo(
        "POST",
        header_params={"Content-Type": "application/x-www-form-urlencoded"},
        post_params={"a": "1", "b": "two words", "c": "caf\u00e9"},
    ),
    "multipart-fields": echo(
        "POST", header_params={"Content-Type": "multipart/form-data"}, post_params=[("a", "1"), ("b", "two")]
    ),
    "delete-drops-its-body": echo("DELETE", body={"dropped": True}),
}


@pytest.fixture
def fixed_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    """One multipart boundary for both clients (urllib3 draws a random one per request)."""
    monkeypatch.setattr(urllib3.filepost, "choose_boundary", lambda: "sdk-wire-test-boundary")


def sent(call: Call, client: Any, emu: Emulator) -> dict[str, Any]:
    before = len(emu.requests())
    try:
        call(client)
    except ApiException as exc:
        assert exc.status == 404, exc  # the echo answers 404 to a DELETE: the request is what counts here
    logged = emu.requests()
    assert len(logged) == before + 1
    return {key: logged[-1][key] for key in WIRE}


@pytest.mark.usefixtures("fixed_boundary")
@pytest.mark.parametrize("case", list(CASES))
def test_the_request_on_the_wire_is_the_default_clients(case: str, client: Any, emu: Emulator) -> None:
    ours = sent(CASES[case], client, emu)
    theirs = sent(CASES[case], sdk_default_client(emu), emu)
    assert ours == theirs


@pytest.mark.usefixtures("fixed_boundary")
def test_a_file_upload_is_sent_as_the_default_client_sends_it(client: Any, emu: Emulator, tmp_path: Path) -> None:
    upload = tmp_path / "report.csv"
    upload.write_bytes(b"a,b\n1,2\n\xff\x00binary")
    call = echo(
        "POST",
        header_params={"Content-Type": "multipart/form-data"},
        post_params=[("name", "report")],
        files={"file": str(upload)},
    )
    ours = sent(call, client, emu)
    assert ours == sent(call, sdk_default_client(emu), emu)
    assert ours["content_type"] == "multipart/form-data; boundary=sdk-wire-test-boundary"
    assert ours["body_length"] > upload.stat().st_size


def test_a_content_type_the_default_client_cannot_send_is_refused_clearly() -> None:
    options = HttpRequestOptions(
        url="https://api.mypurecloud.com/api/v2/x", method="POST", headers={"Content-Type": "text/plain"}, body="hi"
    )
    with pytest.raises(ValueError, match=r"JSON, form and multipart bodies only, not Content-Type 'text/plain'"):
        encode(options)


def test_a_body_and_form_parameters_together_are_refused_as_by_the_default_client() -> None:
    options = HttpRequestOptions(
        url="https://api.mypurecloud.com/api/v2/x", method="POST", post_params={"a": "1"}, body={"b": 2}
    )
    with pytest.raises(ValueError, match="body parameter cannot be used with post_params parameter"):
        encode(options)
