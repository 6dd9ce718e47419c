"""A fleet under the emulator's rate limit: throughput against the budget, 429s, the longest call, tokens.

N spawned processes x T threads send GETs back to back for ``--duration`` seconds through ``session()``
(default retry policy, default pacing), against an emulator that allows ``--limit`` requests per
``--window`` seconds per token. The first ``--learn`` seconds are allowed for learning the budget.

    python bench/budget.py --store redis://127.0.0.1:6379/0 [--processes 4 --threads 4 --duration 185]
    python bench/budget.py --store redis://127.0.0.1:6379/0 --pool 4 --limit 120     # a token pool of 4
    python bench/budget.py --store none --window 10 --duration 40 --learn 12 --no-details   # a quick look

With ``--window`` other than 60 the 429s carry no ``limit`` object (``--no-details`` is implied): its key
says "per minute", which a shorter window would contradict, so the budget is learned from a count.

Prints one JSON line; ``--plot results.json out.png`` draws saved lines (one per configuration).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import threading
import time
import uuid
from typing import Any


def member(
    env: dict[str, str],
    store: str | None,
    window: float,
    threads: int,
    duration: float,
    start: Any,
    out: Any,
    pool: int = 1,
) -> None:
    """One process: ``threads`` threads sending back to back for ``duration`` seconds after the barrier."""
    import logging
    import os

    from genesys_auth_adapter import PacingPolicy, from_env, session

    if env.get("BENCH_LOG"):  # the library's INFO lines (pacing, retries), one file per process
        logging.basicConfig(
            filename=f"{env['BENCH_LOG']}.{os.getpid()}", level=logging.INFO, format="%(created).3f %(message)s"
        )

    calls: list[tuple[float, float, int]] = []  # (began, took, status)
    lock = threading.Lock()
    margin = float(env.get("BENCH_MARGIN") or 1.0)
    pacing: Any = True if window == 60.0 and margin == 1.0 else PacingPolicy(window=window, count_margin=margin)
    spec: Any = store
    if store and store.startswith("redis"):
        from genesys_auth_adapter.stores.redis import RedisTokenStore

        spec = RedisTokenStore(store, prefix=f"gaa-bench-{env['BENCH_RUN']}")
    try:
        with session(from_env(env, use_dotenv=False), store=spec, pacing=pacing, token_pool=pool) as s:
            start.wait(120)
            until = time.time() + duration

            def loop() -> None:
                while time.time() < until:
                    began = time.time()
                    try:
                        status = s.get("/api/v2/users").status_code
                    except Exception:  # a RetryExhaustedError or RateBudgetError counts as a failed call
                        status = 0
                    with lock:
                        calls.append((began, time.time() - began, status))

            workers = [threading.Thread(target=loop) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            learned = s.genesys_auth.pacing.pacer.budget() if s.genesys_auth.pacing else None
        out.put(("ok", calls, str(learned)))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from genesys_auth_adapter.emulator import Emulator

    details = args.details and args.window == 60.0
    emu = Emulator(rate_limit=args.limit, rate_window=args.window, rate_limit_details=details).start()
    try:
        run_id = uuid.uuid4().hex[:8]
        env = {**emu.env(), "BENCH_RUN": run_id, "BENCH_LOG": args.log or "", "BENCH_MARGIN": str(args.count_margin)}
        store = None if args.store == "none" else args.store
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(args.processes + 1)
        out = context.Queue()
        members = [
            context.Process(
                target=member,
                args=(env, store, args.window, args.threads, args.duration, start, out, args.pool),
                daemon=True,
            )
            for _ in range(args.processes)
        ]
        for process in members:
            process.start()
        start.wait(120)
        began = time.time()
        time.sleep(args.learn)
        learning_429s = sum(emu.counters()["api_429_by_limit"].values())
        reports = [out.get(timeout=args.duration + 180) for _ in members]
        for process in members:
            process.join(30)
        counters = emu.counters()
    finally:
        emu.stop()
        if args.store.startswith("redis"):
            import redis

            client = redis.Redis.from_url(args.store)
            keys = list(client.scan_iter(match=f"gaa-bench-{env['BENCH_RUN']}:*"))
            if keys:
                client.delete(*keys)
            client.close()
    errors = [r[1] for r in reports if r[0] == "error"]
    calls = [call for r in reports if r[0] == "ok" for call in r[1]]
    total_429s = sum(counters["api_429_by_limit"].values())
    ok = sum(1 for _, _, status in calls if status == 200)
    late = [c for c in calls if c[0] >= began + args.learn]
    minutes = args.duration / 60.0
    return {
        "store": args.store.split("://")[0],
        "processes": args.processes,
        "threads": args.threads,
        "limit": args.limit,
        "window": args.window,
        "duration": args.duration,
        "learn": args.learn,
        "pool": args.pool,
        "ok_per_minute": round(ok / minutes, 1),
        "budget_per_minute": round(args.limit * 60.0 / args.window, 1),
        "budget_per_minute_of_the_pool": round(args.pool * args.limit * 60.0 / args.window, 1),
        "ok_per_minute_after_learning": round(
            sum(1 for c in late if c[2] == 200) / max(1e-9, (args.duration - args.learn) / 60.0), 1
        ),
        "429s": total_429s,
        "429s_after_learning": total_429s - learning_429s,
        "failed_calls": sum(1 for c in calls if c[2] != 200),
        "longest_call": round(max((c[1] for c in calls), default=0.0), 2),
        "longest_call_after_learning": round(max((c[1] for c in late), default=0.0), 2),
        "tokens_issued": counters["tokens_issued"],
        "budgets": sorted({r[2] for r in reports if r[0] == "ok"}),
        "errors": errors,
    }


def plot(results: str, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(results, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    labels = [f"{r['store']}, pool {r['pool']}\n{r['limit']}/{r['window']:g}s per token" for r in rows]
    fig, ax = plt.subplots(figsize=(1.8 * len(rows) + 2, 4))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["ok_per_minute_after_learning"] for r in rows], 0.4, label="ok/min after learning")
    # Without a store every process holds its own tokens: the budget is that of the tokens the fleet held.
    held = [r["budget_per_minute"] * r["tokens_issued"] for r in rows]
    ax.bar([x + 0.2 for x in xs], held, 0.4, label="budget/min of the tokens held")
    for x, r in zip(xs, rows):
        note = f"{r['tokens_issued']} token(s)\n429s {r['429s']} ({r['429s_after_learning']} late)"
        ax.annotate(note, (x, 5), ha="center", fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("requests per minute")
    ax.set_title(f"{rows[0]['processes']} processes x {rows[0]['threads']} threads, paced by the library")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="none", help="none, file, file:/dir or a Redis URL")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--limit", type=int, default=300, help="requests per window per token at the emulator")
    parser.add_argument("--window", type=float, default=60.0, help="the emulator's rate window, seconds")
    parser.add_argument("--pool", type=int, default=1, help="token_pool: tokens the fleet may hold")
    parser.add_argument("--duration", type=float, default=185.0)
    parser.add_argument("--learn", type=float, default=65.0, help="seconds allowed for learning the budget")
    parser.add_argument("--no-details", dest="details", action="store_false", help="429s without a limit object")
    parser.add_argument("--count-margin", type=float, default=1.0, help="PacingPolicy.count_margin")
    parser.add_argument("--log", help="write each process's INFO log lines to LOG.<pid>")
    parser.add_argument("--plot", nargs=2, metavar=("RESULTS", "PNG"), help="draw saved JSON lines instead")
    args = parser.parse_args()
    if args.plot:
        plot(*args.plot)
        return
    if not (args.processes >= 1 and args.threads >= 1 and args.pool >= 1 and 0 < args.learn < args.duration):
        sys.exit("need --processes, --threads and --pool >= 1 and 0 < --learn < --duration")
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
