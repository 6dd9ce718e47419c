"""Child processes for the file store tests, talked to line by line with bounded waits."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

WORKER = Path(__file__).with_name("file_store_worker.py")

#: How long a test waits for a child's line before failing (a stuck child is a failure, not a hang).
CHILD_TIMEOUT = 30.0


class Child:
    """``file_store_worker.py`` running in its own process; always killed on exit."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put("<eof>")

    def line(self, timeout: float = CHILD_TIMEOUT) -> str:
        """The child's next line (``<eof>`` once it exited)."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the child said nothing for {timeout} s") from None

    def expect(self, wanted: str) -> None:
        got = self.line()
        if got != wanted:
            self.process.kill()
            self.process.wait(CHILD_TIMEOUT)
            err = self.process.stderr.read() if self.process.stderr is not None else ""
            raise AssertionError(f"the child said {got!r}, not {wanted!r}; its stderr: {err}")

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(CHILD_TIMEOUT)
        self._pump_thread.join(CHILD_TIMEOUT)  # it reads stdout up to EOF: close the pipes after it
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
