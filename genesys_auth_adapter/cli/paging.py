"""``genesys-auth api --paginate``: every page of a listing, merged into one document or as JSON lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

import requests

from ..pagination import items, items_key, iter_pages
from .common import REQUEST_TIMEOUT, dumps
from .output import rows
from .progress import Progress

#: Navigation fields of a page: meaningless once every page is merged into one document.
_PAGE_FIELDS = frozenset(
    {"nextUri", "previousUri", "firstUri", "lastUri", "selfUri", "pageNumber", "pageSize", "pageCount", "cursor"}
)
#: iter_pages stops a listing at its own max_pages (10 000); this only bounds the loop in its own terms.
_MAX_PAGES = 10_001


def paginate(
    s: requests.Session,
    method: str,
    path: str,
    json_body: Any,
    headers: Mapping[str, str],
    *,
    jsonl: bool,
    out: TextIO,
    progress: Progress,
) -> None:
    """Fetch every page; print one merged document, or each item as a JSON line as pages arrive.

    On a terminal, stderr shows which page is being read and how many items came so far.
    """
    first: dict[str, Any] | None = None
    key: str | None = None
    merged: list[Any] = []
    count = 0
    pages = iter_pages(s, method, path, json_body=json_body, headers=headers, timeout=REQUEST_TIMEOUT)
    try:
        for number in range(1, _MAX_PAGES + 1):
            with progress.waiting(f"page {number}"):
                page = next(pages, None)
            if page is None:
                break
            first = page if first is None else first
            key = key or items_key(page)
            found = rows(page)
            count += len(found)
            if jsonl:
                for item in found:
                    print(dumps(item, pretty=False), file=out)
                out.flush()
            else:
                merged.extend(items(page))
            progress.status(_page_status(number, count, first))
    finally:
        progress.keep()
    if not jsonl and first is not None:
        print(dumps(merge(first, key, merged), pretty=True), file=out)


def _page_status(number: int, count: int, first: Mapping[str, Any]) -> str:
    """``page 3 of 6``, or with the details query ``page 3, 150 of 420 items``."""
    pages, hits = first.get("pageCount"), first.get("totalHits")
    if isinstance(pages, int) and pages > 0:
        return f"page {number} of {pages}"
    if isinstance(hits, int):
        return f"page {number}, {count} of {hits} items"
    return f"page {number}, {count} items"


def merge(first: Mapping[str, Any], key: str | None, found: list[Any]) -> dict[str, Any]:
    """The first page's shape with every page's items: ``{"entities": [...all...], "total": N}``.

    Navigation fields (``nextUri``, ``pageNumber``, ``cursor``...) are dropped: they describe one page.
    """
    if key is None:
        return dict(first)
    document = {name: value for name, value in first.items() if name not in _PAGE_FIELDS}
    document[key] = found
    # An empty first page may lack the key, then it goes first, where Genesys puts it.
    if list(document)[-1] == key and key not in first:
        document = {key: found, **{name: value for name, value in document.items() if name != key}}
    return document
