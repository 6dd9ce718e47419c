"""What the subcommands share: exit codes, error reporting, the session, and output helpers."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TextIO, TypeVar

import requests

from ..causes import root_cause
from ..config import token_store_setting
from ..errors import ApiError, ConfigurationError, GenesysError, without_query
from ..session import DEFAULT_TIMEOUT, GenesysSession, session
from ..stores import resolve_store

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PROG = "genesys-auth"

N = TypeVar("N", int, float)
#: Connect and read timeout of every request the command line makes.
REQUEST_TIMEOUT = DEFAULT_TIMEOUT


class UsageError(Exception):
    """The command line was well-formed for argparse but cannot be acted on (bad JSON, a missing file)."""


#: The ``type=`` functions :func:`bounded` made: their values are numbers, never file names to complete.
NUMBER_TYPES: weakref.WeakSet[Callable[[str], Any]] = weakref.WeakSet()


def bounded(kind: Callable[[str], N], low: N, high: N, what: str) -> Callable[[str], N]:
    """An argparse ``type=`` that parses with ``kind`` and accepts ``low`` to ``high`` only."""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}")
        return value

    NUMBER_TYPES.add(parse)
    return parse


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--no-store``: the command line shares tokens through the file store unless told not to."""
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not reuse the token of earlier runs (by default tokens are kept in this user's cache "
        "directory, or where GENESYS_TOKEN_STORE says, and shared by consecutive runs)",
    )


def store_choice(args: argparse.Namespace) -> str:
    """The token store of a command: none with ``--no-store``, else GENESYS_TOKEN_STORE, else the file store."""
    if getattr(args, "no_store", False):
        return "none"
    setting = token_store_setting()
    return setting if setting is not None else "file"


def api_session(args: argparse.Namespace | None = None) -> GenesysSession:
    """A session configured from the environment and the working directory's ``.env`` file, acting as the
    logged-in user when the token store holds a login for the configured client (see :mod:`.identity`).

    Closing it also closes the private session its token requests go through.

    Raises:
        ConfigurationError: Settings are missing or invalid.
    """
    from .identity import configured_source  # the user grants import the browser login: only when needed

    spec = store_choice(args) if args is not None else "none"
    store = resolve_store(spec)
    try:
        source = configured_source(store)
    finally:
        if store is not None:
            store.close()
    return session(source, store=spec)


def error(message: str, err: TextIO | None = None) -> None:
    """Print ``genesys-auth: message`` on stderr."""
    print(f"{PROG}: {message}", file=err if err is not None else sys.stderr)


def report(exc: BaseException, err: TextIO | None = None) -> int:
    """Print what went wrong and return the exit code for it.

    Args:
        exc: The exception that ended the command.
        err: Where to print; stderr by default.

    Returns:
        2 for usage and configuration errors, 1 for HTTP, token, retry and connection errors.

    Raises:
        BaseException: ``exc`` itself, when it is none of those (a bug: let the traceback show).
    """
    out = err if err is not None else sys.stderr
    if isinstance(exc, (UsageError, ConfigurationError)):
        error(str(exc), out)
        return EXIT_USAGE
    if isinstance(exc, ApiError):
        _report_api_error(exc, out)
        return EXIT_FAILURE
    if isinstance(exc, GenesysError):
        error(str(exc), out)
        return EXIT_FAILURE
    if isinstance(exc, requests.RequestException):
        request = exc.request
        where = f" ({request.method} {without_query(request.url)})" if request is not None else ""
        # requests' own message quotes the URL, query string included: the root cause says it safely.
        error(f"request failed{where}: {type(exc).__name__}: {root_cause(exc)}", out)
        return EXIT_FAILURE
    raise exc


def _report_api_error(exc: ApiError, out: TextIO) -> None:
    request = getattr(exc.response, "request", None)
    what = f"{request.method} {without_query(request.url)}: " if request is not None else ""
    error(f"{what}HTTP {exc.status}" + (f" {exc.code}" if exc.code else ""), out)
    fields = [
        ("message", exc.message),
        ("code", exc.code),
        ("status", str(exc.status)),
        ("correlation id", exc.correlation_id),
    ]
    for detail in exc.details:
        text = ", ".join(f"{key}={value}" for key, value in detail.items() if value)
        fields.append(("detail", text or None))
    for label, value in fields:
        if value:
            print(f"  {label + ':':<16}{value}", file=out)


def dumps(value: Any, *, pretty: bool) -> str:
    """JSON text: indented for people, one line for JSON lines."""
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (progress goes only there)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def quiet(logger_name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raise a library logger's level for the duration of a command that reports the same thing itself."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
