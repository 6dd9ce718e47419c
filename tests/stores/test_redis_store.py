"""RedisTokenStore and AsyncRedisTokenStore against real Redis servers (the shared one, and servers of our own)."""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from genesys_auth_adapter.errors import ConfigurationError
from genesys_auth_adapter.stores.base import StoredToken, StoreError

from .conftest import HOW_TO_RUN, OwnRedis, free_port, in_ci

try:
    import redis
    import redis.asyncio
except ImportError:
    if in_ci():
        raise
    pytest.skip(f"the redis package is not installed: {HOW_TO_RUN}", allow_module_level=True)

from genesys_auth_adapter.stores.redis import AsyncRedisTokenStore, RedisTokenStore

from . import redis_workers

NOW = 1_800_000_000.0
KEY = "0123456789abcdef0123456789abcdef01234567"


def token(name: str = "tok-A", lifetime: float | None = 3600.0) -> StoredToken:
    return StoredToken(name, "bearer", None if lifetime is None else NOW + lifetime, NOW)


@pytest.fixture
def store(shared_redis: str, prefix: str) -> Iterator[RedisTokenStore]:
    s = RedisTokenStore(shared_redis, prefix=prefix)
    yield s
    s.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


# --- entries ---------------------------------------------------------------------------------------


def test_a_saved_token_loads_back_from_its_namespaced_key(store: RedisTokenStore, prefix: str, raw: Any) -> None:
    assert store.load(KEY) is None
    store.save(KEY, token())
    assert store.load(KEY) == token()
    assert raw.get(f"{prefix}:token:{KEY}") == token().to_json()
    store.save(KEY, token("tok-B"))
    assert store.load(KEY) == token("tok-B")


def test_two_prefixes_never_share_an_entry(shared_redis: str, store: RedisTokenStore, prefix: str) -> None:
    other = RedisTokenStore(shared_redis, prefix=f"{prefix}:other")
    store.save(KEY, token())
    assert other.load(KEY) is None
    other.close()


def test_delete_if_removes_only_the_token_that_failed(store: RedisTokenStore) -> None:
    assert store.delete_if(KEY, "tok-A") is False  # nothing stored
    store.save(KEY, token("tok-B"))  # another process stored a newer token after ours failed
    assert store.delete_if(KEY, "tok-A") is False
    assert store.load(KEY) == token("tok-B")
    assert store.delete_if(KEY, "tok-B") is True
    assert store.load(KEY) is None


def test_delete_if_compares_whole_tokens_with_json_escapes(store: RedisTokenStore) -> None:
    odd = 'tök"\\/\u2028'
    store.save(KEY, token(odd))
    assert store.delete_if(KEY, odd[:-1]) is False
    assert store.delete_if(KEY, odd + "x") is False
    assert store.delete_if(KEY, odd) is True


def test_a_corrupt_entry_is_a_store_error_that_does_not_quote_it(store: RedisTokenStore, prefix: str, raw: Any) -> None:
    raw.set(f"{prefix}:token:{KEY}", b'{"access_token": "secret-in-junk"')
    with pytest.raises(StoreError) as caught:
        store.load(KEY)
    assert "secret-in-junk" not in str(caught.value)
    assert store.delete_if(KEY, "secret-in-junk") is False  # not our JSON: left for a save to replace
    raw.delete(f"{prefix}:token:{KEY}")
    raw.rpush(f"{prefix}:token:{KEY}", "not-a-string")  # a foreign value of another type
    with pytest.raises(StoreError, match="WRONGTYPE"):
        store.load(KEY)
    store.save(KEY, token())
    assert store.load(KEY) == token()


@pytest.mark.parametrize(
    ("lifetime", "low", "high"),
    [
        (3600.0, 3600 + 60 - 5, 3600 + 60),  # the token's lifetime plus the margin
        (None, 24 * 3600 - 5, 24 * 3600),  # no expiry: the default
        (30 * 24 * 3600.0, 7 * 24 * 3600 - 5, 7 * 24 * 3600),  # bounded
        (-50.0, 55, 60),  # already expired: just the margin
    ],
)
def test_entries_expire_a_little_after_their_token(
    store: RedisTokenStore, prefix: str, raw: Any, lifetime: float | None, low: float, high: float
) -> None:
    store.save(KEY, token(lifetime=lifetime))
    assert low * 1000 <= raw.pttl(f"{prefix}:token:{KEY}") <= high * 1000


