"""A fleet of processes sharing one token: token requests per store, after a revocation, and the cost.

Against the embedded emulator on 127.0.0.1, with tokens that live a few seconds, for each store
(none = each process its own tokens, the file store, the Redis store):

1. N worker processes (spawned, real processes) send GETs for several token lifetimes;
2. the emulator revokes every token (``--revocations`` times, ``--revocation-every`` seconds apart); the
   workers go on for a little longer;
3. the emulator counts the token requests of each phase; each worker times its requests, and counts the
   ones that failed (a 401 that reached the caller, say).

A single process without a store is run first: its token requests are the goal for the whole fleet with a
store (one token per refresh period, whatever the number of processes).

    python bench/fleet.py [--processes 8] [--lifetime 6] [--lifetimes 3] [--redis redis://127.0.0.1:6379/0]
                          [--revocations 20 --revocation-every 2] [--only file,redis]
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import statistics
import tempfile
import time
import uuid
from typing import Any

from genesys_auth_adapter import from_env, session
from genesys_auth_adapter.emulator import Emulator

ME = "/api/v2/organizations/me"


def worker(env: dict[str, str], store: dict[str, str], start: Any, duration: float, results: Any) -> None:
    """One process of the fleet: GETs for ``duration`` seconds from the common start, then its timings."""
    chosen: Any = "none"
    if store["kind"] == "file":
        from genesys_auth_adapter.stores.file import FileTokenStore

        chosen = FileTokenStore(path=store["path"])
    elif store["kind"] == "redis":
        from genesys_auth_adapter.stores.redis import RedisTokenStore

        chosen = RedisTokenStore(store["url"], prefix=store["prefix"])
    durations: list[float] = []
    failures = 0
    reasons: set[str] = set()
    with session(from_env(env, use_dotenv=False), store=chosen, timeout=(5.0, 15.0)) as s:
        start.wait(60)
        stop_at = time.monotonic() + duration
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                status = s.get(ME).status_code
                ok = status == 200
                reason = f"HTTP {status}"
            except Exception as exc:
                ok, reason = False, f"{type(exc).__name__}: {exc}"[:300]
            durations.append(time.perf_counter() - began)
            if not ok:
                failures += 1
                reasons.add(reason)
            time.sleep(0.01)  # about 80 requests a second across 8 processes: a busy pipeline, not a flood
    results.put(
        {
            "requests": len(durations),
            "failures": failures,
            "reasons": sorted(reasons),
            "median": statistics.median(durations),
        }
    )


def run_fleet(
    emu: Emulator,
    processes: int,
    store: dict[str, str],
    lifetime: float,
    lifetimes: int,
    revocations: int = 1,
    every: float = 2.0,
) -> dict[str, Any]:
    """One fleet run: token requests in steady state and after the revocations, and request timings."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes + 1)
    results = context.Queue()
    steady = lifetime * lifetimes
    revoking = every * (revocations - 1)
    after = lifetime  # long enough for every worker to meet the last revocation
    duration = steady + revoking + after
    workers = [
        context.Process(target=worker, args=(emu.env(), store, start, duration, results), daemon=True)
        for _ in range(processes)
    ]
    for process in workers:
        process.start()
    emu.reset_counters()  # the workers make no request before the barrier
    start.wait(60)
    began = time.monotonic()
    time.sleep(steady)
    steady_requests = emu.counters()["token_requests"]
    for number in range(revocations):
        time.sleep(max(0.0, began + steady + number * every - time.monotonic()))
        emu.revoke_all()
    time.sleep(max(0.0, began + duration - time.monotonic()))
    total_requests = emu.counters()["token_requests"]
    reports = [results.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(30)
    return {
        "revocations": revocations,
        "token_requests_steady": steady_requests,
        "token_requests_after_revocation": total_requests - steady_requests,
        "api_requests": sum(r["requests"] for r in reports),
        "failures": sum(r["failures"] for r in reports),
        "reasons": sorted({reason for r in reports for reason in r["reasons"]}),
        "median_ms": statistics.median(r["median"] for r in reports) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--lifetime", type=int, default=6, help="token lifetime in seconds")
    parser.add_argument("--lifetimes", type=int, default=3, help="steady-state duration, in token lifetimes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="the Redis URL ('' to skip Redis)")
    parser.add_argument("--only", default="", help="comma-separated runs to make: one,none,file,redis (default: all)")
    parser.add_argument("--revocations", type=int, default=1, help="how many times every token is revoked")
    parser.add_argument(
        "--revocation-every", type=float, default=2.0, help="seconds between two revocations (with --revocations > 1)"
    )
    args = parser.parse_args()
    if args.revocations < 1 or not args.revocation_every > 0:
        parser.error("--revocations must be at least 1 and --revocation-every a positive number of seconds")

    print(f"{platform.python_version()} on {platform.machine()}, {multiprocessing.cpu_count()} cores")
    print(
        f"{args.processes} processes, tokens living {args.lifetime} s, {args.lifetimes} lifetimes, then "
        f"{args.revocations} revocation(s) {args.revocation_every:g} s apart\n"
    )
    with Emulator(token_lifetime=args.lifetime, rate_limit=1_000_000) as emu, tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[str, int, dict[str, str]]] = [
            ("one process, no store", 1, {"kind": "none"}),
            ("no store", args.processes, {"kind": "none"}),
            ("file store", args.processes, {"kind": "file", "path": tmp}),
        ]
        if args.redis:
            prefix = f"gaa-bench-{uuid.uuid4().hex[:8]}"
            runs.append(("Redis store", args.processes, {"kind": "redis", "url": args.redis, "prefix": prefix}))
        if args.only:
            wanted = {"one": 0, "none": 1, "file": 2, "redis": 3}
            keep = {wanted[name.strip()] for name in args.only.split(",")}
            runs = [run for index, run in enumerate(runs) if index in keep | {1}]  # 'none' is the cost baseline
        rows = []
        for name, processes, store in runs:
            figures = run_fleet(
                emu, processes, store, args.lifetime, args.lifetimes, args.revocations, args.revocation_every
            )
            rows.append((name, processes, figures))
            print(f"{name}: {figures}")
    baseline = next(f["median_ms"] for name, processes, f in rows if name == "no store")
    print(
        "\n| run | processes | token requests (steady) | after revocation | API requests | failures "
        "| median ms | vs no store |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, processes, f in rows:
        ratio = f["median_ms"] / baseline if baseline else float("nan")
        print(
            f"| {name} | {processes} | {f['token_requests_steady']:.0f} | {f['token_requests_after_revocation']:.0f} "
            f"| {f['api_requests']:.0f} | {f['failures']:.0f} | {f['median_ms']:.2f} | {ratio:.3f} |"
        )


if __name__ == "__main__":
    main()
