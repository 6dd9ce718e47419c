"""``genesys-auth demo``: the library against an emulator with a skewed clock, short tokens and trouble.

It runs in three phases: listings (paged users, a details query over all its pages, a download through
the storage redirect); a steady state of 16 threads doing GETs while every token is revoked and a burst
of 429s is injected; and the listings once more. Then it prints what the emulator counted next to what
the workload saw: every 401 and 429 should have been absorbed by the library.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import requests

from ..config import from_env
from ..emulator import Emulator
from ..engine.skew import OffsetEstimate
from ..errors import ApiError, error_from_response
from ..pagination import items, iter_pages
from ..session import GenesysSession, session
from . import common
from .common import EXIT_FAILURE, EXIT_OK, REQUEST_TIMEOUT
from .progress import Progress, progress_of

INJECTED_SKEW = 437.0
TOKEN_LIFETIME = 4
THREADS = 16
#: Seconds between two requests of one thread: about 45 requests a second in all, far below the
#: emulator's 300 per minute per token since no token lives longer than 4 seconds.
PACE = 0.35
BURST = 20
#: The estimated offset must be this close to the injected skew, in seconds.
MAX_OFFSET_ERROR = 2.0
QUERY = "/api/v2/analytics/conversations/details/query"
QUERY_INTERVAL = "2024-03-01T00:00:00.000Z/2024-03-04T00:00:00.000Z"
DOWNLOAD_ID = "demo-recording"
# When, as a fraction of the steady state, the trouble starts.
REVOKE_AT, BURST_AT = 0.3, 0.55
_MAX_REQUESTS_PER_THREAD = 10_000
# Past the steady state, how long the workers may take to finish their last request (retries included).
_GRACE = 90.0
_LABEL = 18
_MAX_LISTED = 10

DESCRIPTION = f"""\
Start a local emulator whose clock is {INJECTED_SKEW:+.0f} s off and whose tokens live {TOKEN_LIFETIME} s, run a
realistic workload through the library (paged users, a details query, {THREADS} threads, a download through the
storage redirect) while every token is revoked and a burst of rate limiting hits, and report what happened.
Needs no credentials and no network. Exits 0 when the workload saw no failure, the estimated clock offset is
within {MAX_OFFSET_ERROR:.0f} s of the truth, and no token reached the storage origin."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    parser = subcommands.add_parser(
        "demo",
        help="run a workload against a local emulator with clock skew, revocation and rate limits",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--seconds",
        type=common.bounded(float, 1.0, 3600.0, "a number"),
        default=20.0,
        metavar="S",
        help="length of the concurrent phase; the whole run takes a second or two more (default: 20)",
    )
    parser.set_defaults(run=run)


@dataclass
class Tally:
    """What the workload sent and every failure it saw; shared by the threads."""

    requests: int = 0
    failures: list[str] = field(default_factory=list)
    failed_statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sent(self, n: int = 1) -> None:
        with self.lock:
            self.requests += n

    def failed(self, what: str, detail: str, status: int | None = None) -> None:
        with self.lock:
            self.failures.append(f"{what}: {detail}")
            if status is not None:
                self.failed_statuses[status] += 1


@dataclass(frozen=True)
class Outcome:
    """The numbers of one run, for the report."""

    seconds: float
    elapsed: float
    counters: dict[str, Any]
    tally: Tally
    estimate: OffsetEstimate | None
    download: str
    revoke_at: float
    burst_at: float

    @property
    def offset_error(self) -> float | None:
        return None if self.estimate is None else self.estimate.offset - INJECTED_SKEW

    @property
    def passed(self) -> bool:
        error = self.offset_error
        return (
            not self.tally.failures
            and error is not None
            and abs(error) <= MAX_OFFSET_ERROR
            and self.counters["storage_authorization_headers"] == 0
        )


