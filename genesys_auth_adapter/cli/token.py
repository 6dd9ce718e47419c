"""``genesys-auth token``: print a fresh access token, for shell pipelines."""

from __future__ import annotations

import argparse
import sys

from ..config import from_env
from ..transport.auth import GenesysAuth
from .common import EXIT_OK

DESCRIPTION = """\
Print an access token for the configured OAuth client (and nothing else), for example:

  curl -H "Authorization: Bearer $(genesys-auth token)" https://api.mypurecloud.com/api/v2/users/me

The token is a secret: do not paste it into logs or tickets."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``token`` subcommand."""
    parser = subcommands.add_parser(
        "token",
        help="print a fresh access token",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth token``."""
    auth = GenesysAuth(from_env())
    try:
        access_token = auth.token().access_token
    finally:
        auth.close()
    sys.stdout.write(access_token + "\n")
    sys.stdout.flush()
    return EXIT_OK
