"""``genesys-auth api PATH``: one authenticated request (or a whole listing), JSON on stdout."""

from __future__ import annotations

import argparse
import json
import string
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import requests

from ..errors import error_from_response, without_query
from ..pagination import items, items_key, iter_pages
from . import common
from .common import EXIT_OK, REQUEST_TIMEOUT, UsageError, dumps
from .progress import Progress, progress_of

#: Navigation fields of a page: meaningless once every page is merged into one document.
_PAGE_FIELDS = frozenset(
    {"nextUri", "previousUri", "firstUri", "lastUri", "selfUri", "pageNumber", "pageSize", "pageCount", "cursor"}
)
#: Fields that make a page a listing page even when its items key is absent (Genesys drops empty lists).
_LISTING_FIELDS = frozenset({"total", "totalHits", "pageCount", "nextUri", "cursor", "dataAvailabilityDate"})
_NO_BODY = object()
#: iter_pages stops a listing at its own max_pages (10 000); this only bounds the loop in its own terms.
_MAX_PAGES = 10_001
#: The characters of an HTTP token (RFC 9110, section 5.6.2), which a method is.
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")

DESCRIPTION = """\
Send one request to the Genesys Cloud API with a token from the environment (GENESYS_CLIENT_ID,
GENESYS_CLIENT_SECRET, GENESYS_REGION or GENESYS_API_URL/GENESYS_LOGIN_URL, or a .env file) and print
the JSON answer. Expired or revoked tokens are replaced and rate limits waited out on the way.

examples:
  genesys-auth api /api/v2/organizations/me
  genesys-auth api /api/v2/users --paginate --jsonl
  genesys-auth api /api/v2/analytics/conversations/details/query -d @query.json --paginate
  echo '{"name": "x"}' | genesys-auth api /api/v2/groups -X POST -d @-

exit status: 0 success, 1 HTTP or token error (details on stderr), 2 usage or configuration error."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``api`` subcommand."""
    parser = subcommands.add_parser(
        "api",
        help="send an authenticated API request and print the JSON answer",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="a path under the API base URL, such as /api/v2/users")
    parser.add_argument("-X", "--method", type=http_method, help="the HTTP method (default: GET, or POST with -d)")
    parser.add_argument(
        "-d", "--data", metavar="JSON", help="a JSON request body: literal JSON, @FILE, or @- for stdin"
    )
    parser.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="an extra request header (repeatable)",
    )
    parser.add_argument(
        "--paginate",
        action="store_true",
        help="fetch every page (nextUri, cursor, or the details query's paging) and merge the items",
    )
    parser.add_argument("--jsonl", action="store_true", help="print one item per line instead of one document")
    common.add_store_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth api``."""
    body = read_body(args.data, sys.stdin) if args.data is not None else _NO_BODY
    headers = parse_headers(args.header)
    method = (args.method or ("GET" if body is _NO_BODY else "POST")).upper()
    path = _path(args.path)
    json_body = None if body is _NO_BODY else body
    out = sys.stdout
    progress = progress_of(args)
    with common.api_session(args) as s:
        # The token first, on its own: a slow login service is then shown as what it is.
        login_url = getattr(s.genesys_auth.credentials, "login_url", None)
        with progress.waiting(f"waiting for a token from {login_url}" if login_url else "waiting for a token"):
            # Not token(): that verifies a stored token with a request of its own; here the request to
            # come does that (a 401 replaces the token).
            s.genesys_auth.manager.token()
        if args.paginate:
            paginate(s, method, path, json_body, headers, jsonl=args.jsonl, out=out, progress=progress)
            return EXIT_OK
        kwargs: dict[str, Any] = {} if body is _NO_BODY else {"json": json_body}
        with progress.waiting(f"{method} {without_query(path)}"):
            response = s.request(method, path, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        write_response(response, jsonl=args.jsonl, out=out)
    return EXIT_OK


def http_method(text: str) -> str:
    """An argparse ``type=`` for ``-X``: an HTTP method is a token (RFC 9110), upper-cased here.

    Raises:
        argparse.ArgumentTypeError: ``text`` is empty or has a space, a control or a separator character.
    """
    if not text or any(c not in _TOKEN_CHARS for c in text):
        raise argparse.ArgumentTypeError(
            f"not an HTTP method: {text!r} (letters, digits and !#$%&'*+-.^_`|~ only, no spaces; e.g. GET, POST)"
        )
    return text.upper()


def read_body(value: str, stdin: TextIO) -> Any:
    """Parse ``-d``: literal JSON, ``@file`` or ``@-`` (stdin).

    Raises:
        UsageError: The file cannot be read or the text is not JSON.
    """
    if value.startswith("@"):
        source = value[1:]
        if source == "-":
            text, where = stdin.read(), "stdin"
        else:
            try:
                with open(source, encoding="utf-8") as file:
                    text = file.read()
            except OSError as exc:
                raise UsageError(f"cannot read the -d file {source!r}: {exc.strerror or exc}") from exc
            where = source
    else:
        text, where = value, "the -d argument"
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}") from exc


def parse_headers(values: Iterable[str]) -> dict[str, str]:
    """Parse ``-H 'Name: value'`` options.

    Raises:
        UsageError: A value has no colon or no name.
    """
    headers: dict[str, str] = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError(f"-H needs 'Name: value', got {value!r}")
        headers[name.strip()] = content.strip()
    return headers


def _path(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return path if path.startswith("/") else "/" + path


def write_response(response: requests.Response, *, jsonl: bool, out: TextIO) -> None:
    """Print a response body: JSON pretty-printed (or as JSON lines), anything else as it came."""
    content = response.content
    if not content:
        return
    try:
        document = json.loads(content)
    except ValueError:
        # Not JSON (a download, an HTML error page): pass the bytes through untouched.
        binary = getattr(out, "buffer", None)
        out.flush()
        if binary is not None:
            binary.write(content)
            binary.flush()
        else:
            out.write(response.text)
        return
    if not jsonl:
        print(dumps(document, pretty=True), file=out)
        return
    for row in rows(document):
        print(dumps(row, pretty=False), file=out)


def rows(document: Any) -> list[Any]:
    """What ``--jsonl`` prints of one document: a list's elements, a listing page's items, else itself.

    A details query page with no hits has no ``conversations`` key at all, so a page counts as a
    listing by its paging fields too.
    """
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and (items_key(document) is not None or _LISTING_FIELDS & document.keys()):
        return items(document)
    return [document]


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