class Workload:
    """The requests of the demo, each one counted and checked; nothing here raises on a failed request.

    Args:
        s: The session under test.
        tally: Where requests and failures are counted.
        storage_url: The storage origin, where the download must end up.
    """

    def __init__(self, s: GenesysSession, tally: Tally, storage_url: str) -> None:
        self.s = s
        self.tally = tally
        self.storage_url = storage_url

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        """Send one request; a non-2xx answer or an exception is recorded as a failure."""
        self.tally.sent()
        what = f"{method} {path}"
        try:
            response = self.s.request(method, path, timeout=REQUEST_TIMEOUT, **kwargs)
        except requests.RequestException as exc:  # the library's errors never carry a token
            self.tally.failed(what, f"{type(exc).__name__}: {exc}")
            return None
        if not 200 <= response.status_code < 300:
            self.tally.failed(what, str(error_from_response(response)), response.status_code)
            return None
        return response

    def listing(self, what: str, method: str, path: str, **kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
        """Every item of a paged listing, and its first page; records a failure and returns what it got."""
        found: list[Any] = []
        first: dict[str, Any] = {}
        try:
            for page in iter_pages(self.s, method, path, timeout=REQUEST_TIMEOUT, **kwargs):
                self.tally.sent()
                first = first or page
                found.extend(items(page))
        except ApiError as exc:
            self.tally.sent()
            self.tally.failed(what, str(exc), exc.status)
        except requests.RequestException as exc:
            self.tally.sent()
            self.tally.failed(what, f"{type(exc).__name__}: {exc}")
        return found, first

    def users(self) -> list[str]:
        """All users, ten a page; returns their ids."""
        found, first = self.listing("paged users", "GET", "/api/v2/users", params={"pageSize": 10})
        if first and len(found) != first.get("total"):
            self.tally.failed("paged users", f"got {len(found)} users, the listing says {first.get('total')}")
        return [user["id"] for user in found if isinstance(user, dict) and "id" in user]

    def details_query(self) -> int:
        """A details query over every page, 50 conversations a page; returns how many were read."""
        body = {"interval": QUERY_INTERVAL, "order": "asc", "paging": {"pageSize": 50}}
        found, first = self.listing("details query", "POST", QUERY, json_body=body)
        if first and len(found) != first.get("totalHits"):
            self.tally.failed("details query", f"got {len(found)} conversations of {first.get('totalHits')}")
        return len(found)

    def download(self) -> str:
        """A download through the API's redirect to the storage origin; returns a one-line result."""
        response = self.request("GET", f"/api/v2/downloads/{DOWNLOAD_ID}")
        if response is None:
            return "failed (see failures)"
        hops = [r.status_code for r in response.history]
        if not hops or not response.url.startswith(self.storage_url + "/"):
            self.tally.failed("download", f"expected a redirect to the storage origin, got {hops} to elsewhere")
            return "failed: no redirect to the storage origin"
        return f"ok: {len(response.content)} bytes from the storage origin after a {hops[0]} redirect"

    def worker(self, index: int, routes: list[str], deadline: float, stop: threading.Event) -> int:
        """One thread of the steady state: paced GETs until the deadline; returns how many it sent."""
        sent = 0
        stop.wait(PACE * index / THREADS)  # spread the threads over one pace interval
        while sent < _MAX_REQUESTS_PER_THREAD and not stop.is_set() and time.monotonic() < deadline:
            self.request("GET", routes[(index + sent) % len(routes)])
            sent += 1
            stop.wait(PACE)
        return sent


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth demo``."""
    verbose = getattr(args, "verbose", 0) > 0
    seconds: float = args.seconds
    with contextlib.ExitStack() as stack:
        # The emulator's request log would drown the library's lines; the skew is injected on purpose, so
        # the library's warning about it says nothing the report does not.
        stack.enter_context(common.quiet("genesys_auth_adapter.emulator", logging.WARNING))
        if not verbose:
            stack.enter_context(common.quiet("genesys_auth_adapter.skew"))
        outcome = run_demo(seconds, progress_of(args))
    print("\n".join(report(outcome)))
    sys.stdout.flush()
    return EXIT_OK if outcome.passed else EXIT_FAILURE


def run_demo(seconds: float, progress: Progress) -> Outcome:
    """Start the emulator, run the three phases, and collect the numbers; progress goes to ``progress``."""
    started = time.monotonic()
    tally = Tally()
    with Emulator(skew=INJECTED_SKEW, token_lifetime=TOKEN_LIFETIME) as emu:
        progress.line(
            f"{common.PROG} demo: emulator at {emu.api_url} (server clock {INJECTED_SKEW:+.0f} s, tokens live "
            f"{TOKEN_LIFETIME} s); running for about {seconds + 1.5:.0f} s..."
        )
        # Its 429s are injected faults with Retry-After: 1, not a rate limit: pacing would take them for
        # one (a budget learned from the count of the last minute) and slow the rest of the tour.
        with session(from_env(emu.env(), use_dotenv=False), pool_maxsize=THREADS, pacing=False) as s:
            work = Workload(s, tally, emu.storage_url)
            progress.line(
                "phase 1 of 3: listings (paged users, a details query, a download through the storage redirect)"
            )
            with progress.live(lambda: "phase 1: " + _counts(tally, emu.counters())):
                user_ids = work.users()
                work.details_query()
                download = work.download()
            progress.line(f"phase 2 of 3: {THREADS} threads for {seconds:g} s, with a revocation and a burst of 429s")
            _steady_state(work, emu, user_ids, seconds, progress)
            progress.line("phase 3 of 3: the listings again")
            with progress.live(lambda: "phase 3: " + _counts(tally, emu.counters())):
                work.users()
                work.details_query()
            estimate = s.genesys_auth.clock_offset
            progress.clear()
            progress.line("done: " + _counts(tally, emu.counters()))
        counters = emu.counters()
    return Outcome(
        seconds=seconds,
        elapsed=time.monotonic() - started,
        counters=counters,
        tally=tally,
        estimate=estimate,
        download=download,
        revoke_at=REVOKE_AT * seconds,
        burst_at=BURST_AT * seconds,
    )


def _counts(tally: Tally, counters: dict[str, Any]) -> str:
    """The numbers so far, for the progress line: what the workload sent and saw, what the emulator counted."""
    return (
        f"{tally.requests} requests, {len(tally.failures)} failures; the emulator answered "
        f"{counters['api_401']} x 401 and {counters['api_429']} x 429, {counters['token_requests']} token requests"
    )


def _steady_state(work: Workload, emu: Emulator, user_ids: list[str], seconds: float, progress: Progress) -> None:
    # Endpoints a client-credentials token may call (/api/v2/users/me would be a 400: no user context).
    routes = ["/api/v2/organizations/me", "/api/v2/users?pageSize=25&pageNumber=2", "/api/v2/users"]
    routes += [f"/api/v2/users/{user_id}" for user_id in user_ids[:5]]
    routes.append("/api/v2/tokens/me")
    stop = threading.Event()
    start = time.monotonic()
    deadline = start + seconds
    trouble = [
        (REVOKE_AT, emu.revoke_all, "every token revoked"),
        (BURST_AT, lambda: emu.fail_api_requests(BURST, status=429, retry_after=1), f"{BURST} x HTTP 429 injected"),
    ]

    def render() -> str:
        return f"phase 2: {min(seconds, time.monotonic() - start):.0f} of {seconds:g} s, " + _counts(
            work.tally, emu.counters()
        )

    with ThreadPoolExecutor(THREADS, thread_name_prefix="genesys-demo") as pool, progress.live(render):
        futures = [pool.submit(work.worker, i, routes, deadline, stop) for i in range(THREADS)]
        try:
            for at, inject, what in trouble:
                stop.wait(max(0.0, start + at * seconds - time.monotonic()))
                inject()
                progress.line(f"  {time.monotonic() - start:4.1f} s: {what}")
            for index, future in enumerate(futures):
                try:
                    future.result(timeout=max(0.0, deadline + _GRACE - time.monotonic()))
                except FutureTimeout:
                    work.tally.failed(f"thread {index}", f"still busy {_GRACE:.0f} s after the end; stopped")
                except Exception as exc:  # a bug in the workload itself: report it, do not hide it
                    work.tally.failed(f"thread {index}", f"crashed: {type(exc).__name__}: {exc}")
        finally:
            stop.set()
    progress.line("  phase 2 done: " + _counts(work.tally, emu.counters()))


def report(outcome: Outcome) -> list[str]:
    """The report's lines: what the emulator counted next to what the workload saw."""
    counters, tally = outcome.counters, outcome.tally
    seen_401, seen_429 = tally.failed_statuses[401], tally.failed_statuses[429]
    api_401, api_429 = counters["api_401"], counters["api_429"]
    requests_made = (
        f"{counters['api_requests']} API ({tally.requests} by the workload, the rest re-sends and retries), "
        f"{counters['storage_requests']} storage"
    )
    rows = [
        ("requests made", requests_made),
        ("401s recovered", f"{api_401 - seen_401} of {api_401} (the workload saw {seen_401})"),
        ("token requests", f"{counters['token_requests']} (tokens live {TOKEN_LIFETIME} s: refreshed ahead of expiry)"),
        ("429s ridden out", f"{api_429 - seen_429} of {api_429} (the workload saw {seen_429})"),
        ("clock offset", _offset_line(outcome)),
        ("download", outcome.download),
        ("storage auth", f"{counters['storage_authorization_headers']} Authorization headers reached storage"),
        ("elapsed", f"{outcome.elapsed:.1f} s"),
        ("failures", str(len(tally.failures))),
    ]
    lines = [
        f"genesys-auth demo: {THREADS} threads for {outcome.seconds:g} s against a local emulator whose clock is "
        f"{INJECTED_SKEW:+.0f} s off;",
        f"every token revoked {outcome.revoke_at:.1f} s in, {BURST} x HTTP 429 (Retry-After: 1) "
        f"{outcome.burst_at:.1f} s in.",
        "",
    ]
    lines += [f"{label:<{_LABEL}}{value}" for label, value in rows]
    lines += [f"{'':<{_LABEL}}- {failure}" for failure in tally.failures[:_MAX_LISTED]]
    if len(tally.failures) > _MAX_LISTED:
        lines.append(f"{'':<{_LABEL}}... and {len(tally.failures) - _MAX_LISTED} more")
    verdict = "PASS" if outcome.passed else "FAIL: " + "; ".join(_reasons(outcome))
    lines.append(f"{'result':<{_LABEL}}{verdict}")
    return lines


def _offset_line(outcome: Outcome) -> str:
    estimate, error = outcome.estimate, outcome.offset_error
    if estimate is None or error is None:
        return f"injected {INJECTED_SKEW:+.3f} s, not estimated (no Date header seen)"
    return (
        f"injected {INJECTED_SKEW:+.3f} s, estimated {estimate.offset:+.3f} ± {estimate.uncertainty:.3f} s "
        f"(error {abs(error):.3f} s, {estimate.samples} samples kept)"
    )


def _reasons(outcome: Outcome) -> list[str]:
    reasons = []
    if outcome.tally.failures:
        reasons.append(f"{len(outcome.tally.failures)} failures")
    error = outcome.offset_error
    if error is None or abs(error) > MAX_OFFSET_ERROR:
        reasons.append(f"clock offset not within {MAX_OFFSET_ERROR:.0f} s of the injected skew")
    if outcome.counters["storage_authorization_headers"]:
        reasons.append("a token reached the storage origin")
    return reasons
