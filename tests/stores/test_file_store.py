"""FileTokenStore and AsyncFileTokenStore on real files: privacy, links, corruption, atomicity, locks."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from genesys_auth_adapter.errors import ConfigurationError
from genesys_auth_adapter.stores import file as file_module
from genesys_auth_adapter.stores.base import Lease, StoredToken, StoreError, store_key
from genesys_auth_adapter.stores.file import AsyncFileTokenStore, FileTokenStore

from .children import Child

KEY = store_key("https://login.mypurecloud.com", "client-1", "client_credentials")
TOKEN = StoredToken("tok-SECRET-0123456789abcdef", "bearer", 2_000_000_000.0, 1_999_913_600.0)
OTHER = StoredToken("tok-OTHER-fedcba9876543210", "bearer", 2_000_086_400.0, 2_000_000_000.0)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "tokens"


@pytest.fixture
def store(directory: Path) -> FileTokenStore:
    return FileTokenStore(directory)


@pytest.fixture
def store_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="genesys_auth_adapter.store")
    return caplog


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genesys_auth_adapter.store"]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def entry(store: FileTokenStore) -> Path:
    return store.path / f"{KEY}.json"


def make_foreign(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give ``path`` to another user: for real as root, else by making the store see it so."""
    if os.geteuid() == 0:
        os.chown(path, 4242, 4242, follow_symlinks=False)
        return
    inode = os.lstat(path).st_ino
    owned = file_module._owned_by_me
    monkeypatch.setattr(file_module, "_owned_by_me", lambda st: st.st_ino != inode and owned(st))


# -- Round trip, location, privacy ---------------------------------------------------------------


def test_a_saved_token_loads_back_from_a_private_file_in_a_private_directory(store: FileTokenStore) -> None:
    assert store.load(KEY) is None
    store.save(KEY, TOKEN)
    assert store.load(KEY) == TOKEN
    assert store.load(KEY[:-1] + "0" if KEY[-1] != "0" else KEY[:-1] + "1") is None
    assert mode(store.path) == 0o700
    assert mode(entry(store)) == 0o600
    store.save(KEY, OTHER)
    assert store.load(KEY) == OTHER
    assert "SECRET" not in repr(store)


def test_the_default_directory_is_the_per_user_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def user_cache_dir(appname: str, *args: Any, **kwargs: Any) -> str:
        asked.append(appname)
        return str(tmp_path / "cache" / appname)

    monkeypatch.setattr(platformdirs, "user_cache_dir", user_cache_dir)
    store = FileTokenStore()
    store.save(KEY, TOKEN)
    assert asked == ["genesys-auth-adapter"]
    assert store.path == tmp_path / "cache" / "genesys-auth-adapter"
    assert entry(store).is_file() and mode(store.path) == 0o700


def test_a_given_path_may_start_with_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = FileTokenStore("~/tokens")
    assert store.path == tmp_path / "tokens"
    store.save(KEY, TOKEN)
    assert (tmp_path / "tokens" / f"{KEY}.json").is_file()


