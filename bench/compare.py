"""This library against the alternatives for calling Genesys Cloud with client credentials from Python.

Each (library, workload) pair runs in its own process against a fresh embedded emulator on 127.0.0.1 (the
emulator runs in this, the parent, process). The child sets the library up as its docs show
(bench/compare_libs.py), runs one workload, drives faults through the emulator's control endpoints and
prints its measurements as JSON. Every figure in the output is measured; a library that cannot express a
workload gets "n/a" with the reason.

    pip install -e '.[bench]'
    python bench/compare.py [--only gaa,authlib] [--workloads revocation,expiry] [--rounds 15]
    python bench/compare.py --per-request      # only the per-request cost of this library's front ends

Every workload starts from a client that holds a working token (one GET succeeded), except the throttled
login's, which is about getting the first one. The per-request cost compares each client with a
static-header client of the same HTTP library (a requests.Session, or an httpx.Client for the httpx front
end); with valgrind installed, ``--per-request`` and a full run also count instructions per request
(bench/instructions.py), which a busy machine does not blur as it blurs times.

Writes bench/results/compare.json, bench/results/compare.md and bench/results/*.png, copies the plots to
docs/assets/comparison/ and writes docs/comparison.md (fixed text from bench/compare_report.py, then the
tables and the plots). A partial run (--only, --workloads, --per-request) keeps every figure it did not
measure, and says when the rows it did measure were measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_libs import BASELINE, BASELINES, HTTPX_BASELINE, LIBRARIES, Caller, Env, Library, Outcome

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOCS_ASSETS = HERE.parent / "docs" / "assets" / "comparison"
DOCS_PAGE = HERE.parent / "docs" / "comparison.md"

THREADS = 32
#: Token lifetime (s) and run length (lifetimes) of the expiry workload.
LIFETIME = 3
LIFETIMES = 4
#: Pause between the expiry workload's requests (s).
PACE = 0.05
BODY_CHUNK = 16 * 1024
BODY_CHUNKS = 4
BODY_SIZE = BODY_CHUNK * BODY_CHUNKS
CHILD_TIMEOUT = 180.0
#: This library's front ends: what ``--per-request`` re-measures.
PER_REQUEST_KEYS = ["gaa", "gaa-httpx", "sdk-gaa"]

ME = "/api/v2/organizations/me"
ECHO = "/_emulator/echo"


# --- the child: one library, one workload -------------------------------------------------------------------


class Control:
    """The emulator's control endpoints, over HTTP (the emulator lives in the parent process)."""

    def __init__(self, env: Env) -> None:
        self._base = env.api_url + "/_emulator/"
        self._http = requests.Session()

    def post(self, name: str, body: dict[str, Any] | None = None) -> None:
        self._http.post(self._base + name, json=body or {}, timeout=10).raise_for_status()

    def counters(self) -> dict[str, Any]:
        response = self._http.get(self._base + "counters", timeout=10)
        response.raise_for_status()
        counters: dict[str, Any] = response.json()
        return counters

    def requests(self) -> list[dict[str, Any]]:
        response = self._http.get(self._base + "requests", timeout=10)
        response.raise_for_status()
        log: list[dict[str, Any]] = response.json()
        return log


def _delta(before: dict[str, Any], after: dict[str, Any], name: str) -> int:
    return int(after[name]) - int(before[name])


def _ready(library: Library, env: Env) -> Caller:
    caller = library.setup(env)
    first = caller.call("GET", ME)
    if first.failed:
        raise RuntimeError(f"{library.key}: the first request failed: {first}")
    return caller


def w_revocation(library: Library, env: Env, control: Control) -> dict[str, Any]:
    caller = _ready(library, env)
    control.post("revoke-all")
    before = control.counters()
    barrier = threading.Barrier(THREADS)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=30)
        outcome = caller.call("GET", ME)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    after = control.counters()
    return {
        "token_requests": _delta(before, after, "token_requests"),
        "errors": sum(o.failed for o in outcomes) + THREADS - len(outcomes),
        "api_401": _delta(before, after, "api_401"),
        "error_kinds": sorted({o.error or str(o.status) for o in outcomes if o.failed}),
    }


