"""What ``genesys-auth api`` prints: a body as JSON, JSON lines or bytes, ``-i``'s head, and ``--output`` files."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any, TextIO

import requests

from ..pagination import items, items_key
from . import common
from .common import UsageError, dumps

#: Fields that make a page a listing page even when its items key is absent (Genesys drops empty lists).
_LISTING_FIELDS = frozenset({"total", "totalHits", "pageCount", "nextUri", "cursor", "dataAvailabilityDate"})
#: The HTTP version of a response's status line for ``-i``, by urllib3's number.
_VERSIONS = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}


@contextlib.contextmanager
def output_to(path: str | None) -> Iterator[TextIO]:
    """stdout, or a new file that replaces ``path`` only when the block ends without an error.

    The file is written next to ``path`` under a temporary name (created readable by this user only, as a
    download may be private) and renamed at the end, so a failed request leaves no partial file behind.
    """
    if path is None:
        yield sys.stdout
        return
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=".genesys-auth-", suffix=".part", dir=os.path.dirname(os.path.abspath(path))
        )
    except OSError as exc:
        raise UsageError(f"cannot write --output {path!r}: {exc.strerror or exc}") from exc
    try:
        with open(fd, "w", encoding="utf-8") as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_head(response: requests.Response, out: TextIO) -> None:
    """``-i``: the status line and the headers as received, then a blank line."""
    version = _VERSIONS.get(getattr(response.raw, "version", 11), "HTTP/1.1")
    print(f"{version} {response.status_code} {response.reason or ''}".rstrip(), file=out)
    for name, value in response.headers.items():
        print(f"{name}: {value}", file=out)
    print(file=out)
    out.flush()


def is_binary(content: bytes) -> bool:
    """Whether a body would garble a terminal: a NUL byte, or not UTF-8 text."""
    if b"\x00" in content:
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def write_response(response: requests.Response, *, jsonl: bool, out: TextIO) -> None:
    """Print a response body: JSON pretty-printed (or as JSON lines), anything else as it came.

    Raises:
        UsageError: The body is binary and ``out`` is a terminal.
    """
    content = response.content
    if not content:
        return
    try:
        document = json.loads(content)
    except ValueError:
        # Not JSON (a download, an HTML error page): pass the bytes through untouched.
        if common.is_tty(out) and is_binary(content):
            kind = response.headers.get("Content-Type") or "no Content-Type"
            raise UsageError(
                f"the answer is binary ({len(content)} bytes, {kind}) and stdout is a terminal: "
                "write it to a file with --output FILE, or redirect stdout (> FILE)"
            ) from None
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
