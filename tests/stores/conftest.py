"""Redis fixtures for the store tests: the shared server on 127.0.0.1:6379 and servers of a test's own.

The shared server (the project's machines run one; it keeps nothing on disk) is only ever used under a
key prefix of the test's own, deleted afterwards. Tests that stop, pause or restart Redis, or need a
password, start their own ``redis-server`` on a free port and kill it at the end. In CI (``CI`` set) a
missing Redis fails these tests; elsewhere they skip with a reason that says how to run them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

SHARED_HOST, SHARED_PORT = "127.0.0.1", 6379
SHARED_URL = f"redis://{SHARED_HOST}:{SHARED_PORT}/0"
HOW_TO_RUN = (
    "start one with `redis-server --save '' --appendonly no` (Debian/Ubuntu: apt-get install redis-server;"
    " macOS: brew install redis) and pip install 'genesys-auth-adapter[redis]'"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Fail in CI (where Redis is part of the setup), skip elsewhere, saying how to run the tests."""
    if in_ci():
        pytest.fail(f"{reason}; CI must provide it (.ci/run)", pytrace=False)
    pytest.skip(f"{reason}: {HOW_TO_RUN}")


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers a PING there (any reply counts: a password-protected one says NOAUTH)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(1)[:1] in (b"+", b"-")
    except OSError:
        return False


@pytest.fixture(scope="session")
def shared_redis() -> str:
    """The URL of the shared Redis on 127.0.0.1:6379."""
    if not answers(SHARED_HOST, SHARED_PORT):
        _unavailable(f"no Redis answers on {SHARED_HOST}:{SHARED_PORT}")
    return SHARED_URL


@pytest.fixture
def prefix(shared_redis: str) -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis; every key under it is deleted afterwards."""
    import redis

    name = f"gaa-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(shared_redis, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def raw(shared_redis: str) -> Iterator[object]:
    """A plain redis-py client on the shared Redis, to look at what a store wrote."""
    import redis

    client = redis.Redis.from_url(shared_redis, socket_timeout=5)
    yield client
    client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A ``redis-server`` of one test's own, on a free loopback port, that the test may stop and restart."""

    def __init__(self, executable: str, workdir: Path, args: tuple[str, ...]) -> None:
        self.port = free_port()
        self._command = [
            executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            *args,
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, auth: str = "", db: int = 0) -> str:
        return f"redis://{auth}{'@' if auth else ''}127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self._process is None, "already running"
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not answers("127.0.0.1", self.port, timeout=0.2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Kill the server (it keeps nothing, so a restart starts empty)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(10)

    def pause(self) -> None:
        """Freeze the server: connections still open, but nothing answers (a slow Redis)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, for a TLS redis-server."""
    openssl = shutil.which("openssl")
    if openssl is None:
        _unavailable("openssl is not on PATH (it makes the TLS test's certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., OwnRedis]]:
    """Start ``redis-server`` processes of this test's own: ``own_redis("--requirepass", "pw")``."""
    executable = shutil.which("redis-server")
    if executable is None:
        _unavailable("redis-server is not on PATH")
    assert executable is not None
    servers: list[OwnRedis] = []

    def start(*args: str) -> OwnRedis:
        server = OwnRedis(executable, tmp_path, args)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()  # SIGKILL: a paused server dies too


@pytest.fixture(params=["file", "redis"])
def file_or_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A file store in a directory of the test's own, then a Redis store under the test's own prefix."""
    if request.param == "file":
        from genesys_auth_adapter.stores.file import FileTokenStore

        yield FileTokenStore(tmp_path / "tokens")
        return
    from genesys_auth_adapter.stores.redis import RedisTokenStore

    store = RedisTokenStore(request.getfixturevalue("shared_redis"), prefix=request.getfixturevalue("prefix"))
    yield store
    store.close()