def test_ttl_settings_are_used_and_checked(shared_redis: str, prefix: str, raw: Any) -> None:
    s = RedisTokenStore(shared_redis, prefix=prefix, ttl_margin=0, default_ttl=120, max_ttl=600)
    s.save(KEY, token(lifetime=300))
    assert 295_000 <= raw.pttl(f"{prefix}:token:{KEY}") <= 300_000
    s.save(KEY, token(lifetime=None))
    assert 115_000 <= raw.pttl(f"{prefix}:token:{KEY}") <= 120_000
    s.close()
    for bad in ({"lease": 0}, {"read_timeout": float("nan")}, {"ttl_margin": -1}, {"max_ttl": True}):
        with pytest.raises(ConfigurationError, match=next(iter(bad))):
            RedisTokenStore(shared_redis, prefix=prefix, **bad)


# --- the fetch lock ----------------------------------------------------------------------------------


def test_the_lock_is_a_lease_held_by_one_store_at_a_time(
    shared_redis: str, store: RedisTokenStore, prefix: str, raw: Any
) -> None:
    other = RedisTokenStore(shared_redis, prefix=prefix, lease=5)
    lease = store.acquire(KEY, wait=0)
    assert lease is not None
    assert 25_000 <= raw.pttl(f"{prefix}:lock:{KEY}") <= 30_000  # the default lease: 30 s
    assert other.acquire(KEY, wait=0) is None
    lease.release()
    lease.release()  # a second release is a no-op
    again = other.acquire(KEY, wait=0)
    assert again is not None
    assert 4_000 <= raw.pttl(f"{prefix}:lock:{KEY}") <= 5_000
    assert "held" in repr(again) and raw.get(f"{prefix}:lock:{KEY}").decode() not in repr(again)
    again.release()
    assert raw.exists(f"{prefix}:lock:{KEY}") == 0
    other.close()


def test_a_lease_that_ran_out_never_releases_the_next_holder(shared_redis: str, prefix: str, raw: Any) -> None:
    short = RedisTokenStore(shared_redis, prefix=prefix, lease=0.1)
    first = short.acquire(KEY, wait=0)
    assert first is not None
    second = short.acquire(KEY, wait=5)  # gets it once the first lease runs out
    assert second is not None
    raw.pexpire(f"{prefix}:lock:{KEY}", 30_000)  # keep the second holder's lock for the rest of the test
    first.release()
    assert raw.exists(f"{prefix}:lock:{KEY}") == 1
    assert short.acquire(KEY, wait=0) is None
    second.release()
    assert raw.exists(f"{prefix}:lock:{KEY}") == 0
    short.close()


def test_a_taken_lock_is_waited_for_no_longer_than_asked(store: RedisTokenStore) -> None:
    lease = store.acquire(KEY, wait=0)
    assert lease is not None
    started = time.monotonic()
    assert store.acquire(KEY, wait=0.3) is None
    assert 0.3 <= time.monotonic() - started < 0.8
    lease.release()
    with pytest.raises(ValueError, match="wait"):
        store.acquire(KEY, wait=float("inf"))


def test_waiters_wake_promptly_when_the_lock_is_released(store: RedisTokenStore) -> None:
    lease = store.acquire(KEY, wait=0)
    assert lease is not None
    waiting = threading.Barrier(2, timeout=10)
    got: list[float] = []

    def waiter() -> None:
        waiting.wait()
        taken = store.acquire(KEY, wait=10)
        got.append(time.monotonic())
        assert taken is not None
        taken.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    waiting.wait()
    time.sleep(0.4)  # the lock stays taken while the waiter polls and its pauses grow to the longest
    released = time.monotonic()
    lease.release()
    thread.join(10)
    assert got, "the waiter never got the lock"
    assert got[0] - released < 0.12


