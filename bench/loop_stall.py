"""How long async token requests stall the event loop: heartbeat lag and the longest loop step while they run.

A heartbeat task sleeps 1 ms at a time on the loop and records how late it wakes up; meanwhile the
auth makes ``--tokens`` token requests (the current token is dropped before each) against the local
emulator, which runs in another process (its server threads would otherwise compete with the loop for
the GIL). Whatever blocks the loop during a token request (building an SSL context loads the CA bundle
synchronously, even for an http URL) shows as lag. It runs ``--loops`` event loops (``asyncio.run``)
one after the other with one auth, as an application that calls ``asyncio.run`` more than once would.
The first mode of a run also pays the process's first use of httpx's async stack.

Heartbeat lag is wall time, so on a loaded machine it includes time the process was not scheduled at
all (the "no token requests" line shows that floor). The longest step is the other measure: the CPU
time of the loop thread's longest callback (a task step) while the token requests ran, which load
hardly changes.

    python bench/loop_stall.py [--tokens 20] [--loops 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

import httpx

from genesys_auth_adapter import ClientCredentials
from genesys_auth_adapter.emulator import Emulator
from genesys_auth_adapter.httpx import GenesysHttpxAuth

_BEAT = 0.001  # the heartbeat's sleep: lag is measured against it


class _LongestStep:
    """Records the loop thread's CPU time of the longest callback run while ``on`` (and installed)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.on = False
        self._run = asyncio.events.Handle._run

    def __enter__(self) -> _LongestStep:
        original, record = self._run, self

        def timed(handle: asyncio.events.Handle) -> None:
            if not record.on:
                original(handle)
                return
            started = time.thread_time()
            original(handle)
            record.longest = max(record.longest, time.thread_time() - started)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]


async def _heartbeat(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(_BEAT)
        lags.append(loop.time() - before - _BEAT)


async def _idle(seconds: float, step: _LongestStep) -> list[float]:
    """Lags with no token request at all: what the machine's load alone costs the loop."""
    lags: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(lags, stop))
    step.on = True
    await asyncio.sleep(seconds)
    step.on = False
    stop.set()
    await beat
    return lags


async def _token_requests(
    auth: GenesysHttpxAuth | None, creds: ClientCredentials, tokens: int, step: _LongestStep
) -> list[float]:
    """Lags during ``tokens`` token requests by ``auth``, or (None) by an auth with a prebuilt ``async_http``."""
    client = httpx.AsyncClient() if auth is None else None  # built before the heartbeat starts
    used = auth if auth is not None else GenesysHttpxAuth(creds, async_http=client)
    lags: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(lags, stop))
    await asyncio.sleep(0.01)  # the heartbeat runs before the first token request
    step.on = True
    try:
        for _ in range(tokens):
            current = used.state.current
            if current is not None:
                used.state.discard(current.header)
            await used.atoken()
    finally:
        step.on = False
        stop.set()
        await beat
        if client is not None:
            await client.aclose()
    return lags


def _serve(answer: Connection, stop: Event) -> None:
    """The emulator, in a process of its own until ``stop`` is set (bounded: a lost parent ends it)."""
    with Emulator() as emu:
        answer.send(emu.env())
        stop.wait(600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20, help="token requests per loop")
    parser.add_argument("--loops", type=int, default=3, help="event loops (asyncio.run) per auth")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    server = context.Process(target=_serve, args=(send, stop), daemon=True)
    server.start()
    try:
        if not receive.poll(60):
            raise SystemExit("the emulator did not start within 60 s")
        env = receive.recv()
        creds = ClientCredentials(
            env["GENESYS_CLIENT_ID"],
            env["GENESYS_CLIENT_SECRET"],
            api_url=env["GENESYS_API_URL"],
            login_url=env["GENESYS_LOGIN_URL"],
        )
        for name, prebuilt in (("default (no async_http)", False), ("async_http= a prebuilt client", True)):
            auth = None if prebuilt else GenesysHttpxAuth(creds)
            started = time.perf_counter()
            lags: list[float] = []
            with _LongestStep() as step:
                for _ in range(args.loops):
                    lags += asyncio.run(_token_requests(auth, creds, args.tokens, step))
            elapsed = time.perf_counter() - started
            print(f"{name}: {args.loops} loops x {args.tokens} token requests in {elapsed:.2f} s")
            _report(lags, step.longest)
        print("no token requests: 1 s of heartbeat alone (the machine's noise floor)")
        with _LongestStep() as step:
            _report(asyncio.run(_idle(1.0, step)), step.longest)
    finally:
        stop.set()
        server.join(10)


def _report(lags: list[float], longest_step: float) -> None:
    print(
        f"    heartbeat lag max {max(lags) * 1e3:6.1f} ms, p99 {_p99(lags) * 1e3:5.1f} ms, "
        f"median {statistics.median(lags) * 1e3:4.2f} ms; longest loop step {longest_step * 1e3:5.1f} ms CPU"
    )


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


if __name__ == "__main__":
    main()
