"""What each spawned process of the refresh fleet tests runs (importable by a fresh interpreter)."""

from __future__ import annotations

import threading
from typing import Any

import requests

from genesys_auth_adapter import CodeClient, GenesysAuth, attempts
from genesys_auth_adapter.stores import TokenStore
from genesys_auth_adapter.stores.file import FileTokenStore

#: The longest a child waits for its siblings or the parent (the parent fails the test then).
CHILD_WAIT = 60.0


def play_browser(url: str) -> None:
    """The browser of a login, played in a thread: the authorize URL, then the redirect it answers with."""

    def visit() -> None:
        with requests.Session() as browser:
            browser.trust_env = False
            answer = browser.get(url, allow_redirects=False, timeout=10)
            browser.get(answer.headers["Location"], timeout=10)

    threading.Thread(target=visit, daemon=True).start()


def open_store(kind: str, where: str, prefix: str) -> TokenStore:
    """The test's store, built in the child: a file store in ``where``, or Redis at ``where`` under ``prefix``."""
    if kind == "file":
        return FileTokenStore(where)
    from genesys_auth_adapter.stores.redis import RedisTokenStore

    return RedisTokenStore(where, prefix=prefix, read_timeout=5)


def call_twice_as_the_user(
    client: dict[str, str], store: tuple[str, str, str], url: str, ready: Any, go: Any, out: Any
) -> None:
    """One call with the stored login's token, then (once every process is ready and the parent has revoked
    every access token) a second one that meets the revocation: put both statuses and sends on ``out``."""
    auth = GenesysAuth(CodeClient(**client), store=open_store(*store))
    try:
        with requests.Session() as http:
            http.trust_env = False
            first = http.get(url, auth=auth, timeout=(5, 60))
            ready.wait(CHILD_WAIT)
            go.wait(CHILD_WAIT)
            second = http.get(url, auth=auth, timeout=(5, 60))
            out.put((first.status_code, second.status_code, attempts(second)))
    finally:
        auth.close()