def test_the_lease_excludes_real_processes(shared_redis: str, prefix: str, raw: Any) -> None:
    processes, rounds = 4, 25
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    children = [
        spawn.Process(target=redis_workers.count_under_lease, args=(shared_redis, prefix, rounds, barrier))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(40)
    codes = [child.exitcode for child in children]
    for child in children:
        if child.is_alive():
            child.kill()
    assert codes == [0] * processes
    assert int(raw.get(f"{prefix}:overlaps") or 0) == 0
    assert int(raw.get(f"{prefix}:counter")) == processes * rounds


def test_a_holder_killed_mid_hold_blocks_the_others_at_most_its_lease(
    shared_redis: str, store: RedisTokenStore, prefix: str
) -> None:
    lease = 1.0
    spawn = multiprocessing.get_context("spawn")
    holding, never = spawn.Event(), spawn.Event()
    child = spawn.Process(target=redis_workers.hold_until_killed, args=(shared_redis, prefix, lease, holding, never))
    child.start()
    try:
        assert holding.wait(30), "the child never took the lock"
        child.kill()  # SIGKILL: no release, no cleanup
        child.join(10)
        killed = time.monotonic()
        assert store.acquire("shared", wait=0) is None  # still held by the dead process
        taken = store.acquire("shared", wait=lease + 1)
        assert taken is not None, "the lock of a killed holder was never freed"
        assert time.monotonic() - killed < lease + 0.3
        taken.release()
    finally:
        if child.is_alive():
            child.kill()


# --- faults ------------------------------------------------------------------------------------------


def test_a_stopped_redis_is_a_quick_store_error_and_a_restarted_one_works_again(
    own_redis: Callable[..., OwnRedis],
) -> None:
    server = own_redis()
    s = RedisTokenStore(server.url(), prefix="t")
    s.save(KEY, token())
    server.stop()
    for call in (lambda: s.load(KEY), lambda: s.save(KEY, token()), lambda: s.acquire(KEY, wait=5)):
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"127\.0\.0\.1:\d+/0"):
            call()
        assert time.monotonic() - started < 1.0
    server.start()
    assert s.load(KEY) is None  # a fresh server: empty, and reached again without any reset
    s.save(KEY, token())
    assert s.delete_if(KEY, "tok-A") is True  # the scripts are loaded again into the new server
    lease = s.acquire(KEY, wait=0)
    assert lease is not None
    lease.release()
    s.close()


def test_a_frozen_redis_costs_at_most_the_read_timeout(own_redis: Callable[..., OwnRedis]) -> None:
    server = own_redis()
    s = RedisTokenStore(server.url(), prefix="t", read_timeout=0.3)
    s.save(KEY, token())
    server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="Timeout"):
            s.load(KEY)
        assert time.monotonic() - started < 0.3 + 0.5
    finally:
        server.resume()
    assert s.load(KEY) == token()
    s.close()


def test_by_default_a_frozen_redis_costs_one_second_without_retries(own_redis: Callable[..., OwnRedis]) -> None:
    server = own_redis()
    s = RedisTokenStore(server.url(), prefix="t")
    assert s._client.connection_pool.connection_kwargs["socket_connect_timeout"] == 0.5
    s.save(KEY, token())
    server.pause()
    started = time.monotonic()
    with pytest.raises(StoreError, match="Timeout"):
        s.load(KEY)
    assert 0.9 <= time.monotonic() - started < 1.6  # one read timeout; a retry would double it
    server.resume()
    s.close()


def test_errors_never_carry_the_token_or_the_lease_redis_echoes(own_redis: Callable[..., OwnRedis]) -> None:
    """Redis quotes the arguments of a command it does not know; here SET and the scripts are disabled."""
    disabled = ("SET", "EVAL", "EVALSHA")
    server = own_redis(*(arg for name in disabled for arg in ("--rename-command", name, "")))
    s = RedisTokenStore(server.url(), prefix="t")
    short, long = "tok-very-secret", "tok-" + "long-secret-" * 20  # Redis cuts the long one short
    calls = [
        lambda: s.save(KEY, token(short)),
        lambda: s.save(KEY, token(long)),
        lambda: s.delete_if(KEY, short),
        lambda: s.delete_if(KEY, long),
        lambda: s.acquire(KEY, wait=0),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="unknown command") as caught:
            call()
        message = str(caught.value)
        assert "secret" not in message
        assert "args" not in message and "t:lock:" not in message  # nor the lease's key and value
    s.close()


def test_a_token_in_any_redis_error_is_hidden(shared_redis: str, prefix: str) -> None:
    class Quoting(redis.Redis):
        """A server (or proxy) that quotes the whole command when it refuses it."""

        def execute_command(self, *args: Any, **options: Any) -> Any:
            raise redis.ResponseError(f"ERR refused {args!r}")

    client = Quoting.from_url(shared_redis)
    s = RedisTokenStore(client=client, prefix=prefix)
    secret = "tok-quoted-secret"
    for call in (lambda: s.save(KEY, token(secret)), lambda: s.delete_if(KEY, secret)):
        with pytest.raises(StoreError, match="ERR refused") as caught:
            call()
        assert secret not in str(caught.value) and "***" in str(caught.value)
    client.close()


# --- URLs, passwords, TLS -------------------------------------------------------------------------------

