"""The ``genesys-auth`` command line (also ``python -m genesys_auth_adapter``).

Subcommands, one module each: ``api`` (a request, or a whole listing, printed as JSON, as the logged-in
user or the client: :mod:`.identity`), ``login`` and ``logout`` (a user's browser login), ``token`` (an
access token for shell pipelines), ``skew`` (this machine's clock against the servers'), ``emulator``
(the local emulator in the foreground), ``demo`` (the library against the emulator, under trouble) and
``completion`` (a bash, zsh or fish completion script).

Exit status: 0 success, 1 an HTTP, token or connection error, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import __version__
from . import api, completion, demo, emulator, login, logout, skew, token
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, report
from .progress import Progress, library_notes

__all__ = ["build_parser", "main"]

_LIBRARY_LOGGER = "genesys_auth_adapter"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``genesys-auth`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Genesys Cloud from the shell: authenticated API requests, tokens, clock skew, an emulator.",
        epilog="Settings come from the environment or a .env file: GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and "
        "GENESYS_REGION (or GENESYS_API_URL and GENESYS_LOGIN_URL). Try `genesys-auth demo`: it needs none.",
    )
    _add_global_options(parser, main=True)
    subcommands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subcommands.required = True
    for module in (api, login, logout, token, skew, emulator, demo, completion):
        module.register(subcommands)
    # Global options work after the subcommand too (`genesys-auth api /x -v`); argparse only reads an
    # option in the parser it was declared in, so each subcommand declares them again under its own dest.
    for subparser in subcommands.choices.values():
        _add_global_options(subparser, main=False)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, *, main: bool) -> None:
    group = parser if main else parser.add_argument_group("global options (also accepted before the command)")
    group.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose" if main else "sub_verbose",
        default=0,
        help="log the library's retries and refreshes on stderr (-vv: every token request too)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``genesys-auth`` with ``argv`` (``sys.argv[1:]`` by default) and return the exit status.

    Args:
        argv: The arguments, without the program name.

    Returns:
        0 on success, 1 for an HTTP, token or connection error, 2 for a usage or configuration error,
        130 after Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed them
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    args.verbose += getattr(args, "sub_verbose", 0)
    handler = _log_to_stderr(args.verbose)
    args.progress = Progress(sys.stderr)
    try:
        with library_notes(args.progress):
            status: int = args.run(args)
        return status
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): not an error of ours, and nothing left to say.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        return report(exc)
    finally:
        logging.getLogger(_LIBRARY_LOGGER).removeHandler(handler)


def _log_to_stderr(verbosity: int) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    if verbosity > 0:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
        logger = logging.getLogger(_LIBRARY_LOGGER)
        if logger.level == logging.NOTSET or logger.level > handler.level:
            logger.setLevel(handler.level)
    else:
        handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
        handler.setLevel(logging.WARNING)
    logging.getLogger(_LIBRARY_LOGGER).addHandler(handler)
    return handler


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at devnull so that flush cannot fail a second time.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
