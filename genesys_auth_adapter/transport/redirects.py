"""Keeping the token off redirect hops that leave the API base.

requests follows a redirect by copying the request it was given and re-sending the copy. It drops
the ``Authorization`` header only when the host changes (``Session.rebuild_auth``), and it does not
call an ``auth=`` object again for the hop. So a redirect from ``https://gateway/genesys/...`` to
``https://gateway/other-tenant/...`` (same host, outside a path-prefixed API base) would carry the
bearer token. Both front ends call :func:`drop_token_before_leaving` on each response, before
requests makes the copy for the next hop.
"""

from __future__ import annotations

from urllib.parse import urljoin

import requests
from requests.models import REDIRECT_STATI, PreparedRequest

from .scope import ApiScope


def redirect_target(response: requests.Response) -> str | None:
    """The absolute URL a redirect response points to, or None for any other response."""
    # The status first: it rules out almost every response with no header look-up (``is_redirect`` looks the
    # header up first).
    if response.status_code not in REDIRECT_STATI or not response.is_redirect:
        return None
    location = response.headers["Location"]
    base = response.url or (response.request.url if response.request is not None else "") or ""
    return urljoin(str(base), location)


def drop_token_before_leaving(response: requests.Response, source: PreparedRequest, scope: ApiScope) -> None:
    """Remove the token from ``source`` when ``response`` redirects outside ``scope``.

    Args:
        response: The response just received.
        source: The request requests will copy for the next hop (the one it was handed).
        scope: The URLs the token may go to.
    """
    target = redirect_target(response)
    if target is not None and target not in scope:
        source.headers.pop("Authorization", None)
