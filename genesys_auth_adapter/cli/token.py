"""``genesys-auth token``: print a fresh access token, for shell pipelines."""

from __future__ import annotations

import argparse
import sys

from ..stores import resolve_store
from ..transport.auth import GenesysAuth
from .common import EXIT_OK, add_store_option, store_choice
from .identity import configured_source
from .progress import progress_of

DESCRIPTION = """\
Print an access token (and nothing else): the logged-in user's when `genesys-auth login` has stored a
login for GENESYS_CLIENT_ID, else the OAuth client's own. For example:

  curl -H "Authorization: Bearer $(genesys-auth token)" https://api.mypurecloud.com/api/v2/organizations/me

The token is a secret: do not paste it into logs or tickets. Consecutive runs share one token through
this user's cache directory (or GENESYS_TOKEN_STORE); --renew replaces the stored token with a new one
(after a revocation), --no-store neither reads nor writes the store. --info shows where the token came
from and how long it has left, without printing it."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``token`` subcommand."""
    parser = subcommands.add_parser(
        "token",
        help="print a fresh access token",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--info",
        action="store_true",
        help="print where the token came from (the store or a login) and how long it has left, not the token",
    )
    parser.add_argument(
        "--renew",
        action="store_true",
        help="get a new token even if a stored one is still valid (after a revocation), and store it",
    )
    add_store_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth token``."""
    spec = store_choice(args)
    store = resolve_store(spec)
    try:
        credentials = configured_source(store)  # the stored login, else the client's own token
    finally:
        if store is not None:
            store.close()
    auth = GenesysAuth(credentials, store=spec)
    try:
        login_url = getattr(credentials, "login_url", credentials.api_url)
        with progress_of(args).waiting(f"waiting for a token from {login_url}"):
            # --renew: as after a 401, the stored entry goes if it still holds this token; one new token is
            # stored. Otherwise token() verifies a stored token first (never one dead on the server's clock).
            manager = auth.manager
            token = manager.rejected(manager.token().header) if args.renew else auth.token()
        left = token.remaining(auth.manager.clock.monotonic())
        source = auth.shared.source if auth.shared is not None else "login"
    finally:
        auth.close()
    if args.info:
        lines = [
            f"source:     {source}",
            f"expires in: {'unknown' if left is None else f'{left:.0f} s'}",
            f"store:      {auth.store!r}" if auth.store is not None else "store:      none (--no-store)",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        sys.stdout.write(token.access_token + "\n")
    sys.stdout.flush()
    return EXIT_OK