def w_expiry(library: Library, env: Env, control: Control) -> dict[str, Any]:
    caller = _ready(library, env)
    before = control.counters()
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + LIFETIME * LIFETIMES
    while time.monotonic() < deadline:
        outcomes.append(caller.call("GET", ME))
        time.sleep(PACE)
    after = control.counters()
    return {
        "requests": len(outcomes),
        "api_401": _delta(before, after, "api_401"),
        "errors": sum(o.failed for o in outcomes),
        "token_requests": _delta(before, after, "token_requests"),
        "error_kinds": sorted({o.error or str(o.status) for o in outcomes if o.failed}),
    }


def _chunks() -> Iterator[bytes]:
    for index in range(BODY_CHUNKS):
        yield bytes([65 + index]) * BODY_CHUNK


def _last_echo(control: Control) -> dict[str, Any]:
    echoes = [entry for entry in control.requests() if entry["path"] == ECHO]
    return echoes[-1] if echoes else {}


def _body_after_401(library: Library, env: Env, control: Control, body: Any) -> dict[str, Any]:
    """One POST whose token was revoked after it was obtained.

    Each case runs in a process of its own (see :func:`run_pair`) from a fresh client holding a working token:
    the 401 is then a real one. (A client shared with an earlier case may have dropped its token there and
    fetch a new one before sending, so its POST would never meet the 401; a library that caches tokens per
    process, as requests_auth does, would start the second case from the token the first one revoked.)
    """
    caller = _ready(library, env)
    control.post("reset")  # counters and request log from here on
    control.post("revoke-all")
    outcome = caller.call("POST", ECHO, data=body, headers={"Content-Type": "application/octet-stream"})
    final = _last_echo(control)
    return {
        "sends": sum(1 for entry in control.requests() if entry["path"] == ECHO),
        "api_401": int(control.counters()["api_401"]),
        "final_status": final.get("status"),
        "final_bytes": final.get("body_length"),
        "caller_error": outcome.error or (str(outcome.status) if outcome.failed else None),
    }


def w_body401_stream(library: Library, env: Env, control: Control) -> dict[str, Any]:
    return _body_after_401(library, env, control, _chunks())


def w_body401_file(library: Library, env: Env, control: Control) -> dict[str, Any]:
    with tempfile.TemporaryFile() as file:
        file.write(b"F" * BODY_SIZE)
        file.seek(0)
        return _body_after_401(library, env, control, file)


def w_body401(library: Library, env: Env, control: Control) -> dict[str, Any]:
    """Never run in one process: :func:`run_pair` runs its two cases (:data:`PARTS`), each in its own."""
    raise RuntimeError("body401 runs as body401-stream and body401-file, each in a process of its own")


def w_download(library: Library, env: Env, control: Control) -> dict[str, Any]:
    caller = _ready(library, env)
    before = control.counters()
    outcome = caller.call("GET", "/api/v2/downloads/bench-recording")
    after = control.counters()
    return {
        "storage_requests": _delta(before, after, "storage_requests"),
        "storage_authorization_headers": _delta(before, after, "storage_authorization_headers"),
        "caller_error": outcome.error or (str(outcome.status) if outcome.failed else None),
    }


def _throttled(library: Library, env: Env, control: Control, fault: dict[str, Any]) -> dict[str, Any]:
    control.post("faults", {"token": fault})
    before = control.counters()
    try:
        outcome = library.setup(env).call("GET", ME)
    except Exception as exc:
        outcome = Outcome(None, error=type(exc).__name__)
    after = control.counters()
    return {
        "succeeded": not outcome.failed,
        "token_requests": _delta(before, after, "token_requests"),
        "caller_error": outcome.error or (str(outcome.status) if outcome.failed else None),
    }


def w_throttle429(library: Library, env: Env, control: Control) -> dict[str, Any]:
    return _throttled(library, env, control, {"count": 2, "status": 429, "retryAfter": 1})


def w_throttle400(library: Library, env: Env, control: Control) -> dict[str, Any]:
    return _throttled(library, env, control, {"count": 2, "status": 400, "retryAfter": 1})


