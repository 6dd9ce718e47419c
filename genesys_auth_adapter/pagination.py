"""Walking the pages of a Genesys Cloud listing: ``nextUri`` links, cursors and the details query.

Genesys pages in three ways, detected in this order on the first page and then kept:

1. ``nextUri`` (page-number and cursor listings): a link to GET, often a path relative to the API host.
2. ``cursor`` in the body (async analytics job results): sent back as ``cursor=`` on the next request.
3. ``POST /api/v2/analytics/conversations/details/query``: no link at all; ``paging.pageNumber`` in the
   request body is advanced until the conversations reach ``totalHits`` or a page comes back empty.

Only ``requests`` is used, so any session works; a :class:`~genesys_auth_adapter.GenesysSession` adds the
token, the 401 re-send and the retries to every page.

A walk never leaves the first page's origin and never reads a page twice: a ``nextUri`` to another scheme,
host or port, a link or cursor already followed, or a page number already seen raises
:class:`~genesys_auth_adapter.PaginationError` instead of merging pages that are not this listing's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from .errors import PaginationError, error_from_response, raise_for_genesys, without_query
from .session import DEFAULT_TIMEOUT
from .transport.login import Timeout

DETAILS_QUERY_PATH = "/api/v2/analytics/conversations/details/query"
#: ``paging.pageSize`` sent with a details query that does not set one (the largest Genesys allows).
DEFAULT_QUERY_PAGE_SIZE = 100
#: The keys that hold a page's items, in the order :func:`items` looks for them.
ITEM_KEYS = ("entities", "conversations", "results")

_NEXT_URI, _CURSOR, _QUERY, _SINGLE = "nextUri", "cursor", "query", "single"


def items(page: Mapping[str, Any]) -> list[Any]:
    """The items of one page: its ``entities``, ``conversations`` or ``results`` (the first present).

    Args:
        page: A page as yielded by :func:`iter_pages`.

    Returns:
        The list of items; empty when the page has none (Genesys leaves the key out of an empty page).
    """
    key = items_key(page)
    value = page.get(key) if key is not None else None
    return list(value) if isinstance(value, list) else []


def items_key(page: Mapping[str, Any]) -> str | None:
    """The name of the key that holds a page's items, or None when it has none of :data:`ITEM_KEYS`."""
    return next((key for key in ITEM_KEYS if key in page), None)


def iter_pages(
    session: requests.Session,
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: Timeout | None = DEFAULT_TIMEOUT,
    max_pages: int = 10_000,
) -> Iterator[dict[str, Any]]:
    """Request a listing and yield the JSON of each of its pages, the first included.

    Args:
        session: The session to send with (a :class:`~genesys_auth_adapter.GenesysSession` resolves
            relative paths against the API base URL).
        method: The HTTP method of the first request; ``nextUri`` links are followed with GET.
        path: The path or URL of the first page.
        params: Query parameters of the first request (and, with a cursor, of every request).
        json_body: The JSON body; for the details query, a copy is sent with ``paging`` advanced.
        headers: Extra headers for every request.
        timeout: The ``requests`` timeout of each request.
        max_pages: The most pages to yield; a listing that has more raises instead of looping on.

    Yields:
        Each page's JSON object, in order.

    Raises:
        ApiError: A page came back with a status outside 2xx.
        PaginationError: A page was not a JSON object, a ``nextUri`` pointed to another origin (scheme,
            host or port) than the first page's, a link, cursor or page number came back a second time
            (the listing loops), or the listing had more than ``max_pages`` pages.
        ValueError: ``max_pages`` is below 1.
    """
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    method = method.upper()
    is_query = method == "POST" and urlsplit(path).path.rstrip("/").endswith(DETAILS_QUERY_PATH)
    query = dict(params) if params is not None else None
    body = _with_paging(json_body) if is_query else copy.deepcopy(json_body)
    skipped = _skipped(body) if is_query else 0
    base_url = getattr(session, "base_url", None)
    mode: str | None = None
    origin = ""
    seen: set[str] = set()
    numbers: set[int] = set()
    cursors: set[str] = set()
    collected = 0
    url, send_method = path, method
    for number in range(1, max_pages + 2):
        if number > max_pages:
            raise PaginationError(
                f"{method} {without_query(path)} has more than max_pages={max_pages} pages; stopped there "
                "(pass a larger max_pages to read further)."
            )
        response = session.request(send_method, url, params=query, json=body, headers=headers, timeout=timeout)
        page = _page(response, send_method)
        sent = _sent_url(response)
        origin = origin or _origin(sent)
        seen.add(_canonical(sent))
        page_number = page.get("pageNumber")
        # A link that differs only in spelling (pageNumber=1 for a first page asked without it) is caught here.
        if mode in (None, _NEXT_URI) and isinstance(page_number, int) and not isinstance(page_number, bool):
            if page_number in numbers:
                raise _loop(method, path, number - 1, f"page number {page_number} again")
            numbers.add(page_number)
        yield page
        if mode is None:
            mode = _detect(page, is_query)
        if mode == _NEXT_URI:
            link = page.get("nextUri")
            if not isinstance(link, str) or not link:
                return
            url = _join(link, sent, base_url if isinstance(base_url, str) else None)
            if _origin(url) != origin:
                raise PaginationError(
                    f"{method} {without_query(path)}: page {number} links its next page to {_origin(url)}, another "
                    f"origin than the listing's ({origin}); stopped rather than follow it (the token does not go "
                    "there, and its items would not be this listing's)."
                )
            if _canonical(url) in seen:
                raise _loop(method, path, number, f"a nextUri already followed ({without_query(url)})")
            # The link carries the whole query, and it is a GET whatever the first request was.
            query, send_method, body = None, "GET", None
        elif mode == _CURSOR:
            cursor = page.get("cursor")
            if not isinstance(cursor, str) or not cursor:
                return
            if cursor in cursors:
                raise _loop(method, path, number, "a cursor already followed")
            cursors.add(cursor)
            query = {**(query or {}), "cursor": cursor}
        elif mode == _QUERY:
            found = len(items(page))
            collected += found
            total = page.get("totalHits")
            if found == 0 or (isinstance(total, int) and skipped + collected >= total):
                return
            body = _next_page(body)
        else:
            return


