"""``genesys-auth api PATH``: one authenticated request (or a whole listing), JSON on stdout.

The request is built here; :mod:`.fields` reads ``-f``/``-F``, :mod:`.output` prints, :mod:`.paging` pages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from ..errors import error_from_response, without_query
from . import common
from .common import EXIT_OK, REQUEST_TIMEOUT, UsageError
from .fields import parse_fields, with_query
from .output import output_to, write_head, write_response
from .paging import paginate
from .progress import progress_of

_NO_BODY = object()
#: The methods of the Genesys Cloud API (HEAD and OPTIONS too): any other is a typo, not a request to send.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
#: Methods whose -f/-F parameters go to the query string (they have no body), as with ``gh api -X GET``.
_QUERY_METHODS = frozenset({"GET", "HEAD"})
DESCRIPTION = """\
Send one request to the Genesys Cloud API with a token from the environment (GENESYS_CLIENT_ID,
GENESYS_CLIENT_SECRET, GENESYS_REGION or GENESYS_API_URL/GENESYS_LOGIN_URL, or a .env file) and print
the JSON answer. Expired or revoked tokens are replaced and rate limits waited out on the way.

Parameters (-f key=value, -F key=value, as in `gh api`) make it a POST with a JSON body; with -X GET
(or -d) they go to the query string instead. -F converts true, false, null and integers to JSON and reads
@FILE (@- for stdin) as text; key[sub]=v nests an object, key[]=v appends to an array (key[] alone: []).

examples:
  genesys-auth api /api/v2/organizations/me
  genesys-auth api /api/v2/users --paginate --jsonl
  genesys-auth api /api/v2/users -X GET -F pageSize=100 -f state=active -i
  genesys-auth api /api/v2/groups -f name=Support -F rulesVisible=true -f type=official
  genesys-auth api /api/v2/analytics/conversations/details/query -d @query.json --paginate
  echo '{"name": "x"}' | genesys-auth api /api/v2/groups -X POST -d @-
  genesys-auth api /api/v2/downloads/DOWNLOAD_ID --output recording.wav

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
    parser.add_argument(
        "-X",
        "--method",
        type=http_method,
        metavar="METHOD",
        help=f"the HTTP method, one of {', '.join(METHODS)} (default: GET, or POST with -d, -f or -F)",
    )
    parser.add_argument(
        "-d", "--data", metavar="JSON", help="a JSON request body: literal JSON, @FILE, or @- for stdin"
    )
    parser.add_argument(
        "-f",
        "--raw-field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a string parameter (repeatable): JSON body field, or query parameter with -X GET or -d",
    )
    parser.add_argument(
        "-F",
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a typed parameter (repeatable): true, false, null and integers become JSON, @FILE reads a file",
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
    parser.add_argument(
        "-i", "--include", action="store_true", help="print the status line and the response headers before the body"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the body to FILE instead of stdout (created only when the request succeeds); needed for a "
        "binary answer, such as a download, when stdout is a terminal",
    )
    common.add_store_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth api``."""
    check_options(args)
    body = read_body(args.data, sys.stdin) if args.data is not None else _NO_BODY
    params = parse_fields(args.raw_field, args.field, sys.stdin)
    headers = parse_headers(args.header)
    has_params = bool(args.raw_field or args.field)
    method = args.method or ("GET" if body is _NO_BODY and not has_params else "POST")
    path = _path(args.path)
    if has_params:
        if body is not _NO_BODY or method in _QUERY_METHODS:
            path = with_query(path, params)
        else:
            body = params
    json_body = None if body is _NO_BODY else body
    progress = progress_of(args)
    with common.api_session(args) as s:
        # The token first, on its own: a slow login service is then shown as what it is.
        login_url = getattr(s.genesys_auth.credentials, "login_url", None)
        with progress.waiting(f"waiting for a token from {login_url}" if login_url else "waiting for a token"):
            # Not token(): that verifies a stored token with a request of its own; here the request to
            # come does that (a 401 replaces the token).
            s.genesys_auth.manager.token()
        if args.paginate:
            with output_to(args.output) as out:
                paginate(s, method, path, json_body, headers, jsonl=args.jsonl, out=out, progress=progress)
            return EXIT_OK
        kwargs: dict[str, Any] = {} if body is _NO_BODY else {"json": json_body}
        with progress.waiting(f"{method} {without_query(path)}"):
            response = s.request(method, path, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)
        if args.include:
            write_head(response, sys.stdout)
        if response.status_code >= 400:
            raise error_from_response(response)
        with output_to(args.output) as out:
            write_response(response, jsonl=args.jsonl, out=out)
    return EXIT_OK


def check_options(args: argparse.Namespace) -> None:
    """Refuse combinations that cannot work, before any request.

    Raises:
        UsageError: ``-i`` with ``--paginate``, two options reading stdin, or ``--output`` in a missing directory.
    """
    if args.include and args.paginate:
        raise UsageError("-i prints one answer's headers and --paginate reads many pages: drop one of them")
    readers = [args.data == "@-"] + [field.partition("=")[2] == "@-" for field in args.field]
    if sum(readers) > 1:
        raise UsageError("only one of -d @- and -F key=@- can read stdin")
    if args.output is not None:
        directory = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(directory) or os.path.isdir(args.output):
            raise UsageError(f"cannot write --output {args.output!r}: give a file in a directory that exists")


def http_method(text: str) -> str:
    """An argparse ``type=`` for ``-X``: a method of the API (:data:`METHODS`), in any case.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not one of them (a typo would only get a 404 or 501 back).
    """
    method = text.upper()
    if method not in METHODS:
        raise argparse.ArgumentTypeError(f"not an HTTP method of the API: {text!r} (use {', '.join(METHODS)})")
    return method


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