def test_every_file_and_the_directory_are_private_from_creation_even_under_an_open_umask(
    store: FileTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins: no moment when another user can read a token (created 0600/0700, not tightened after)."""
    created: list[tuple[str, int]] = []
    real_open, real_mkdir = os.open, os.mkdir

    def spy_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        new = flags & os.O_CREAT and not os.path.lexists(path)
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        if new:
            created.append((os.fspath(path), mode))
        return fd

    def spy_mkdir(path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        real_mkdir(path, mode, dir_fd=dir_fd)
        created.append((os.fspath(path), mode))

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "mkdir", spy_mkdir)
    old_umask = os.umask(0)
    try:
        store.save(KEY, TOKEN)
        lease = store.acquire(KEY, wait=0)
        assert lease is not None
        lease.release()
    finally:
        os.umask(old_umask)
    ours = [
        (Path(path).name, mode)
        for path, mode in created
        if Path(path) == store.path or store.path in Path(path).parents
    ]
    assert {name for name, _ in ours} == {"tokens", f"{KEY}.json.tmp", f"{KEY}.entry.lock", f"{KEY}.lock"}
    assert [(name, mode & 0o077) for name, mode in ours] == [(name, 0) for name, _ in ours]
    assert mode(store.path) == 0o700 and mode(entry(store)) == 0o600
    assert mode(store.path / f"{KEY}.lock") == 0o600


def test_a_bad_entry_lock_timeout_is_refused() -> None:
    for bad in (0, -1, float("inf"), float("nan"), "5"):
        with pytest.raises(ConfigurationError, match="entry_lock_timeout must be a positive number"):
            FileTokenStore("/nonexistent", entry_lock_timeout=bad)  # type: ignore[arg-type]


# -- The directory policy: refused when unsafe, never changed ------------------------------------


def test_an_existing_directory_open_to_other_users_is_refused_and_left_as_it_is(directory: Path) -> None:
    directory.mkdir()
    os.chmod(directory, 0o755)
    store = FileTokenStore(directory)
    with pytest.raises(StoreError, match=r"open to other users \(mode 755\); run `chmod 700 "):
        store.save(KEY, TOKEN)
    with pytest.raises(StoreError, match="open to other users"):
        store.load(KEY)
    with pytest.raises(StoreError, match="open to other users"):
        store.acquire(KEY, wait=0)
    assert mode(directory) == 0o755
    assert list(directory.iterdir()) == []


def test_a_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    store = FileTokenStore(tmp_path / "link")
    with pytest.raises(StoreError, match="is a symbolic link, which the store never follows"):
        store.save(KEY, TOKEN)
    with pytest.raises(StoreError, match="symbolic link"):
        store.acquire(KEY, wait=0)
    assert list(real.iterdir()) == []


def test_a_directory_of_another_user_is_refused(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory.mkdir(mode=0o700)
    make_foreign(directory, monkeypatch)
    with pytest.raises(StoreError, match="belongs to another user"):
        FileTokenStore(directory).load(KEY)


def test_an_uncreatable_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    store = FileTokenStore(tmp_path / "a-file" / "tokens")
    with pytest.raises(StoreError, match="cannot create the token store directory"):
        store.save(KEY, TOKEN)
    with pytest.raises(StoreError, match="cannot create the token store directory"):
        store.load(KEY)
    with pytest.raises(StoreError, match="is not a directory"):
        FileTokenStore(tmp_path / "a-file").load(KEY)


@pytest.mark.parametrize("key", ["../escape", "", "a/b", "x" * 129, "a.b", "ключ"])
def test_a_key_that_is_not_a_plain_name_is_refused(store: FileTokenStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(StoreError, match="a store key is 1-128 letters"):
        store.save(key, TOKEN)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- Bad entries: a miss with one warning, replaced by the next save ----------------------------


def test_a_symlinked_entry_is_a_miss_with_one_warning_and_the_next_save_replaces_the_link(
    store: FileTokenStore, tmp_path: Path, store_log: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(OTHER.to_json())
    os.chmod(elsewhere, 0o600)
    store.save(KEY, TOKEN)
    entry(store).unlink()
    entry(store).symlink_to(elsewhere)
    assert store.load(KEY) is None
    assert store.load(KEY) is None
    assert store.delete_if(KEY, OTHER.access_token) is False
    [warning] = warnings_of(store_log)
    assert str(entry(store)) in warning and "is a symbolic link" in warning
    store.save(KEY, TOKEN)
    assert not entry(store).is_symlink()
    assert store.load(KEY) == TOKEN
    assert elsewhere.read_bytes() == OTHER.to_json()


CORRUPT = {
    "truncated": TOKEN.to_json()[: len(TOKEN.to_json()) // 2],
    "garbage": bytes(range(256)),
    "JSON of another shape": b'{"token": "tok-SECRET-0123456789abcdef", "expires": 1}',
    "a JSON list": b"[1, 2]",
    "empty": b"",
    "oversized": b'{"access_token": "' + b"x" * 70_000 + b'"}',
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_entry_is_a_miss_with_one_warning_and_the_next_save_replaces_it(
    store: FileTokenStore, store_log: pytest.LogCaptureFixture, content: bytes
) -> None:
    store.save(KEY, TOKEN)
    entry(store).write_bytes(content)  # in place: still 0600 and ours
    assert store.load(KEY) is None
    assert store.load(KEY) is None
    [warning] = warnings_of(store_log)
    assert str(entry(store)) in warning and "treating it as missing" in warning
    assert "SECRET" not in store_log.text
    store.save(KEY, OTHER)
    assert store.load(KEY) == OTHER
    entry(store).write_bytes(content)  # a new corruption is reported again
    assert store.load(KEY) is None
    assert len(warnings_of(store_log)) == 2


def test_an_entry_readable_by_other_users_is_a_miss_with_one_warning(
    store: FileTokenStore, store_log: pytest.LogCaptureFixture
) -> None:
    store.save(KEY, TOKEN)
    os.chmod(entry(store), 0o644)
    assert store.load(KEY) is None
    assert store.load(KEY) is None
    [warning] = warnings_of(store_log)
    assert "is readable by other users (mode 644)" in warning
    store.save(KEY, TOKEN)
    assert mode(entry(store)) == 0o600 and store.load(KEY) == TOKEN


def test_an_entry_of_another_user_is_a_miss_with_one_warning(
    store: FileTokenStore, store_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(KEY, TOKEN)
    make_foreign(entry(store), monkeypatch)
    assert store.load(KEY) is None
    assert store.load(KEY) is None
    [warning] = warnings_of(store_log)
    assert "belongs to another user" in warning
    store.save(KEY, OTHER)
    assert store.load(KEY) == OTHER


@pytest.mark.timeout(15)
def test_a_fifo_or_a_directory_in_place_of_the_entry_is_a_miss_and_never_hangs_a_reader(
    store: FileTokenStore, store_log: pytest.LogCaptureFixture
) -> None:
    store.save(KEY, TOKEN)
    entry(store).unlink()
    os.mkfifo(entry(store), 0o600)
    assert store.load(KEY) is None
    store.save(KEY, TOKEN)
    assert store.load(KEY) == TOKEN
    entry(store).unlink()
    entry(store).mkdir(mode=0o700)
    assert store.load(KEY) is None
    with pytest.raises(StoreError, match="cannot write the token store entry"):
        store.save(KEY, TOKEN)
    assert [w.count("is not a regular file") for w in warnings_of(store_log)] == [1, 1]


# -- Filesystem failures and atomic replacement --------------------------------------------------


def test_a_failed_write_is_a_store_error_that_keeps_the_old_entry_and_leaves_no_temp_file(
    store: FileTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(KEY, TOKEN)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError, match=r"cannot write the token store entry .*No space left on device") as caught:
        store.save(KEY, OTHER)
    assert "OTHER" not in str(caught.value) and "SECRET" not in str(caught.value)
    monkeypatch.undo()
    assert store.load(KEY) == TOKEN
    assert sorted(p.name for p in store.path.iterdir()) == [f"{KEY}.entry.lock", f"{KEY}.json"]


def test_a_temp_file_left_by_a_killed_writer_does_not_stop_the_next_save(store: FileTokenStore) -> None:
    store.save(KEY, TOKEN)
    (store.path / f"{KEY}.json.tmp").write_bytes(b'{"access_token": "half')
    store.save(KEY, OTHER)
    assert store.load(KEY) == OTHER
    assert not (store.path / f"{KEY}.json.tmp").exists()


def test_a_reader_in_another_process_never_sees_a_half_written_entry(store: FileTokenStore) -> None:
    tokens = [StoredToken("L" * 40_000, "bearer", 2e9, 1.9e9), StoredToken("s" * 20, "bearer", 2e9, 1.9e9)]
    store.save(KEY, tokens[0])
    with Child("read", str(store.path), KEY) as reader:
        reader.expect("ready")
        reader.send("go")
        reader.expect("reading")
        for i in range(200):
            store.save(KEY, tokens[i % 2])
        reader.send("stop")
        result = reader.line()
    reads, torn = (int(part.split("=")[1]) for part in result.split())
    assert torn == 0
    assert reads > 10


# -- Compare-and-delete ---------------------------------------------------------------------------


def test_delete_if_removes_the_entry_only_while_it_holds_the_token_that_failed(store: FileTokenStore) -> None:
    assert store.delete_if(KEY, TOKEN.access_token) is False
    store.save(KEY, TOKEN)
    assert store.delete_if(KEY, OTHER.access_token) is False
    assert store.load(KEY) == TOKEN
    assert store.delete_if(KEY, TOKEN.access_token) is True
    assert store.load(KEY) is None
    assert store.delete_if(KEY, TOKEN.access_token) is False


def test_no_save_slips_between_the_read_and_the_unlink_of_delete_if(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins: a delete_if that read the failed token must not remove a newer token saved meanwhile."""
    store = FileTokenStore(directory)
    other_process = FileTokenStore(directory, entry_lock_timeout=0.2)  # its own lock descriptors
    store.save(KEY, TOKEN)
    outcome: list[str] = []
    real_load = store.load

    def load_then_race(key: str) -> StoredToken | None:
        found = real_load(key)
        try:
            other_process.save(key, OTHER)
            outcome.append("saved in between")
        except StoreError as exc:
            outcome.append(str(exc))
        return found

    monkeypatch.setattr(store, "load", load_then_race)
    assert store.delete_if(KEY, TOKEN.access_token) is True
    assert len(outcome) == 1 and "has held" in outcome[0] and "for over 0.2 s" in outcome[0]
    other_process.save(KEY, OTHER)
    assert other_process.load(KEY) == OTHER


# -- The fetch lock: threads and processes --------------------------------------------------------


def test_acquire_with_no_wait_tries_once_and_a_lease_releases_once(store: FileTokenStore) -> None:
    lease = store.acquire(KEY, wait=0)
    assert lease is not None
    assert store.acquire(KEY, wait=0) is None
    started = time.monotonic()
    assert store.acquire(KEY, wait=0.3) is None
    assert 0.3 <= time.monotonic() - started < 2.0
    lease.release()
    lease.release()
    again = store.acquire(KEY, wait=0)
    assert again is not None
    assert store.acquire(KEY, wait=0) is None  # the second release did not free the new holder's lock
    again.release()


def test_threads_of_one_process_exclude_each_other(store: FileTokenStore) -> None:
    threads, rounds = 4, 25
    barrier = threading.Barrier(threads)
    guard = threading.Lock()
    inside = overlap = total = 0
    failures: list[str] = []

    def work() -> None:
        nonlocal inside, overlap, total
        barrier.wait(timeout=10)
        for _ in range(rounds):
            lease = store.acquire(KEY, wait=20)
            if lease is None:
                failures.append("not taken in 20 s")
                return
            with guard:
                inside += 1
                overlap = max(overlap, inside)
            value = total
            time.sleep(0.001)  # widens the window a lock that let two holders in would show
            total = value + 1
            with guard:
                inside -= 1
            lease.release()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert failures == []
    assert (overlap, total) == (1, threads * rounds)


def test_a_lease_taken_in_one_thread_is_released_from_another(store: FileTokenStore) -> None:
    """Pins: the async store takes the lock in a worker thread that lives on and releases it on the loop."""
    leases: list[Lease | None] = []
    taken, done = threading.Event(), threading.Event()

    def take_and_stay() -> None:
        leases.append(store.acquire(KEY, wait=0))
        taken.set()
        done.wait(10)  # the taking thread outlives the release, as an executor's thread does

    taker = threading.Thread(target=take_and_stay)
    taker.start()
    try:
        assert taken.wait(10)
        [lease] = leases
        assert lease is not None
        assert store.acquire(KEY, wait=0) is None
        lease.release()
        again = store.acquire(KEY, wait=0)
        assert again is not None
        again.release()
    finally:
        done.set()
        taker.join(10)


def test_a_fetch_lock_holder_can_save_and_delete(store: FileTokenStore) -> None:
    """Pins the lock order: the entry lock is separate, so the fetch lock's holder never waits on itself."""
    lease = store.acquire(KEY, wait=0)
    assert lease is not None
    store.save(KEY, TOKEN)
    assert store.delete_if(KEY, TOKEN.access_token) is True
    store.save(KEY, OTHER)
    lease.release()
    assert store.load(KEY) == OTHER


def test_processes_never_lose_an_update_made_under_the_lock(store: FileTokenStore) -> None:
    processes, rounds = 4, 25
    lease = store.acquire(KEY, wait=0)  # creates the directory
    assert lease is not None
    lease.release()
    (store.path / "counter").write_text("0")
    children = [Child("count", str(store.path), KEY, str(rounds)) for _ in range(processes)]
    try:
        for child in children:
            child.expect("ready")
        for child in children:  # every child is waiting: they start together
            child.send("go")
        for child in children:
            child.expect("done")
    finally:
        for child in children:
            child.__exit__(None, None, None)
    assert int((store.path / "counter").read_text()) == processes * rounds


def test_a_lock_holder_killed_with_sigkill_does_not_block_the_next_acquirer(store: FileTokenStore) -> None:
    with Child("hold", str(store.path), KEY) as holder:
        holder.expect("ready")
        holder.send("go")
        holder.expect("held")
        assert store.acquire(KEY, wait=0) is None
        holder.process.kill()
        holder.process.wait(30)
        started = time.monotonic()
        lease = store.acquire(KEY, wait=5)
        assert lease is not None
        assert time.monotonic() - started < 1.0
        lease.release()


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(store: FileTokenStore, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    store.save(KEY, TOKEN)
    (store.path / f"{KEY}.lock").symlink_to(victim)
    with pytest.raises(StoreError, match="is a symbolic link; remove it"):
        store.acquire(KEY, wait=0)
    assert victim.read_text() == "precious"


# -- The asyncio form -----------------------------------------------------------------------------


def test_the_async_store_keeps_tokens_like_the_sync_one(directory: Path) -> None:
    async def main() -> None:
        store = AsyncFileTokenStore(directory)
        assert await store.load(KEY) is None
        await store.save(KEY, TOKEN)
        assert await store.load(KEY) == TOKEN
        assert await store.delete_if(KEY, OTHER.access_token) is False
        assert await store.delete_if(KEY, TOKEN.access_token) is True
        await store.aclose()

    asyncio.run(main())
    assert FileTokenStore(directory).load(KEY) is None
    assert AsyncFileTokenStore(directory).path == directory


def test_async_acquire_waits_without_blocking_the_event_loop(store: FileTokenStore) -> None:
    held = store.acquire(KEY, wait=0)
    assert held is not None

    async def main() -> tuple[bool, int, float]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        started = loop.time()
        lease = await AsyncFileTokenStore(store.path).acquire(KEY, wait=0.5)
        elapsed = loop.time() - started
        stop.set()
        await ticking
        return lease is None, ticks, elapsed

    missed, ticks, elapsed = asyncio.run(main())
    held.release()
    assert missed
    assert 0.5 <= elapsed < 2.0
    assert ticks >= 10  # ~50 when the loop is free; a blocked loop ticks once at most


def test_async_acquire_takes_the_lock_when_its_holder_lets_go(store: FileTokenStore) -> None:
    held = store.acquire(KEY, wait=0)
    assert held is not None

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.1, held.release)
        lease = await AsyncFileTokenStore(store.path).acquire(KEY, wait=10)
        assert lease is not None
        assert store.acquire(KEY, wait=0) is None
        await lease.release()
        await lease.release()

    asyncio.run(main())
    again = store.acquire(KEY, wait=0)
    assert again is not None
    again.release()


def test_a_cancelled_async_acquire_leaves_the_lock_free(store: FileTokenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins: the attempt's thread takes the lock after its task was cancelled; the lock must not stay held."""
    in_attempt = threading.Event()
    proceed = threading.Event()
    real_acquire = FileTokenStore.acquire

    def slow_acquire(self: FileTokenStore, key: str, *, wait: float) -> Lease | None:
        in_attempt.set()
        proceed.wait(10)
        return real_acquire(self, key, wait=wait)

    monkeypatch.setattr(FileTokenStore, "acquire", slow_acquire)

    async def main() -> None:
        waiting = asyncio.create_task(AsyncFileTokenStore(store.path).acquire(KEY, wait=5))
        assert await asyncio.to_thread(in_attempt.wait, 10)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        proceed.set()  # the thread now takes the lock for a task that is gone

    asyncio.run(main())  # returns once the executor's threads are done
    monkeypatch.undo()
    lease = store.acquire(KEY, wait=0)
    assert lease is not None
    lease.release()