def _loop(method: str, path: str, number: int, what: str) -> PaginationError:
    return PaginationError(
        f"{method} {without_query(path)}: page {number} leads back to {what}; the listing loops, so it was "
        "stopped rather than repeat pages (the pages before were read)."
    )


def _detect(page: Mapping[str, Any], is_query: bool) -> str:
    if page.get("nextUri"):
        return _NEXT_URI
    if page.get("cursor"):
        return _CURSOR
    return _QUERY if is_query else _SINGLE


def _page(response: requests.Response, method: str) -> dict[str, Any]:
    raise_for_genesys(response)
    if not 200 <= response.status_code < 300:
        raise error_from_response(response)
    try:
        page = response.json()
    except ValueError as exc:
        raise PaginationError(
            f"{method} {without_query(response.url)} answered HTTP {response.status_code} without a JSON body, "
            "so it cannot be paged.",
            response=response,
        ) from exc
    if not isinstance(page, dict):
        raise PaginationError(
            f"{method} {without_query(response.url)} answered a JSON {type(page).__name__}, not an object, "
            "so it cannot be paged.",
            response=response,
        )
    return page


def _join(link: str, first_url: str, base_url: str | None) -> str:
    if urlsplit(link).scheme:
        return link
    # Genesys links are paths from the API root; a base URL with a path prefix (a gateway) keeps it.
    # "//host/..." names another host (a network-path reference), not a path.
    if base_url and link.startswith("/") and not link.startswith("//"):
        return base_url.rstrip("/") + link
    return urljoin(first_url, link)


def _with_paging(body: Any) -> Any:
    """A copy of a details query body with ``paging.pageSize`` and ``paging.pageNumber`` filled in."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return copy.deepcopy(body)  # not a query the server will accept; let it say so
    paging = body.get("paging")
    paging = dict(paging) if isinstance(paging, dict) else {}
    paging.setdefault("pageSize", DEFAULT_QUERY_PAGE_SIZE)
    paging.setdefault("pageNumber", 1)
    return {**copy.deepcopy(body), "paging": paging}


def _paging(body: Any) -> tuple[int, int]:
    paging = body.get("paging") if isinstance(body, dict) else None
    size = paging.get("pageSize") if isinstance(paging, dict) else None
    number = paging.get("pageNumber") if isinstance(paging, dict) else None
    if isinstance(size, int) and isinstance(number, int) and size > 0 and number > 0:
        return size, number
    raise PaginationError("A details query's paging.pageSize and paging.pageNumber must be positive integers.")


def _skipped(body: Any) -> int:
    """How many conversations come before the first page requested (a query may start past page 1)."""
    if not isinstance(body, dict):
        return 0
    size, number = _paging(body)
    return (number - 1) * size


def _next_page(body: Any) -> Any:
    _, number = _paging(body)
    return {**body, "paging": {**body["paging"], "pageNumber": number + 1}}


def _sent_url(response: requests.Response) -> str:
    """The URL the page was asked for: before any redirect, as requests sent it."""
    first = response.history[0] if response.history else response
    request = first.request
    return request.url if request is not None and request.url else response.url


def _canonical(url: str) -> str:
    """The URL as requests sends it, with its query parameters in order: one page, one spelling."""
    try:
        prepared = requests.Request("GET", url).prepare().url or url
    except requests.RequestException:
        prepared = url
    parts = urlsplit(prepared)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL, with the scheme's default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: no origin equals it
        port = None
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"
