"""Progress on stderr while a command waits: a status line on a terminal, plain lines otherwise.

stdout is never written here: it carries the commands' answers, which pipelines read. On a terminal one
status line is rewritten in place (a wait's elapsed seconds, a listing's page, the demo's counters) and
cleared when the wait ends; on anything else, a slow wait gets a plain line when it becomes slow and one
when it ends, and nothing at all is shown for a wait shorter than :data:`SLOW` seconds.

What the library is doing meanwhile comes from its own log records (``genesys_auth_adapter.retry``,
``.token`` and ``.login``, at INFO): a retry and its wait, a token obtained. They are shown as the
detail of the current wait, never as log output of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from .common import PROG, is_tty

#: A wait becomes worth a word after this many seconds.
SLOW = 2.0
#: Seconds between two redraws of the status line on a terminal.
REDRAW = 0.5
#: The library's loggers whose INFO records describe what a wait is spent on.
LOGGERS = ("genesys_auth_adapter.retry", "genesys_auth_adapter.token", "genesys_auth_adapter.login")
_CLEAR = "\r\033[K"
_MAX_STATUS = 150


class Progress:
    """Where a command reports its progress; thread-safe.

    Args:
        err: The stream to write to (stderr).
        tty: Whether it is a terminal; by default asked of ``err``.
        slow: Seconds after which a wait is shown.
        clock: Monotonic seconds (a fake one in tests).
    """

    def __init__(
        self,
        err: TextIO,
        *,
        tty: bool | None = None,
        slow: float = SLOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.err = err
        self.tty = is_tty(err) if tty is None else tty
        self.slow = slow
        self.clock = clock
        self._lock = threading.RLock()
        self._status = ""  # the persistent part: a page count, the demo's counters
        self._shown = ""  # what the terminal's status line shows now
        self._wait: _Wait | None = None

    def line(self, text: str) -> None:
        """Print ``text`` as a line of its own (a phase, an event), on a terminal above the status line."""
        with self._lock:
            self._write(_CLEAR if self._shown else "")
            self._write(text + "\n")
            self._shown = ""
            self._redraw()

    def status(self, text: str) -> None:
        """Set the status line (terminal only: elsewhere it would be a line per update)."""
        with self._lock:
            self._status = text
            self._redraw()

    def note(self, text: str) -> None:
        """What the library is doing now (a retry, a token obtained): the detail of the current wait."""
        with self._lock:
            wait = self._wait
            if wait is None:
                return
            wait.detail = text
            if not self.tty and wait.announced:
                self._write(f"{PROG}: {wait.what}: {text}\n")
            self._redraw()

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """Around a call that may block: shown once it has taken :attr:`slow` seconds, until it returns.

        Off a terminal, its last line says how the wait ended: done, failed (an exception, reported by
        the command right after) or interrupted (Ctrl-C).
        """
        wait = _Wait(what, self.clock())
        with self._lock:
            outer, self._wait = self._wait, wait
        ended = "failed"
        try:
            with self._ticking():
                yield
            ended = "done"
        except KeyboardInterrupt:
            ended = "interrupted"
            raise
        finally:
            with self._lock:
                self._wait = outer
                if wait.announced and not self.tty:
                    self._write(f"{PROG}: {what}: {ended} after {self.clock() - wait.started:.0f} s\n")
                self._redraw()

    @contextlib.contextmanager
    def live(self, render: Callable[[], str]) -> Iterator[None]:
        """Keep the status line at ``render()`` while the block runs (terminal only)."""
        if not self.tty:
            yield
            return
        with self._ticking(lambda: self.status(render())):
            yield

    def tick(self) -> None:
        """Redraw now; on anything but a terminal, announce a wait that has just become slow."""
        with self._lock:
            wait = self._wait
            if wait is not None and not wait.announced and self.clock() - wait.started >= self.slow:
                wait.announced = True
                if not self.tty:
                    detail = f" ({wait.detail})" if wait.detail else ""
                    self._write(f"{PROG}: {wait.what}: still waiting after {self.slow:.0f} s{detail}\n")
            self._redraw()

    def clear(self) -> None:
        """Remove the status line."""
        with self._lock:
            self._status = ""
            self._redraw()

    def keep(self) -> None:
        """On a terminal, leave the status line where it is as a line of its own (a listing's last page)."""
        with self._lock:
            if self.tty and self._shown:
                self._write("\n")
            self._status = self._shown = ""

    def _redraw(self) -> None:
        if not self.tty:
            return
        text = self._status
        wait = self._wait
        if wait is not None and wait.announced:
            waited = f"{wait.what} ({self.clock() - wait.started:.0f} s)"
            if wait.detail:
                waited += f": {wait.detail}"
            text = f"{text} | {waited}" if text else waited
        text = text[:_MAX_STATUS]
        if text != self._shown:
            self._write(_CLEAR + text)
            self._shown = text

    def _write(self, text: str) -> None:
        if not text:
            return
        try:
            self.err.write(text)
            self.err.flush()
        except (OSError, ValueError):  # stderr closed or gone: progress is not worth failing for
            pass

    @contextlib.contextmanager
    def _ticking(self, step: Callable[[], None] | None = None) -> Iterator[None]:
        stop = threading.Event()
        action = step if step is not None else self.tick

        def run() -> None:
            # Ends with the block it accompanies, which the library's own budgets bound.
            while not stop.wait(REDRAW):
                action()

        ticker = threading.Thread(target=run, name="genesys-auth-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join(timeout=5)


class _Wait:
    """One wait in progress."""

    def __init__(self, what: str, started: float) -> None:
        self.what = what
        self.started = started
        self.detail = ""
        self.announced = False


class _Notes(logging.Handler):
    """Hands the library's INFO records to :meth:`Progress.note`."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.note(record.getMessage().rstrip("."))
        except Exception:  # a logging handler must never break the request it reports on
            self.handleError(record)


@contextlib.contextmanager
def library_notes(progress: Progress) -> Iterator[None]:
    """Feed the library's retry and token records to ``progress`` while the block runs.

    The loggers are opened to INFO for the duration if they were quieter; the handlers that print log
    lines (``-v``) keep their own levels, so without ``-v`` nothing more is printed than before.
    """
    handler = _Notes(progress)
    previous: list[tuple[logging.Logger, int]] = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        previous.append((logger, logger.level))
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in previous:
            logger.removeHandler(handler)
            logger.setLevel(level)


def progress_of(args: argparse.Namespace) -> Progress:
    """The command's :class:`Progress` (set by ``main``), or one on stderr."""
    progress = getattr(args, "progress", None)
    return progress if isinstance(progress, Progress) else Progress(sys.stderr)
