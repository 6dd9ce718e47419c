"""``FileTokenStore``: one token shared by the processes (and later runs) of one user on one host.

Its asyncio form, ``AsyncFileTokenStore`` (:mod:`.file_async`, exported here too), runs this store's
operations in worker threads.

Layout, in one private directory (by default the per-user cache directory from ``platformdirs``)::

    <key>.json          the entry (mode 0600), replaced atomically: temp file, fsync, os.replace
    <key>.lock          the fetch lock, held by the one process requesting a token
    <key>.entry.lock    a short lock held only while an entry is replaced or compare-and-deleted

Both locks are ``filelock`` OS locks (``flock`` on Unix, ``LockFileEx`` on Windows): the kernel drops
them when their process dies, so a killed holder never blocks the others. A new lock object is made
for every hold (never reentrant, released from any thread), so two threads of one process exclude each
other exactly as two processes do. Lock order: fetch lock, then entry lock; the entry lock is never
held while waiting for anything else, so a fetch-lock holder may save and delete_if freely.

Safety (where tokens rest, who can read them):

- The directory is created 0700 and every file 0600 from creation (``os.mkdir``/``os.open`` with
  those modes, under any umask): there is no moment when another user can read a token.
- An existing directory that is a symbolic link, not a directory, owned by another user or open to
  group/others is refused (:class:`~.base.StoreError` saying how to fix it). The store never changes
  the permissions of a directory it did not create: loosened permissions are a decision someone made,
  and tokens already written there may have been read.
- Entries are opened with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so a FIFO cannot hang a reader). A
  symlinked, corrupt, truncated, oversized, foreign-owned or group/other-accessible entry is a miss
  with one warning on the ``genesys_auth_adapter.store`` logger; the next save replaces it.
- Other filesystem failures (permission denied, disk full, read-only) raise ``StoreError``.

Windows: there is no ``O_NOFOLLOW`` and no POSIX owner or mode bits, so the owner/mode checks are
skipped and files take the ACLs of their directory (``%LOCALAPPDATA%`` is private to its user by
default); symbolic links are still refused by ``lstat``. ``filelock`` uses ``LockFileEx``, which also
dies with its process. ``os.replace`` can fail while another process has the entry open; that save
raises ``StoreError`` and the caller keeps its own token.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from filelock import BaseFileLock, FileLock, Timeout

from ..engine import fork_safety
from ..errors import ConfigurationError
from .base import Lease, StoredToken, StoreError
from .file_async import AsyncFileTokenStore

if TYPE_CHECKING:
    from .file_budget import FileBudgetStore

_log = logging.getLogger("genesys_auth_adapter.store")

_POSIX = os.name == "posix"
_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")
_MAX_ENTRY = 64 * 1024  # an entry is ~2 KB; anything far larger is not ours
_POLL = 0.02  # seconds between attempts on a contended lock
_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# filelock 3.30+ would otherwise fall back to an existence lock on a filesystem without flock, and
# such a lock outlives a killed holder; without a real lock this store fails (the caller falls back).
_LOCK_OPTIONS: dict[str, Any] = (
    {"fallback_to_soft": False} if "fallback_to_soft" in inspect.signature(FileLock.__init__).parameters else {}
)


def default_directory() -> Path:
    """Where :class:`FileTokenStore` keeps tokens unless told otherwise: the per-user cache directory."""
    return Path(platformdirs.user_cache_dir("genesys-auth-adapter", appauthor=False))


def _owned_by_me(st: os.stat_result) -> bool:
    return not _POSIX or st.st_uid == os.geteuid()


def _private(st: os.stat_result) -> bool:
    return not _POSIX or not st.st_mode & 0o077


class _FileLease:
    renew_every: float | None = None  # a file lock is held until released (or its process dies)

    def renew(self) -> None:
        pass

    """A held ``filelock``; released once, from any thread; a forked child never releases its parent's."""

    def __init__(self, lock: BaseFileLock) -> None:
        self._lock: BaseFileLock | None = lock
        self._pid = os.getpid()
        self._guard = threading.Lock()

    def release(self) -> None:
        with self._guard:
            lock, self._lock = self._lock, None
        if lock is not None and os.getpid() == self._pid:
            try:
                lock.release()
            except OSError as exc:  # the kernel drops the lock when the descriptor closes anyway
                _log.debug("releasing the token store lock %s failed: %s", lock.lock_file, exc)


