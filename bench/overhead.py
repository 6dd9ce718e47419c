"""Per-request cost of GenesysAdapter against a plain session with a static Authorization header.

All sessions talk to the same keep-alive HTTP/1.1 server on 127.0.0.1 (in a separate process, so it
does not share the client's interpreter lock) in the same run, in interleaved rounds (so drift in machine
load hits all alike). The result is the ratio of the median round times, in wall-clock time and in the
client process's CPU time (which the server's work does not blur). A second plain session, the control,
shows how large the noise is. Target: at most 1.02.

    python bench/overhead.py [--requests 400] [--rounds 15]
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import multiprocessing
import multiprocessing.connection
import os
import socket
import statistics
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import requests

from genesys_auth_adapter import ClientCredentials, GenesysAdapter, GenesysAuth, RetryPolicy

_TOKEN = json.dumps({"access_token": "bench-token", "token_type": "bearer", "expires_in": 86399}).encode()
_BODY = json.dumps({"id": "b2b0c7d4", "name": "Bench User", "state": "active"}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus delayed ACKs add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(_BODY)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._reply(_TOKEN)


def _round(get: Callable[[], requests.Response], count: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        response = get()
        if response.status_code != 200:
            raise RuntimeError(f"unexpected HTTP {response.status_code}")
    return time.perf_counter() - wall, time.process_time() - cpu


def _pin(cpu: int) -> None:
    """Keep a process on one core (where the platform allows), so client and server do not trade places."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _serve(port: multiprocessing.connection.Connection) -> None:
    _pin(1)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port.send(server.server_address[1])
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per round and per session")
    parser.add_argument("--rounds", type=int, default=24, help="interleaved rounds")
    args = parser.parse_args()

    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(sender,), daemon=True)
    server.start()
    try:
        if not receiver.poll(30):
            raise RuntimeError("the benchmark server did not start")
        base = f"http://127.0.0.1:{receiver.recv()}"
        _pin(0)
        url = base + "/api/v2/organizations/me"

        creds = ClientCredentials("bench-client", "bench-secret", api_url=base, login_url=base)
        auth = GenesysAuth(creds)  # shared, so only the first round fetches a token

        def plain() -> requests.Session:
            s = requests.Session()
            s.headers["Authorization"] = "Bearer bench-token"
            return s

        def mounted(policy: RetryPolicy | None = None) -> requests.Session:
            s = requests.Session()
            s.mount(base + "/", GenesysAdapter(auth, retry=policy))
            return s

        kinds: dict[str, Callable[[], requests.Session]] = {
            "plain": plain,
            "adapter": mounted,
            "adapter, retries off": lambda: mounted(RetryPolicy(max_attempts=1)),
            "plain (control)": plain,
        }
        walls: dict[str, list[float]] = {name: [] for name in kinds}
        cpus: dict[str, list[float]] = {name: [] for name in kinds}
        names = list(kinds)
        for round_number in range(args.rounds):
            # Fresh sessions every round (an object's own quirks average out) and a rotating order (a
            # slow start favours nobody); the garbage collector waits until the round is over.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                with kinds[name]() as session:
                    _round(functools.partial(session.get, url), 20)  # warm up: the connection, the token
                    gc.collect()
                    gc.disable()
                    try:
                        wall, cpu = _round(functools.partial(session.get, url), args.requests)
                    finally:
                        gc.enable()
                walls[name].append(wall)
                cpus[name].append(cpu)
        print(f"{args.rounds} rounds of {args.requests} requests per session; median of per-round ratios to plain")
        for name in kinds:
            wall_ratio = statistics.median(w / p for w, p in zip(walls[name], walls["plain"]))
            cpu_ratio = statistics.median(c / p for c, p in zip(cpus[name], cpus["plain"]))
            print(
                f"{name:22s} wall {statistics.median(walls[name]) / args.requests * 1e6:7.1f} us/request "
                f"ratio {wall_ratio:.3f}   client cpu {statistics.median(cpus[name]) / args.requests * 1e6:7.1f} "
                f"us/request ratio {cpu_ratio:.3f}"
            )
        print(f"token requests: {auth.manager.token_requests}")
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
