"""``genesys-auth logout``: revoke the logged-in user's token and forget the login."""

from __future__ import annotations

import argparse
import sys

from ..errors import LoginRequiredError
from ..login_config import login_client_from_env
from ..session import session
from ..stores import resolve_store
from ..stores.logins import forget_login, has_login
from .common import EXIT_OK, store_choice

DESCRIPTION = """\
Log out: the current access token of the stored login is revoked (DELETE /api/v2/tokens/me), then the
login is forgotten in the token store, so that no process sharing the store uses its refresh token again.
Run `genesys-auth login` to log in again.

exit status: 0 logged out (or no login was stored), 1 the revocation failed, 2 usage or configuration error."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``logout`` subcommand."""
    parser = subcommands.add_parser(
        "logout",
        help="revoke the logged-in user's token and forget the login",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth logout``."""
    client = login_client_from_env()
    spec = store_choice(args)
    store = resolve_store(spec)
    if store is None or not has_login(store, client):
        print(f"No login is stored for the OAuth client {client.client_id}: nothing to do.", file=sys.stderr)
        return EXIT_OK
    try:
        revoked: str | None = None
        try:
            with session(client, store=store) as s:
                token = s.genesys_auth.token()
                answer = s.delete("/api/v2/tokens/me")
                if answer.status_code not in (200, 202, 204, 401):
                    answer.raise_for_status()
                revoked = token.access_token
        except LoginRequiredError:
            pass  # nothing left to revoke: the login is forgotten all the same
        forget_login(store, client, revoked)
    finally:
        store.close()
    what = "the token was revoked and " if revoked else ""
    print(f"Logged out of {client.api_url}: {what}the login is forgotten.", file=sys.stderr)
    return EXIT_OK
