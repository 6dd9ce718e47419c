"""Functions run in other processes (pool workers, forked children); importable by spawned interpreters."""

from __future__ import annotations

from typing import Any

import requests

from genesys_auth_adapter import GenesysSession, RetryPolicy, from_env, raise_for_genesys, session


def fetch_roles(env: dict[str, str]) -> int:
    """One 403 from the emulator, raised as ``ApiError`` in the worker."""
    with session(from_env(env, use_dotenv=False)) as s:
        raise_for_genesys(s.get("/api/v2/authorization/roles"))
    return 0


def fetch_until_exhausted(env: dict[str, str]) -> int:
    """Two attempts against persistent 503s: ``RetryExhaustedError`` in the worker."""
    with session(from_env(env, use_dotenv=False), retry=RetryPolicy(max_attempts=2, backoff=0.01)) as s:
        return s.get("/api/v2/organizations/me").status_code


def use_session(s: GenesysSession) -> dict[str, Any]:
    """A session that arrived by pickle: relative paths still work and a token is fetched here."""
    response = s.get("/api/v2/organizations/me")
    return {"status": response.status_code, "base_url": s.base_url, "url": response.url}


def use_auth(auth: Any, url: str) -> int:
    """An auth object that arrived by pickle, used as ``auth=`` on a one-off call."""
    return requests.get(url, auth=auth, timeout=15).status_code