def _timed_rounds(caller: Caller, count: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        if caller.call("GET", ME).failed:
            raise RuntimeError("a request failed during the cost measurement")
    return time.perf_counter() - wall, time.process_time() - cpu


def w_cost(library: Library, env: Env, control: Control, rounds: int = 30, per_round: int = 100) -> dict[str, Any]:
    # The baseline is a static-header client of the same HTTP library (requests, or httpx).
    callers = {"library": _ready(library, env), "baseline": _ready(BASELINES[library.baseline], env)}
    walls: dict[str, list[float]] = {name: [] for name in callers}
    cpus: dict[str, list[float]] = {name: [] for name in callers}
    for caller in callers.values():
        _timed_rounds(caller, 20)  # warm up the connection
    for round_number in range(rounds):
        # Interleaved, alternating order: drift in machine load hits both alike.
        names = list(callers) if round_number % 2 == 0 else list(reversed(callers))
        for name in names:
            wall, cpu = _timed_rounds(callers[name], per_round)
            walls[name].append(wall / per_round)
            cpus[name].append(cpu / per_round)
    return {
        "baseline": library.baseline,
        "requests": rounds * per_round,
        "wall_us": round(statistics.median(walls["library"]) * 1e6, 1),
        "baseline_wall_us": round(statistics.median(walls["baseline"]) * 1e6, 1),
        "wall_ratio": round(statistics.median(w / b for w, b in zip(walls["library"], walls["baseline"])), 3),
        "cpu_us": round(statistics.median(cpus["library"]) * 1e6, 1),
        "baseline_cpu_us": round(statistics.median(cpus["baseline"]) * 1e6, 1),
        "cpu_ratio": round(statistics.median(c / b for c, b in zip(cpus["library"], cpus["baseline"])), 3),
    }


WORKLOADS: dict[str, Callable[[Library, Env, Control], dict[str, Any]]] = {
    "revocation": w_revocation,
    "expiry": w_expiry,
    "body401": w_body401,
    "download": w_download,
    "throttle429": w_throttle429,
    "throttle400": w_throttle400,
    "cost": w_cost,
}
#: Run by the parent as parts of a workload, each in a child of its own.
PARTS: dict[str, Callable[[Library, Env, Control], dict[str, Any]]] = {
    "body401-stream": w_body401_stream,
    "body401-file": w_body401_file,
}


def child(library_key: str, workload: str, rounds: int) -> None:
    library = next(lib for lib in LIBRARIES if lib.key == library_key)
    env = Env.load()
    control = Control(env)
    run = {**WORKLOADS, **PARTS}[workload]
    try:
        result = w_cost(library, env, control, rounds=rounds) if workload == "cost" else run(library, env, control)
    except Exception as exc:
        result = {"crash": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(result))


# --- the parent: emulators, processes, the report ---------------------------------------------------------


def run_pair(library: Library, workload: str, rounds: int) -> dict[str, Any]:
    """One workload of one library, in a child process against a fresh emulator (the body cases: one each)."""
    if workload == "body401":
        if library.no_stream:
            return {"na": library.no_stream}
        parts = {part: _run_child(library, f"body401-{part}", rounds) for part in ("stream", "file")}
        crashed = next((part for part in parts.values() if "crash" in part), None)
        return crashed if crashed is not None else {"expected": BODY_SIZE, **parts}
    return _run_child(library, workload, rounds)


def _run_child(library: Library, workload: str, rounds: int) -> dict[str, Any]:
    from genesys_auth_adapter.emulator import Emulator

    lifetime = LIFETIME if workload == "expiry" else 86399
    with Emulator(token_lifetime=lifetime, rate_limit=10**6) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENESYS_")}
        env.update(emu.env())
        env["GENESYS_TOKEN_STORE"] = "none"  # no token shared between runs
        command = [sys.executable, str(Path(__file__).resolve()), "--child", library.key, workload]
        command += ["--rounds", str(rounds)]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=HERE)
        except subprocess.TimeoutExpired:
            return {"crash": f"no answer within {CHILD_TIMEOUT:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"crash": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def machine() -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": str(os.cpu_count()),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        # A shared machine's load at the end of the run: the cost and expiry figures move with it.
        **({"load": f"{os.getloadavg()[1]:.1f}"} if hasattr(os, "getloadavg") else {}),
    }


#: The front ends bench/instructions.py counts, by library key.
INSTRUCTION_CLIENTS = {"gaa": "adapter", "gaa-httpx": "httpx"}
_PER_REQUEST_LINE = re.compile(r"^(\S+)\s+Ir\(\d+\) - Ir\(\d+\) =\s+[\d,]+\s+([\d,]+) per request$", re.MULTILINE)
_RATIO_LINE = re.compile(r"^(\S+)\s+/\s+(\S+)\s+([0-9.]+)$", re.MULTILINE)


