"""Worker processes for the fleet tests (importable by spawned interpreters)."""

from __future__ import annotations

import hashlib
from typing import Any

from genesys_auth_adapter import from_env, session

ME = "/api/v2/organizations/me"


def fingerprint(header: str) -> str:
    """A digest of the Authorization header: enough to compare tokens, nothing to leak."""
    return hashlib.sha256(header.encode()).hexdigest()[:16]


def build_store(store: Any) -> Any:
    """A store spec for ``session(store=...)``: a string as it is, ("redis", url, prefix) as a RedisTokenStore."""
    if isinstance(store, tuple):
        from genesys_auth_adapter.stores.redis import RedisTokenStore

        _, url, prefix = store
        return RedisTokenStore(url, prefix=prefix)
    return store


def fleet_member(env: dict[str, str], store: Any, start: Any, go_again: Any, results: Any) -> None:
    """GET once at the barrier, then once more when told (after a revocation); report each token used."""
    try:
        with session(from_env(env, use_dotenv=False), store=build_store(store), timeout=(5.0, 15.0)) as s:
            start.wait(30)
            first = s.get(ME)
            results.put(("first", first.status_code, fingerprint(first.request.headers["Authorization"])))
            if go_again.wait(30):
                second = s.get(ME)
                results.put(("second", second.status_code, fingerprint(second.request.headers["Authorization"])))
    except BaseException as exc:  # report, do not hang the test
        results.put(("error", 0, repr(exc)))


def lone_get(env: dict[str, str], store: Any, results: Any) -> None:
    """One GET through the store; its status and token."""
    try:
        with session(from_env(env, use_dotenv=False), store=store, timeout=(5.0, 15.0), wait_timeout=20.0) as s:
            response = s.get(ME)
            results.put((response.status_code, fingerprint(response.request.headers["Authorization"])))
    except BaseException as exc:
        results.put((0, repr(exc)))


def paced_member(
    env: dict[str, str],
    store: Any,
    policy: Any,
    threads: int,
    seconds: float,
    start: Any,
    results: Any,
    pool: int = 1,
) -> None:
    """``threads`` threads GET back to back for ``seconds`` once every process is at the barrier; their statuses
    and the fingerprints of the tokens they sent."""
    import threading
    import time

    from genesys_auth_adapter import RetryPolicy

    statuses: list[int] = []
    prints: set[str] = set()
    try:
        retry = RetryPolicy(max_attempts=1)
        store = build_store(store)
        with session(from_env(env, use_dotenv=False), store=store, pacing=policy, retry=retry, token_pool=pool) as s:
            s.get(ME)  # the token (shared), before the clock starts
            start.wait(30)
            end = time.monotonic() + seconds

            def loop() -> None:
                while time.monotonic() < end:
                    response = s.get(ME)
                    statuses.append(response.status_code)
                    prints.add(fingerprint(response.request.headers["Authorization"]))

            workers = [threading.Thread(target=loop) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(seconds + 30)
        results.put(("ok", statuses, sorted(prints)))
    except BaseException as exc:  # report, do not hang the test
        results.put(("error", repr(exc), []))
