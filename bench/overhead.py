"""Per-request cost of GenesysAdapter against a plain session with a static Authorization header.

All sessions talk to the same keep-alive HTTP/1.1 server on 127.0.0.1 (in a separate process, so it
does not share the client's interpreter lock) in the same run, in interleaved rounds (so drift in machine
load hits all alike). The result is the ratio of the median round times, in wall-clock time and in the
client process's CPU time (which the server's work does not blur). Target: at most 1.02.

    python bench/overhead.py [--requests 400] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.connection
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


def _serve(port: multiprocessing.connection.Connection) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port.send(server.server_address[1])
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests per round and per session")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    args = parser.parse_args()

    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(sender,), daemon=True)
    server.start()
    try:
        if not receiver.poll(30):
            raise RuntimeError("the benchmark server did not start")
        base = f"http://127.0.0.1:{receiver.recv()}"
        url = base + "/api/v2/users/me"

        plain = requests.Session()
        plain.headers["Authorization"] = "Bearer bench-token"
        creds = ClientCredentials("bench-client", "bench-secret", api_url=base, login_url=base)
        auth = GenesysAuth(creds)
        ours = requests.Session()
        ours.mount(base + "/", GenesysAdapter(auth))
        no_retry = requests.Session()
        no_retry.mount(base + "/", GenesysAdapter(auth, retry=RetryPolicy(max_attempts=1)))

        sessions = {"plain": plain, "adapter": ours, "adapter, retries off": no_retry}
        for session in sessions.values():  # warm up: connections, the token
            _round(lambda s=session: s.get(url), 50)
        walls: dict[str, list[float]] = {name: [] for name in sessions}
        cpus: dict[str, list[float]] = {name: [] for name in sessions}
        names = list(sessions)
        for round_number in range(args.rounds):
            # Rotate who goes first, so a slow start or a warm cache favours nobody.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                session = sessions[name]
                wall, cpu = _round(lambda s=session: s.get(url), args.requests)
                walls[name].append(wall)
                cpus[name].append(cpu)
        wall_median = {name: statistics.median(values) for name, values in walls.items()}
        cpu_median = {name: statistics.median(values) for name, values in cpus.items()}
        print(f"{args.rounds} rounds of {args.requests} requests per session")
        for name in sessions:
            print(
                f"{name:22s} wall {wall_median[name] / args.requests * 1e6:7.1f} us/request "
                f"ratio {wall_median[name] / wall_median['plain']:.3f}   "
                f"client cpu {cpu_median[name] / args.requests * 1e6:7.1f} us/request "
                f"ratio {cpu_median[name] / cpu_median['plain']:.3f}"
            )
        print(f"token requests: {auth.manager.token_requests}")
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
