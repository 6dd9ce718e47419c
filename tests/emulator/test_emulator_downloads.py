"""Downloads: the API redirects to a pre-signed storage URL that refuses a bearer token."""

from __future__ import annotations

import requests

TIMEOUT = 10
TWO_AUTH = "Only one auth mechanism allowed"


def test_download_redirects_to_a_signed_storage_url(genesys_emulator, client):
    response = client.get("/api/v2/downloads/rec-42", allow_redirects=False)

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(genesys_emulator.storage_url + "/signed/rec-42?")
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=" in location


def test_download_without_redirect_returns_the_url(genesys_emulator, client):
    redirect = client.get("/api/v2/downloads/rec-42", allow_redirects=False).headers["Location"]

    body = client.get("/api/v2/downloads/rec-42", params={"issueRedirect": "false"}).json()

    assert body["url"].split("&X-Amz-Signature=")[1] == redirect.split("&X-Amz-Signature=")[1]


def test_storage_refuses_an_authorization_header_and_counts_it(genesys_emulator, client):
    url = client.get("/api/v2/downloads/rec-42", allow_redirects=False).headers["Location"]

    refused = requests.get(url, headers={"Authorization": f"Bearer {client.token}"}, timeout=TIMEOUT)

    assert refused.status_code == 400
    assert TWO_AUTH in refused.text
    assert refused.headers["Content-Type"] == "application/xml"
    assert client.token not in refused.text
    counters = genesys_emulator.counters()
    assert (counters["storage_requests"], counters["storage_authorization_headers"]) == (1, 1)


def test_storage_serves_deterministic_bytes_without_authorization(genesys_emulator, client):
    url = client.get("/api/v2/downloads/rec-42", allow_redirects=False).headers["Location"]
    other = client.get("/api/v2/downloads/rec-43", allow_redirects=False).headers["Location"]

    first = requests.get(url, timeout=TIMEOUT)
    again = requests.get(url, timeout=TIMEOUT)

    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/octet-stream"
    assert len(first.content) == 64 * 1024
    assert first.content == again.content
    assert requests.get(other, timeout=TIMEOUT).content != first.content
    assert genesys_emulator.counters()["storage_authorization_headers"] == 0


def test_requests_drops_a_session_header_on_the_cross_port_redirect(genesys_emulator, client):
    # Storage is another port of the same host: requests treats it as another origin and strips the header.
    response = client.get("/api/v2/downloads/rec-42")

    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [303]
    assert genesys_emulator.counters()["storage_authorization_headers"] == 0


def test_storage_rejects_a_bad_signature_and_unknown_paths(genesys_emulator, client):
    url = client.get("/api/v2/downloads/rec-42", allow_redirects=False).headers["Location"]
    forged = url.replace("/signed/rec-42?", "/signed/rec-99?")

    assert requests.get(forged, timeout=TIMEOUT).status_code == 403
    assert requests.get(genesys_emulator.storage_url + "/elsewhere", timeout=TIMEOUT).status_code == 404