PASSWORD = "pw-Zq8&s3cr3t"


def test_password_urls_work_and_never_show_the_password(own_redis: Callable[..., OwnRedis]) -> None:
    server = own_redis("--requirepass", PASSWORD)
    encoded = PASSWORD.replace("&", "%26")
    for url in (server.url(f":{encoded}"), server.url(f"default:{encoded}", db=2)):
        s = RedisTokenStore(url, prefix="t")
        s.save(KEY, token())
        assert s.load(KEY) == token()
        assert PASSWORD not in repr(s) and encoded not in repr(s) and "default" not in repr(s)
        assert f"127.0.0.1:{server.port}/" in repr(s)
        s.close()
    wrong = (server.url(":wrong-Zq8pw"), server.url("someone:wrong-Zq8pw"), server.url() + "?password=wrong-Zq8pw")
    for url in (*wrong, server.url()):
        s = RedisTokenStore(url, prefix="t")
        with pytest.raises(StoreError) as caught:
            s.load(KEY)
        assert "wrong-Zq8pw" not in str(caught.value) and "someone" not in str(caught.value)
        assert f"127.0.0.1:{server.port}/0" in str(caught.value)
        s.close()


def test_a_rediss_url_talks_tls_and_checks_the_certificate(
    own_redis: Callable[..., OwnRedis], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    tls_port = free_port()
    own_redis(
        "--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no", "--requirepass", PASSWORD,
    )  # fmt: skip
    auth = PASSWORD.replace("&", "%26")
    s = RedisTokenStore(f"rediss://:{auth}@127.0.0.1:{tls_port}/0?ssl_ca_certs={cert}", prefix="t")
    assert repr(s) == f"RedisTokenStore(127.0.0.1:{tls_port}/0 (TLS), prefix='t')"
    s.save(KEY, token())
    assert s.load(KEY) == token()
    s.close()
    a = AsyncRedisTokenStore(f"rediss://:{auth}@127.0.0.1:{tls_port}/0?ssl_ca_certs={cert}", prefix="t")
    assert run(a.load(KEY)) == token()
    for url in (f"rediss://:{auth}@127.0.0.1:{tls_port}/0", f"redis://:{auth}@127.0.0.1:{tls_port}/0"):
        refused = RedisTokenStore(url, prefix="t")  # an unknown certificate; no TLS at all
        started = time.monotonic()
        with pytest.raises(StoreError, match=f"127.0.0.1:{tls_port}/0") as caught:
            refused.load(KEY)
        assert time.monotonic() - started < 1.6
        assert PASSWORD not in str(caught.value) and auth not in str(caught.value)
        refused.close()


def test_tls_and_socket_urls_are_accepted(prefix: str) -> None:
    tls = RedisTokenStore("rediss://user:tls-Zq8pw@cache.example:6380/4", prefix=prefix)
    assert repr(tls) == f"RedisTokenStore(cache.example:6380/4 (TLS), prefix={prefix!r})"
    assert tls._client.connection_pool.connection_class is redis.SSLConnection
    unix = RedisTokenStore("unix:///run/redis.sock?db=3", prefix=prefix)
    assert repr(unix) == f"RedisTokenStore(unix:/run/redis.sock?db=3, prefix={prefix!r})"
    assert repr(RedisTokenStore("redis://[::1]", prefix=prefix)) == f"RedisTokenStore([::1]:6379/0, prefix={prefix!r})"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://:bad-Zq8pw@host:6379/0", "must start with redis://"),
        ("redis://:bad-Zq8pw@host:99999/0", "malformed"),
        ("redis://:bad-Zq8pw@/0", "no host"),
        ("redis://:bad-Zq8pw@host:6379/notadb", "must be a number"),
        ("redis://:bad-Zq8pw@host:6379/0?db=x", "must be a number"),
        ("", "pass a Redis URL"),
        (":bad-Zq8pw@localhost:6379", "give a Redis URL with its scheme, such as 'redis://localhost:6379/0'"),
    ],
)
def test_bad_urls_are_refused_without_quoting_them(url: str, message: str) -> None:
    for cls in (RedisTokenStore, AsyncRedisTokenStore):
        with pytest.raises(ConfigurationError, match=message) as caught:
            cls(url)
        assert "bad-Zq8pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("localhost:6379", "redis://localhost:6379/0"),
        ("localhost", "redis://localhost:6379/0"),
        ("10.0.0.5:6380/2", "redis://10.0.0.5:6380/2"),
    ],
)
def test_an_address_without_a_scheme_gets_the_url_to_write_instead(address: str, url: str) -> None:
    """Pins: RedisTokenStore("localhost:6379") refused as a URL of scheme 'localhost', not saying what to write."""
    for cls in (RedisTokenStore, AsyncRedisTokenStore):
        with pytest.raises(ConfigurationError) as caught:
            cls(address)
        assert f"give a Redis URL with its scheme, such as {url!r}" in str(caught.value)


