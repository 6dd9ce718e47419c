"""``genesys-auth emulator``: run the local Genesys Cloud emulator in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from ..emulator import Emulator, serve_forever
from ..emulator.control import HELP as FAULTS_HELP
from .common import EXIT_FAILURE, EXIT_OK, UsageError, error

DESCRIPTION = """\
Serve a local emulator of Genesys Cloud (login, API and storage origins on 127.0.0.1) until Ctrl-C, and
print the export lines that point genesys-auth, or any script using this library, at it:

  genesys-auth emulator --skew 300 --token-lifetime 60
  genesys-auth emulator --grant pkce     # a PKCE client: then genesys-auth login
  # in another shell, after pasting the export lines:
  genesys-auth api /api/v2/users --paginate"""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``emulator`` subcommand."""
    parser = subcommands.add_parser(
        "emulator",
        help="run a local Genesys Cloud emulator in the foreground",
        description=DESCRIPTION,
        epilog=FAULTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="login on PORT, API on PORT+1, storage on PORT+2 (default: 0, three free ports)",
    )
    parser.add_argument(
        "--skew", type=float, default=0.0, metavar="SECONDS", help="server clock minus local clock (default: 0)"
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=86399,
        metavar="SECONDS",
        help="expires_in of issued tokens (default: 86399)",
    )
    parser.add_argument("--jwt", action="store_true", help="issue JWTs (iat/nbf/exp in server time), not opaque tokens")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=300,
        metavar="N",
        help="API requests per window per token before 429 (0: no limit; default: 300)",
    )
    parser.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="the window of every rate limit (default: 60, Genesys' minute; shorter for quick tests)",
    )
    parser.add_argument(
        "--endpoint-limit",
        action="append",
        default=[],
        type=_endpoint_limit,
        metavar="PREFIX=N",
        help="N requests per window for the whole org under PREFIX, e.g. /api/v2/analytics=60 (repeatable)",
    )
    parser.add_argument(
        "--grant",
        choices=("code", "pkce", "saml2"),
        default=None,
        help="print the variables of the user client of this grant (default: the client-credentials client)",
    )
    parser.add_argument(
        "--consent",
        choices=("auto", "form", "deny"),
        default="auto",
        help="how /oauth/authorize answers: consent at once (default), an Allow/Deny form, or deny",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="user tokens unused this long get 401 (default: idle expiry off)",
    )
    parser.set_defaults(run=run)


def _endpoint_limit(text: str) -> tuple[str, int]:
    prefix, equals, count = text.rpartition("=")
    if not equals or not count.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected PREFIX=N, e.g. /api/v2/analytics=60, not {text!r}")
    return prefix.strip(), int(count)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth emulator`` until Ctrl-C."""
    try:
        emu = Emulator(
            port=args.port,
            skew=args.skew,
            token_lifetime=args.token_lifetime,
            jwt=args.jwt,
            rate_limit=args.rate_limit,
            rate_window=args.rate_window,
            endpoint_limits=dict(args.endpoint_limit),
            consent=args.consent,
            idle_timeout=args.idle_timeout,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        with _terminate_as_interrupt():
            serve_forever(emu, sys.stdout, args.grant)
    except OSError as exc:
        error(f"cannot listen on 127.0.0.1 (port {args.port}): {exc.strerror or exc}")
        return EXIT_FAILURE
    return EXIT_OK


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (``kill``, ``docker stop``) like Ctrl-C, so that the emulator stops cleanly either way."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
