"""A child process for the file store tests: ``python file_store_worker.py MODE DIRECTORY KEY [N]``.

It prints ``ready`` and waits for one line on stdin (the parent's barrier) before it starts, then:

- ``count N``: N times, under the fetch lock, add one to the number in ``<DIRECTORY>/counter``;
  prints ``done``.
- ``hold``: takes the fetch lock, prints ``held``, and waits (at most 60 s) to be killed.
- ``read``: reads the raw entry file in a loop (printing ``reading`` after the first read) until stdin
  says ``stop`` (at most 30 s); prints ``reads=<n> torn=<m>``, torn counting reads that were not a
  whole entry.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from genesys_auth_adapter.stores.base import StoredToken, StoreError
from genesys_auth_adapter.stores.file import FileTokenStore


def count(store: FileTokenStore, key: str, times: int) -> None:
    counter = store.path / "counter"
    for _ in range(times):
        lease = store.acquire(key, wait=20)
        if lease is None:
            sys.exit("the lock was not taken within 20 s")
        try:
            value = int(counter.read_text() or "0")
            time.sleep(0.001)  # widens the window a lock that let two holders in would show
            counter.write_text(str(value + 1))
        finally:
            lease.release()
    print("done", flush=True)


def hold(store: FileTokenStore, key: str) -> None:
    lease = store.acquire(key, wait=0)
    print("held" if lease is not None else "busy", flush=True)
    time.sleep(60)


def read(store: FileTokenStore, key: str) -> None:
    entry = store.path / f"{key}.json"
    stop = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    reads = torn = 0
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            StoredToken.from_json(entry.read_bytes())
        except (OSError, StoreError):
            torn += 1
        reads += 1
        if reads == 1:
            print("reading", flush=True)
    print(f"reads={reads} torn={torn}", flush=True)


def main() -> None:
    mode, directory, key = sys.argv[1:4]
    store = FileTokenStore(Path(directory))
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "count":
        count(store, key, int(sys.argv[4]))
    elif mode == "hold":
        hold(store, key)
    elif mode == "read":
        read(store, key)
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