def test_a_url_or_a_client_is_needed_not_both(shared_redis: str) -> None:
    client = redis.Redis.from_url(shared_redis)
    for kwargs in ({}, {"url": shared_redis, "client": client}):
        with pytest.raises(ConfigurationError, match="either a Redis URL or client="):
            RedisTokenStore(**kwargs)
    client.close()


def test_a_given_client_is_used_and_never_closed(shared_redis: str, prefix: str) -> None:
    client = redis.Redis(host="127.0.0.1", port=6379, db=0, single_connection_client=True)
    connection_id = client.client_id()
    s = RedisTokenStore(client=client, prefix=prefix)
    assert repr(s) == f"RedisTokenStore(127.0.0.1:6379/0, prefix={prefix!r})"
    s.save(KEY, token())
    assert s.load(KEY) == token()
    s.close()
    assert client.client_id() == connection_id  # the same connection: not closed and reopened
    client.close()


def test_the_core_imports_without_redis_and_the_store_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import genesys_auth_adapter, genesys_auth_adapter.stores.base\n"
        "try:\n"
        "    import genesys_auth_adapter.stores.redis\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    # Installs that work today: the package is not on the index, so not 'genesys-auth-adapter[redis]'.
    assert "pip install '.[redis]'" in result.stdout
    assert "pip install 'redis>=4.5.4'" in result.stdout
    assert "genesys-auth-adapter[" not in result.stdout


# --- asyncio -----------------------------------------------------------------------------------------


def run(coroutine: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, 20)

    return asyncio.run(bounded())


def test_the_async_store_has_the_same_semantics(shared_redis: str, prefix: str, raw: Any) -> None:
    async def scenario() -> None:
        s = AsyncRedisTokenStore(shared_redis, prefix=prefix)
        other = AsyncRedisTokenStore(shared_redis, prefix=prefix)
        assert await s.load(KEY) is None
        await s.save(KEY, token("tok-B"))
        assert await other.load(KEY) == token("tok-B")
        assert 3_655_000 <= raw.pttl(f"{prefix}:token:{KEY}") <= 3_660_000
        assert await s.delete_if(KEY, "tok-A") is False
        assert await s.delete_if(KEY, "tok-B") is True
        assert await s.load(KEY) is None
        lease = await s.acquire(KEY, wait=0)
        assert lease is not None
        assert await other.acquire(KEY, wait=0) is None
        await lease.release()
        again = await other.acquire(KEY, wait=0)
        assert again is not None
        await again.release()
        assert raw.exists(f"{prefix}:lock:{KEY}") == 0
        await s.aclose()
        await other.aclose()

    run(scenario())


def test_an_async_wait_for_the_lock_never_blocks_the_loop(shared_redis: str, prefix: str) -> None:
    async def scenario() -> None:
        s = AsyncRedisTokenStore(shared_redis, prefix=prefix)
        lease = await s.acquire(KEY, wait=0)
        assert lease is not None
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.ensure_future(ticker())
        waiter = asyncio.ensure_future(s.acquire(KEY, wait=10))
        await asyncio.sleep(0.4)
        assert not waiter.done()
        assert ticks >= 20  # about 40 if nothing blocks the loop
        released = time.monotonic()
        await lease.release()
        taken = await waiter
        assert taken is not None and time.monotonic() - released < 0.12
        await taken.release()
        ticking.cancel()
        await s.aclose()

    run(scenario())


def test_a_cancelled_async_acquire_leaves_no_lock_behind(shared_redis: str, prefix: str, raw: Any) -> None:
    class SlowAnswers(redis.asyncio.Redis):
        """Cancelled after the SET reached Redis and before its answer was handed back."""

        async def set(self, *args: Any, **kwargs: Any) -> Any:
            result = await super().set(*args, **kwargs)
            await asyncio.sleep(30)
            return result

    async def scenario() -> None:
        client = SlowAnswers.from_url(shared_redis)
        s = AsyncRedisTokenStore(client=client, prefix=prefix)
        attempt = asyncio.ensure_future(s.acquire(KEY, wait=0))
        while not raw.exists(f"{prefix}:lock:{KEY}"):
            await asyncio.sleep(0.005)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        await s.aclose()
        assert raw.exists(f"{prefix}:lock:{KEY}") == 0
        assert await client.ping()  # the given client is still open
        await client.aclose() if hasattr(client, "aclose") else await client.close()

    run(scenario())