def count_instructions(keys: list[str]) -> dict[str, dict[str, Any]]:
    """Instructions per request (bench/instructions.py, callgrind) of this library's front ends among ``keys``,
    each against the static-header client of its HTTP library; {} when valgrind is not installed."""
    clients = {INSTRUCTION_CLIENTS[key]: key for key in keys if key in INSTRUCTION_CLIENTS}
    if not clients:
        return {}
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return {}
    command = [sys.executable, str(HERE / "instructions.py"), "--clients", ",".join(clients)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=HERE, check=False)
    per = {name: int(count.replace(",", "")) for name, count in _PER_REQUEST_LINE.findall(done.stdout)}
    ratios = {name: (baseline, float(ratio)) for name, baseline, ratio in _RATIO_LINE.findall(done.stdout)}
    if done.returncode != 0 or set(ratios) != set(clients):
        raise RuntimeError(f"bench/instructions.py failed or printed no ratios:\n{(done.stdout + done.stderr)[-2000:]}")
    measured = machine()
    return {
        key: {
            "client": name,
            "baseline": ratios[name][0],
            "per_request": per[name],
            "baseline_per_request": per[ratios[name][0]],
            "ratio": ratios[name][1],
            "measured": measured,
        }
        for name, key in clients.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=2, metavar=("LIBRARY", "WORKLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated library keys: " + ",".join(lib.key for lib in LIBRARIES))
    parser.add_argument("--workloads", help="comma-separated: " + ",".join(WORKLOADS))
    parser.add_argument(
        "--per-request",
        action="store_true",
        help="re-measure only the per-request cost (times and instruction counts) of this library's front ends "
        f"({','.join(PER_REQUEST_KEYS)}, or --only); keep every other figure",
    )
    parser.add_argument("--no-instructions", action="store_true", help="skip the instruction counts (callgrind)")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of 100 requests in the cost workload")
    parser.add_argument("--report-only", action="store_true", help="redo the table and plots from compare.json")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.rounds)
        return

    from compare_report import page, write_report

    RESULTS.mkdir(exist_ok=True)
    data_file = RESULTS / "compare.json"
    if args.report_only:
        data = json.loads(data_file.read_text())
    else:
        default_keys = PER_REQUEST_KEYS if args.per_request else [lib.key for lib in LIBRARIES]
        keys = args.only.split(",") if args.only else default_keys
        workloads = ["cost"] if args.per_request else args.workloads.split(",") if args.workloads else list(WORKLOADS)
        partial = bool(args.only or args.workloads or args.per_request)
        old = json.loads(data_file.read_text()) if data_file.exists() and partial else {}
        results: dict[str, dict[str, Any]] = old.get("results", {})
        for library in LIBRARIES:
            if library.key not in keys:
                continue
            for workload in workloads:
                started = time.monotonic()
                result = run_pair(library, workload, args.rounds)
                results.setdefault(library.key, {})[workload] = result
                print(f"{library.key:22s} {workload:12s} {time.monotonic() - started:5.1f}s {json.dumps(result)}")
        instructions = {} if args.no_instructions or "cost" not in workloads else count_instructions(keys)
        for key, counted in instructions.items():
            print(f"{key:22s} instructions {json.dumps(counted)}")
        ran = [lib for lib in LIBRARIES if lib.key in keys]
        baselines = (BASELINE, HTTPX_BASELINE)
        data = {
            "machine": old.get("machine", machine()),
            # A partial run keeps what it did not re-run: the other rows' versions, and when they were measured.
            "versions": {**old.get("versions", {}), **{lib.key: lib.version() for lib in (*ran, *baselines)}},
            "results": results,
            "instructions": {**old.get("instructions", {}), **instructions},
        }
        if old:
            stamp = {**machine(), "workloads": ",".join(workloads)}
            data["reruns"] = {**old.get("reruns", {}), **{lib.key: stamp for lib in ran}}
        data_file.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    write_report(data, RESULTS)
    DOCS_ASSETS.mkdir(parents=True, exist_ok=True)
    for plot in sorted(RESULTS.glob("*.png")):
        shutil.copy(plot, DOCS_ASSETS / plot.name)
    DOCS_PAGE.write_text(page(data, "assets/comparison"))


if __name__ == "__main__":
    main()
