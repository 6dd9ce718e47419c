"""Instructions per request of each front end against the same client with a static bearer header.

Wall time on a shared machine is noisy; the count of instructions the client process executes is not.
Each client runs under ``valgrind --tool=callgrind`` twice, sending ``--small`` and then ``--large``
requests after the same setup and warm-up (the token, the connection), against one keep-alive HTTP/1.1
server on 127.0.0.1 (bench/overhead.py's, in another process that valgrind does not trace). The
difference of the two totals is the cost of ``large - small`` requests, free of the start-up cost. The
ratio compares each front end with the same HTTP library sending a static ``Authorization`` header;
the aim (docs/architecture.md, "a free fast path") is at most 1.01.

    python bench/instructions.py [--small 30] [--large 130] [--clients adapter,hook,httpx] [--repeat 1]

Needs valgrind (``apt-get install valgrind``). Runs take about a minute per client. A static-header
client's count repeats exactly within one invocation (hash seed fixed, garbage collector kept off the
start-up objects), and to about 0.2 % from one invocation to the next; a front end's also varies from
run to run by a few thousand instructions per request (0.1-0.4 %), because the clock sample does more
work on the responses that narrow the offset estimate, and which do depends on timing: ``--repeat 3``
reports the median of three runs.

On 2026-12-07 (``--repeat 3``), before the flow's fast path and with it (token pool and user grants merged)::

    adapter / plain         1.0230  ->  1.0064   (3,422,041 -> 3,371,696 against 3,345,223 / 3,350,309)
    hook    / plain         1.0093  ->  0.9853   (3,376,396 -> 3,301,028)
    httpx   / httpx-static  1.0943  ->  1.0243   (1,738,717 -> 1,630,514 against 1,588,870 / 1,591,820)
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

#: Each front end, and the plain client it is compared with.
BASELINE = {
    "adapter": "plain",
    "hook": "plain",
    "httpx": "httpx-static",
    "plain": "plain",
    "httpx-static": "httpx-static",
}
_WARM_UP = 20


def _serve(port: multiprocessing.connection.Connection) -> None:
    """bench/overhead.py's server, answering in one write (headers and body), so that how a client's reads
    split an answer does not depend on timing."""
    from overhead import _Handler, _pin  # bench/ is this script's folder, so first on the path

    class OneWrite(_Handler):
        wbufsize = -1  # buffered: BaseHTTPRequestHandler flushes once the answer is complete

    _pin(1)
    server = ThreadingHTTPServer(("127.0.0.1", 0), OneWrite)
    server.daemon_threads = True
    port.send(server.server_address[1])
    server.serve_forever()


def _client(name: str, base: str) -> tuple[Callable[[str], Any], Callable[[], None]]:
    """A ``get(url)`` for one kind of client, and how to close it."""
    from genesys_auth_adapter import ClientCredentials

    creds = ClientCredentials("bench-client", "bench-secret", api_url=base, login_url=base)
    if name.startswith("httpx"):
        import httpx

        if name == "httpx-static":
            client = httpx.Client(headers={"Authorization": "Bearer bench-token"})
        else:
            from genesys_auth_adapter.httpx import GenesysHttpxAuth

            auth = GenesysHttpxAuth(creds)
            client = httpx.Client(auth=auth, transport=auth.transport())
        return client.get, client.close

    import requests

    from genesys_auth_adapter import GenesysAdapter, GenesysAuth

    session = requests.Session()
    if name == "plain":
        session.headers["Authorization"] = "Bearer bench-token"
    elif name == "adapter":
        session.mount(base + "/", GenesysAdapter(GenesysAuth(creds)))
    elif name == "hook":
        session.auth = GenesysAuth(creds)
    else:
        raise SystemExit(f"unknown client {name!r}; choose from {', '.join(BASELINE)}")
    return session.get, session.close


def _run_client(name: str, base: str, count: int) -> None:
    """The traced process: set up, warm up, then ``count`` requests."""
    get, close = _client(name, base)
    url = base + "/api/v2/users/me"
    for _ in range(_WARM_UP):
        get(url).raise_for_status()
    # The start-up objects go to the permanent generation: a full collection that happens to fall in
    # one run and not the other would otherwise swamp the difference.
    gc.collect()
    gc.freeze()
    for _ in range(count):
        response = get(url)
        if response.status_code != 200:
            raise SystemExit(f"unexpected HTTP {response.status_code}")
    close()


def _instructions(name: str, base: str, count: int, folder: str) -> int:
    """Instructions (callgrind's Ir) of one traced client process sending ``count`` requests."""
    out = os.path.join(folder, f"callgrind.{name}.{count}")
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--run-client",
        name,
        "--url",
        base,
        "--count",
        str(count),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} ({count} requests) failed:\n{done.stderr[-3000:]}")
    match = re.search(r"^(?:summary|totals): (\d+)", Path(out).read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=30, help="requests of the shorter run")
    parser.add_argument("--large", type=int, default=130, help="requests of the longer run")
    parser.add_argument("--clients", default="adapter,hook,httpx", help="front ends to measure, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="runs per client; the median is reported")
    parser.add_argument("--run-client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_client:
        _run_client(args.run_client, args.url, args.count)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")

    names = [name.strip() for name in args.clients.split(",") if name.strip()]
    unknown = [name for name in names if name not in BASELINE]
    if unknown:
        raise SystemExit(f"unknown client(s) {', '.join(unknown)}; choose from {', '.join(BASELINE)}")
    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(sender,), daemon=True)
    server.start()
    try:
        if not receiver.poll(30):
            raise RuntimeError("the benchmark server did not start")
        base = f"http://127.0.0.1:{receiver.recv()}"
        measured = args.large - args.small
        per: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as folder:
            for name in dict.fromkeys(name for front in names for name in (BASELINE[front], front)):
                counts = []
                for _ in range(args.repeat):
                    small = _instructions(name, base, args.small, folder)
                    large = _instructions(name, base, args.large, folder)
                    counts.append(large - small)
                difference = int(statistics.median(counts))
                per[name] = difference / measured
                spread = f"  (of {', '.join(f'{c / measured:,.0f}' for c in counts)})" if args.repeat > 1 else ""
                print(
                    f"{name:13s} Ir({args.large}) - Ir({args.small}) = {difference:>12,d}  "
                    f"{per[name]:>10,.0f} per request{spread}",
                    flush=True,
                )
        for name in names:
            if BASELINE[name] != name:
                print(f"{name:13s} / {BASELINE[name]:13s} {per[name] / per[BASELINE[name]]:.4f}")
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
