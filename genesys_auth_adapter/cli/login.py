"""``genesys-auth login``: log a user in with the browser (PKCE, or a code client with its secret)."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigurationError, GenesysError
from ..grants import DEFAULT_LOGIN_TIMEOUT, login_with_browser
from ..login_config import login_client_from_env
from ..session import session
from ..stores import resolve_store
from ..stores.logins import save_login
from .common import EXIT_OK, bounded, store_choice

DESCRIPTION = """\
Log in as a user of Genesys Cloud: the browser opens the Genesys Cloud login page, and once you have
logged in, the login is kept in the token store (this user's cache directory, or GENESYS_TOKEN_STORE),
where `genesys-auth api` and every program sharing the store use it. Its refresh token is rotated there,
one process at a time.

The OAuth client is GENESYS_CLIENT_ID: a PKCE client (no secret), or a code client with
GENESYS_CLIENT_SECRET (GENESYS_GRANT=pkce or code says which when both could be meant). Register the
redirect URI http://127.0.0.1 (no port: any port is then accepted) for the client in Genesys Cloud, or set
GENESYS_REDIRECT_URI to the one you registered.

examples:
  genesys-auth login
  genesys-auth login --no-browser          # open the printed address in a browser yourself
  genesys-auth login --port 7788           # when the redirect URI is registered with that port

exit status: 0 logged in, 1 the login failed or timed out, 2 usage or configuration error."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``login`` subcommand."""
    parser = subcommands.add_parser(
        "login",
        help="log in as a user with the browser (PKCE or a code client)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser: print the login address on stderr and wait for the redirect",
    )
    parser.add_argument(
        "--port",
        type=bounded(int, 1, 65535, "a port number"),
        metavar="N",
        help="listen for the redirect on 127.0.0.1:N (default: the registered redirect URI's port, else any)",
    )
    parser.add_argument(
        "--timeout",
        type=bounded(float, 1.0, 3600.0, "a number of seconds"),
        default=DEFAULT_LOGIN_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the browser (default {DEFAULT_LOGIN_TIMEOUT:g})",
    )
    parser.set_defaults(run=run)


def _show(no_browser: bool) -> object:
    def show(url: str) -> None:
        if no_browser:
            print(f"Open this address in a browser and log in:\n\n  {url}\n", file=sys.stderr, flush=True)
        else:
            print(f"Opening the login in your browser. If none opens, open:\n\n  {url}\n", file=sys.stderr, flush=True)
        print("Waiting for the login to finish (Ctrl-C to cancel)...", file=sys.stderr, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth login``."""
    client = login_client_from_env()
    spec = store_choice(args)
    store = resolve_store(spec)
    if store is None:
        raise ConfigurationError(
            "A login is kept in a token store, and GENESYS_TOKEN_STORE=none keeps none: unset it (this user's "
            "cache directory is used) or name a store ('file', 'file:/dir' or a Redis URL)."
        )
    try:
        login = login_with_browser(
            client,
            open_browser=not args.no_browser,
            port=args.port,
            timeout=args.timeout,
            show_url=_show(args.no_browser),  # type: ignore[arg-type]
        )
        save_login(store, login)
        who = _who(login, spec)
    finally:
        store.close()
    print(f"Logged in to {client.api_url}{who}; the login is kept in {store!r}.", file=sys.stderr)
    return EXIT_OK


def _who(login: object, store: str) -> str:
    """`` as NAME (EMAIL)`` from ``GET /api/v2/users/me``, or "" when that cannot be read."""
    try:
        with session(login, store=store) as s:  # type: ignore[arg-type]
            me = s.get("/api/v2/users/me")
            body = me.json() if me.status_code == 200 else {}
    except (GenesysError, ValueError):
        return ""
    name, email = body.get("name"), body.get("email")
    return f" as {name}" + (f" ({email})" if email else "") if name else ""