class FileTokenStore:
    """Tokens shared through private files: by the processes of one user on one host, and by later runs.

    Args:
        path: The directory to keep tokens in (created 0700 when missing); default
            :func:`default_directory`.
        entry_lock_timeout: How long a save or compare-and-delete waits for another process's entry
            lock (held only for the few milliseconds of one write) before raising ``StoreError``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, entry_lock_timeout: float = 10.0) -> None:
        if not (isinstance(entry_lock_timeout, (int, float)) and 0 < entry_lock_timeout < float("inf")):
            raise ConfigurationError(
                f"entry_lock_timeout must be a positive number of seconds, not {entry_lock_timeout!r}"
            )
        self._dir = Path(path).expanduser().absolute() if path is not None else default_directory()
        self._entry_lock_timeout = float(entry_lock_timeout)
        self._guard = threading.Lock()
        self._warned: dict[str, tuple[object, ...]] = {}
        fork_safety.register(self)

    @property
    def path(self) -> Path:
        """The directory the tokens are kept in."""
        return self._dir

    def load(self, key: str) -> StoredToken | None:
        path = self._file(key, ".json")
        try:
            data, identity = _read_entry(path)
        except FileNotFoundError:
            return None
        except _BadEntry as bad:
            self._warn_once(key, path, bad.reason, bad.identity)
            return None
        try:
            token = StoredToken.from_json(data)
        except StoreError as exc:  # not a token (the message never quotes the data)
            self._warn_once(key, path, f"is unusable: {exc}", identity)
            return None
        self._forget_warning(key)
        return token

    def save(self, key: str, token: StoredToken) -> None:
        path = self._file(key, ".json")
        temp = path.with_name(f"{key}.json.tmp")
        data = token.to_json()
        with self._entry_lock(key):
            try:
                # A writer killed mid-write leaves its temp file; under the entry lock it is ours to remove.
                with suppress(FileNotFoundError):
                    os.unlink(temp)
                fd = os.open(temp, _CREATE | os.O_EXCL | _FLAGS, 0o600)
                try:
                    if _POSIX:
                        os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask left
                    _write(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(temp, path)
            except OSError as exc:
                with suppress(OSError):
                    os.unlink(temp)
                raise StoreError(f"cannot write the token store entry {path}: {exc.strerror or exc}") from None
        _fsync_directory(self._dir)
        self._forget_warning(key)

    def delete_if(self, key: str, access_token: str) -> bool:
        path = self._file(key, ".json")
        with self._entry_lock(key):
            current = self.load(key)
            if current is None or not hmac.compare_digest(current.access_token.encode(), access_token.encode()):
                return False
            try:
                os.unlink(path)
            except FileNotFoundError:
                return False
            except OSError as exc:
                raise StoreError(f"cannot delete the token store entry {path}: {exc.strerror or exc}") from None
            return True

    def acquire(self, key: str, *, wait: float) -> Lease | None:
        lock = self._lock(key, ".lock")
        try:
            if wait > 0:
                lock.acquire(timeout=wait, poll_interval=_POLL)
            else:
                lock.acquire(blocking=False)
        except Timeout:
            return None
        except (OSError, NotImplementedError) as exc:  # NotImplementedError: filelock < 3.30 without flock
            raise StoreError(f"cannot take the token store lock {lock.lock_file}: {exc}") from None
        return _FileLease(lock)

    def close(self) -> None:
        """Nothing to release: the store holds no handle between calls."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The same directory in another process (its locks and warnings are per process).
        return type(self), (str(self._dir),), {"_entry_lock_timeout": self._entry_lock_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._entry_lock_timeout = state["_entry_lock_timeout"]

    def after_fork_in_child(self) -> None:
        """A new guard in a forked child (a parent thread may have held it); the file locks are the kernel's."""
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self._dir)!r})"

    def _directory(self) -> Path:
        """The store's directory, created private when missing and refused when unsafe."""
        directory = self._dir
        try:
            try:
                st = os.lstat(directory)
            except FileNotFoundError:
                directory.parent.mkdir(parents=True, exist_ok=True)
                with suppress(FileExistsError):  # another process created it meanwhile: checked below
                    os.mkdir(directory, 0o700)
                    if _POSIX:
                        os.chmod(directory, 0o700)  # exactly 0700 whatever the umask left
                st = os.lstat(directory)
        except OSError as exc:
            raise StoreError(f"cannot create the token store directory {directory}: {exc.strerror or exc}") from None
        fix = "pass FileTokenStore(path=...) a private directory of your own"
        if stat.S_ISLNK(st.st_mode):
            raise StoreError(
                f"the token store directory {directory} is a symbolic link, which the store never follows; "
                f"{fix} (the link's target, say)"
            )
        if not stat.S_ISDIR(st.st_mode):
            raise StoreError(f"the token store directory {directory} is not a directory; remove it or {fix}")
        if not _owned_by_me(st):
            raise StoreError(f"the token store directory {directory} belongs to another user (uid {st.st_uid}); {fix}")
        if not _private(st):
            raise StoreError(
                f"the token store directory {directory} is open to other users (mode {st.st_mode & 0o777:o}); "
                f"run `chmod 700 {directory}` (and consider revoking the tokens kept there) or {fix}"
            )
        return directory

    def _file(self, key: str, suffix: str) -> Path:
        if not isinstance(key, str) or not _KEY.match(key):
            raise StoreError("a store key is 1-128 letters, digits, '-' or '_' (make one with store_key())")
        return self._directory() / f"{key}{suffix}"

    def _lock(self, key: str, suffix: str) -> BaseFileLock:
        """A new lock object on the key's lock file, which is made sure to be a private regular file."""
        path = self._file(key, suffix)
        try:
            fd = os.open(path, _CREATE | _FLAGS, 0o600)
        except OSError as exc:
            what = "is a symbolic link" if path.is_symlink() else f"cannot be opened ({exc.strerror or exc})"
            raise StoreError(f"the token store lock file {path} {what}; remove it") from None
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if not (stat.S_ISREG(st.st_mode) and _owned_by_me(st)):
            raise StoreError(f"the token store lock file {path} is not a regular file of yours; remove it")
        return FileLock(str(path), thread_local=False, mode=0o600, **_LOCK_OPTIONS)

    @contextmanager
    def _entry_lock(self, key: str) -> Iterator[None]:
        lock = self._lock(key, ".entry.lock")
        try:
            lock.acquire(timeout=self._entry_lock_timeout, poll_interval=_POLL / 4)
        except Timeout:
            raise StoreError(
                f"another process has held {lock.lock_file} for over {self._entry_lock_timeout:g} s "
                "(a write takes milliseconds: is it stopped in a debugger or on a hung disk?)"
            ) from None
        except (OSError, NotImplementedError) as exc:
            raise StoreError(f"cannot take the token store lock {lock.lock_file}: {exc}") from None
        try:
            yield
        finally:
            _FileLease(lock).release()

    def _warn_once(self, key: str, path: Path, reason: str, identity: tuple[object, ...]) -> None:
        """Report a bad entry once until it changes (a load per request must not flood the log)."""
        with self._guard:
            if self._warned.get(key) == (reason, *identity):
                return
            self._warned[key] = (reason, *identity)
        _log.warning(
            "the token store entry %s %s; treating it as missing (the next token saved replaces it)", path, reason
        )

    def _forget_warning(self, key: str) -> None:
        with self._guard:
            self._warned.pop(key, None)

    def budgets(self, **options: Any) -> FileBudgetStore:
        """The pacing of this host, kept in this directory (same checks, same locks); ``options`` go to it."""
        from .file_budget import FileBudgetStore

        return FileBudgetStore(self._file, self._lock, where=str(self._dir), **options)