def test_an_async_store_serves_any_event_loop_and_keeps_no_connection(own_redis: Callable[..., OwnRedis]) -> None:
    server = own_redis()
    watcher = redis.Redis.from_url(server.url())
    s = AsyncRedisTokenStore(server.url(), prefix="t")

    def clients() -> int:
        return int(watcher.info("clients")["connected_clients"])

    def sets() -> int:
        return int(watcher.info("commandstats").get("cmdstat_set", {}).get("calls", 0))

    async def hold_then_cancel() -> None:
        lease = await s.acquire(KEY, wait=0)
        assert lease is not None
        sets_before = sets()
        waiting = asyncio.ensure_future(s.acquire(KEY, wait=10))
        while sets() == sets_before:  # cancel only once the waiter has tried the held lock (it then retries)
            await asyncio.sleep(0.005)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await lease.release()

    run(s.save(KEY, token()))  # each run() is a new event loop
    assert run(s.load(KEY)) == token()
    run(hold_then_cancel())
    assert run(s.delete_if(KEY, "tok-A")) is True
    wait_until(lambda: clients() == 1, 5, "every call to close its connection")  # only the watcher is left
    assert watcher.keys("t:*") == []
    watcher.close()


@pytest.mark.parametrize("call", ["acquire", "load", "save", "delete_if"])
def test_a_cancellation_that_arrives_as_a_command_is_written_is_not_lost(
    own_redis: Callable[..., OwnRedis], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    # redis-py writes a command under asyncio.wait_for, which before Python 3.12 drops a cancellation that
    # arrives just as the write completes; the cancel is sent from inside the write to hit that moment.
    server = own_redis()
    watcher = redis.Redis.from_url(server.url())
    s = AsyncRedisTokenStore(server.url(), prefix="t")
    calls = {
        "acquire": (b"SET", lambda: s.acquire(KEY, wait=3)),
        "load": (b"GET", lambda: s.load(KEY)),
        "save": (b"SET", lambda: s.save(KEY, token())),
        "delete_if": (b"EVALSHA", lambda: s.delete_if(KEY, "tok-A")),
    }
    command, start = calls[call]
    marker = b"\r\n" + command + b"\r\n"
    target: list[asyncio.Future[Any]] = []  # the call's task, until it has been cancelled once
    writes = next(c for c in redis.asyncio.connection.Connection.__mro__ if "_send_packed_command" in vars(c))
    write = writes._send_packed_command  # type: ignore[attr-defined]

    async def write_then_cancel(self: Any, packed: Any) -> None:
        await write(self, packed)
        if target and marker in b"".join(packed):
            target.pop().cancel()

    async def scenario() -> None:
        await s.save(KEY, token())
        monkeypatch.setattr(writes, "_send_packed_command", write_then_cancel)
        task = asyncio.ensure_future(start())
        target.append(task)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not target, "the cancel was sent"
        monkeypatch.undo()

    run(scenario())
    assert watcher.exists(f"t:lock:{KEY}") == 0  # an acquire whose SET took the lock gave it back
    wait_until(lambda: int(watcher.info("clients")["connected_clients"]) == 1, 5, "the call to close its connection")
    watcher.close()


def test_the_async_store_fails_fast_when_redis_is_gone(own_redis: Callable[..., OwnRedis]) -> None:
    server = own_redis()

    async def scenario() -> None:
        s = AsyncRedisTokenStore(server.url(), prefix="t", read_timeout=0.3)
        await s.save(KEY, token())
        server.pause()
        started = time.monotonic()
        with pytest.raises(StoreError, match="Timeout"):
            await s.load(KEY)
        assert time.monotonic() - started < 0.8
        server.resume()
        server.stop()
        for call in (s.load(KEY), s.acquire(KEY, wait=5), s.delete_if(KEY, "tok-A")):
            started = time.monotonic()
            with pytest.raises(StoreError, match=f"127.0.0.1:{server.port}/0"):
                await call
            assert time.monotonic() - started < 1.0
        server.start()
        assert await s.load(KEY) is None
        await s.save(KEY, token())
        assert await s.delete_if(KEY, "tok-A") is True
        await s.aclose()

    run(scenario())
