"""``FileBudgetStore``: the pacing of every process of one host, in one small record under a file lock.

In the token store's private directory, per scope (one OAuth client)::

    <scope>.pace.json   {"base": ..., "lanes": {name: [tat, epoch, count, previous, window]}, "budgets": {...}}
    <scope>.pace.lock   held for the few microseconds of one read-compute-write, never across a request

Every operation takes the lock, reads the record, runs the pure arithmetic
(:func:`~..engine.gcra.reserve`, :func:`~..engine.gcra.hold`, :func:`~..engine.budget.apply`), writes the
record back in place and lets go. Lanes are timed on the host's monotonic clock, which every process of the
host shares; ``base`` (wall minus monotonic when written) tells a record written before a reboot, whose lanes
are then forgotten. Lanes past their window are dropped on every write, so the record stays small. Pacing
state is worth little after a crash: the record is not fsynced, and one that cannot be read (torn by a
crash, corrupt) counts as empty, with one warning.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from filelock import BaseFileLock, Timeout

from ..engine.budget import Budget, apply
from ..engine.clock import SYSTEM_CLOCK, Clock
from ..engine.gcra import Lane, LaneState, Lesson, Reservation, hold, newer_budgets, reserve
from .base import StoreError

_log = logging.getLogger("genesys_auth_adapter.store")

_OPEN = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_POSIX = os.name == "posix"
_MAX_RECORD = 1024 * 1024
_POLL = 0.001  # the lock is held for microseconds: poll often
#: A record whose wall-minus-monotonic base moved by more than this was written before a reboot (or a
#: wall-clock step): its lanes are forgotten.
_BASE_DRIFT = 5.0


class FileBudgetStore:
    """Pacing shared by the processes of one host, beside a :class:`~.file.FileTokenStore`.

    Made by ``FileTokenStore.budgets()`` (or :meth:`at`), which hands in the token store's checked paths
    and locks (a private directory, private regular files).

    Args:
        path_of: Gives the checked path of ``(scope, suffix)``.
        lock_of: Gives a new lock object on the checked lock file of ``(scope, suffix)``.
        where: The directory, for messages.
        clock: The host's monotonic clock (and wall clock, to tell a reboot); injected in tests.
        lock_timeout: Seconds to wait for the lock before raising ``StoreError``.
    """

    def __init__(
        self,
        path_of: Callable[[str, str], Path],
        lock_of: Callable[[str, str], BaseFileLock],
        *,
        where: str = "",
        clock: Clock = SYSTEM_CLOCK,
        lock_timeout: float = 5.0,
    ) -> None:
        self._path_of = path_of
        self._lock_of = lock_of
        self._where = where
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._warned: set[str] = set()

    @classmethod
    def at(cls, path: str | os.PathLike[str] | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FileBudgetStore:
        """The budget store in a token store directory (default: the token store's default directory)."""
        from .file import FileTokenStore

        return FileTokenStore(path).budgets(clock=clock)

    def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        with self._record(scope) as (record, now):
            held = record["lanes"]
            states = [_state(held.get(lane.name)) for lane in lanes]
            slot = reserve(now, states, lanes, max_wait)
            if slot.states is not None:
                for lane, state in zip(lanes, slot.states):
                    held[lane.name] = [state.tat, state.epoch, state.count, state.previous, state.window]
            budgets = newer_budgets(_budgets(record), lanes)
        return Reservation.of(slot, budgets)

    def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        with self._record(scope) as (record, now):
            held = record["lanes"]
            for item in lesson.holds:
                state = hold(now, _state(held.get(item.lane)), item.seconds)
                held[item.lane] = [state.tat, state.epoch, state.count, state.previous, state.window]
            known = _budgets(record)
            for name, event in lesson.events:
                budget = apply(known.get(name), event)
                if budget is not None:
                    known[name] = budget
            record["budgets"] = {name: budget.to_dict() for name, budget in known.items()}
            return {name: known[name] for name, _ in lesson.events if name in known}

    def budgets(self, scope: str) -> dict[str, Budget]:
        with self._record(scope, write=False) as (record, _):
            return _budgets(record)

    def close(self) -> None:
        """Nothing to release: no handle is kept between calls."""

    @contextmanager
    def _record(self, scope: str, *, write: bool = True) -> Iterator[tuple[dict[str, Any], float]]:
        """The scope's record, under its lock, written back (``write``) when the block ends without an exception."""
        path = self._path_of(scope, ".pace.json")
        lock = self._lock_of(scope, ".pace.lock")
        try:
            lock.acquire(timeout=self._lock_timeout, poll_interval=_POLL)
        except Timeout:
            raise StoreError(
                f"another process has held {lock.lock_file} for over {self._lock_timeout:g} s "
                "(it is held for microseconds: is that process stopped in a debugger?)"
            ) from None
        except (OSError, NotImplementedError) as exc:
            raise StoreError(f"cannot take the budget store lock {lock.lock_file}: {exc}") from None
        try:
            fd = _open(path)
            try:
                now, base = self._clock.monotonic(), self._clock.wall() - self._clock.monotonic()
                record = self._read(fd, path, base)
                yield record, now
                if not write:
                    return
                record["base"] = base
                record["lanes"] = {name: raw for name, raw in record["lanes"].items() if _live(raw, now)}
                _write(fd, path, json.dumps(record, separators=(",", ":")).encode())
            finally:
                os.close(fd)
        finally:
            lock.release()

    def _read(self, fd: int, path: Path, base: float) -> dict[str, Any]:
        try:
            data = os.read(fd, _MAX_RECORD + 1)
        except OSError as exc:
            raise StoreError(f"cannot read the budget store record {path}: {exc.strerror or exc}") from None
        if not data:
            return {"lanes": {}, "budgets": {}}
        try:
            record = json.loads(data)
            if not (isinstance(record["lanes"], dict) and isinstance(record["budgets"], dict)):
                raise ValueError("not a budget record")
            if not abs(float(record["base"]) - base) <= _BASE_DRIFT:
                record["lanes"] = {}  # timed on a monotonic clock of before a reboot
        except (ValueError, TypeError, KeyError) as exc:
            if str(path) not in self._warned:
                self._warned.add(str(path))
                _log.warning("The budget store record %s is unusable (%s); starting it afresh.", path, exc)
            return {"lanes": {}, "budgets": {}}
        return dict(record)

    def __repr__(self) -> str:
        return f"FileBudgetStore({self._where!r})"


def _open(path: Path) -> int:
    try:
        fd = os.open(path, _OPEN, 0o600)
    except OSError as exc:
        what = "is a symbolic link" if path.is_symlink() else f"cannot be opened ({exc.strerror or exc})"
        raise StoreError(f"the budget store record {path} {what}; remove it") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (_POSIX and (st.st_uid != os.geteuid() or st.st_mode & 0o077)):
        os.close(fd)
        raise StoreError(f"the budget store record {path} is not a private regular file of yours; remove it")
    return fd


def _write(fd: int, path: Path, data: bytes) -> None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(data))
    except OSError as exc:
        raise StoreError(f"cannot write the budget store record {path}: {exc.strerror or exc}") from None


def _state(raw: object) -> LaneState | None:
    """A lane as the record keeps it, or None when it is not one (a corrupt lane starts afresh)."""
    if not isinstance(raw, list) or len(raw) != 5:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        return None
    tat, epoch, count, previous, window = raw
    return LaneState(float(tat), int(epoch), int(count), int(previous), float(window))


def _live(raw: object, now: float) -> bool:
    """Whether a lane of the record still says more than a lane never used."""
    state = _state(raw)
    return state is not None and state.expires > now


def _budgets(record: dict[str, Any]) -> dict[str, Budget]:
    known: dict[str, Budget] = {}
    for name, raw in record["budgets"].items():
        try:
            known[name] = Budget.from_dict(raw)
        except ValueError:
            continue  # one bad entry is a budget not learned yet
    return known


__all__ = ["FileBudgetStore"]
