"""What the official SDK's default client puts on the wire for one ``HttpRequestOptions``, as bytes.

``DefaultHttpClient`` hands the options to ``rest.RESTClientObject.request``, which encodes them with
urllib3. This module encodes them the same way, so that a request sent through this library is the request
the SDK would have sent (the ``Authorization`` header aside):

- ``Content-Type: application/json`` unless the SDK set one (on every method, a GET included);
- the query parameters urlencoded onto the URL, whatever the method;
- GET, HEAD and DELETE carry no body (the default client drops a DELETE's body);
- POST, PUT, PATCH and OPTIONS: ``json.dumps(body)`` for JSON (``null`` when there is none); the form
  parameters urlencoded for ``application/x-www-form-urlencoded``; ``multipart/form-data`` encoded by
  urllib3 with its own boundary in the ``Content-Type``; any other content type is refused (the default
  client fails on it with an ``UnboundLocalError``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from urllib3.filepost import encode_multipart_formdata

#: Methods whose query parameters and body the default client sends as urllib3's ``request_encode_body``.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "OPTIONS"})
#: Methods it sends with no body at all.
_BODILESS_METHODS = frozenset({"GET", "HEAD", "DELETE"})

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class WireRequest:
    """One SDK request as it goes out: method, URL with its query, headers and body bytes (or none)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def encode(options: Any) -> WireRequest:
    """Encode an SDK ``HttpRequestOptions`` as the SDK's default client would send it.

    Args:
        options: The ``HttpRequestOptions`` the SDK's ``ApiClient`` built (or a pre-request hook returned).

    Raises:
        ValueError: A method or content type the default client cannot send, or both a body and form
            parameters (the default client refuses that too).
    """
    method = str(options.method or "").upper()
    if not options.url or not method:
        raise ValueError("Mandatory fields 'url' and 'method' must be set before making a request")
    if method not in _BODY_METHODS | _BODILESS_METHODS:
        raise ValueError(
            f"The SDK's requests are sent as its default client sends them, which knows GET, HEAD, DELETE, POST, "
            f"PUT, PATCH and OPTIONS, not {method}."
        )
    # The SDK's headers dict is its own (it re-sends it after a 401 with a refresh token): work on a copy.
    headers = {name: value if isinstance(value, str) else str(value) for name, value in (options.headers or {}).items()}
    if "Content-Type" not in headers:  # exactly this spelling, as the SDK's rest.py checks it
        headers["Content-Type"] = JSON
    fields = options.post_params
    if fields and options.body:
        raise ValueError("body parameter cannot be used with post_params parameter.")
    url = str(options.url)
    query = options.query_params
    if query:
        url += "?" + urlencode(query)
    if method in _BODILESS_METHODS:
        return WireRequest(method, url, headers, None)
    content_type = headers["Content-Type"]
    if content_type == JSON:
        return WireRequest(method, url, headers, json.dumps(options.body).encode("utf-8"))
    if content_type == FORM:
        return WireRequest(method, url, headers, urlencode(fields).encode("ascii") if fields else None)
    if content_type == MULTIPART:
        del headers["Content-Type"]  # urllib3's own, with the boundary, replaces it
        if not fields:
            return WireRequest(method, url, headers, None)
        body, headers["Content-Type"] = encode_multipart_formdata(fields)
        return WireRequest(method, url, headers, body)
    raise ValueError(
        f"The SDK's default client sends JSON, form and multipart bodies only, not Content-Type {content_type!r} "
        f"({method} {url.split('?', 1)[0]}); send such a request with genesys_auth_adapter.session() instead."
    )