class _BadEntry(Exception):
    """An entry that is there but must not be used: a miss with one warning."""

    def __init__(self, reason: str, identity: tuple[object, ...]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.identity = identity


def _read_entry(path: Path) -> tuple[bytes, tuple[object, ...]]:
    """An entry's bytes and the identity of the file they came from (inode, modification time, size).

    Raises:
        FileNotFoundError: There is no entry.
        _BadEntry: The entry must not be used (linked, foreign, readable by others, not a file, too large).
        StoreError: The filesystem failed.
    """
    try:
        fd = os.open(path, _READ | _FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if path.is_symlink():
            raise _BadEntry("is a symbolic link", ()) from None
        if isinstance(exc, PermissionError):
            raise _BadEntry("cannot be read (permission denied)", ()) from None
        raise StoreError(f"cannot read the token store entry {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        identity = (st.st_ino, st.st_mtime_ns, st.st_size)
        if not stat.S_ISREG(st.st_mode):
            raise _BadEntry("is not a regular file", identity)
        if not _owned_by_me(st):
            raise _BadEntry(f"belongs to another user (uid {st.st_uid})", identity)
        if not _private(st):
            raise _BadEntry(f"is readable by other users (mode {st.st_mode & 0o777:o})", identity)
        data = _read(fd, _MAX_ENTRY + 1)
    except OSError as exc:
        raise StoreError(f"cannot read the token store entry {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > _MAX_ENTRY:
        raise _BadEntry("is too large to be a token", identity)
    return data, identity


def _read(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); best effort: the entry is already in place."""
    if not _POSIX:
        return
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | _FLAGS)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["AsyncFileTokenStore", "FileTokenStore", "default_directory"]
