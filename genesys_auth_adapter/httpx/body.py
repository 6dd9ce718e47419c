"""Whether an httpx request body can be sent again, and rewinding it when it can."""

from __future__ import annotations

from typing import Any

import httpx


class Replay:
    """Remembers where a request body started, so a re-send sends the same bytes or none at all.

    Replayable: bytes and text (``content=``), ``json=``, ``data=`` and multipart ``files=`` whose
    files can seek; a seekable file given as ``content=`` is rewound to where it started. Generators,
    iterators, async iterators and pipes are not: they were consumed by the first send.
    """

    def __init__(self, request: httpx.Request) -> None:
        self._stream: Any = request.stream
        self._file: Any = None
        self._position: int | None = None
        if type(self._stream) is httpx.ByteStream:
            return  # the common case: bytes in memory
        inner = getattr(self._stream, "_stream", None)  # httpx keeps a content= file here
        if inner is not None and hasattr(inner, "read") and _seekable(inner):
            try:
                self._file, self._position = inner, inner.tell()
            except (OSError, ValueError):
                self._file = None

    def rewind(self) -> bool:
        """Make the body ready to be sent again; False when it cannot be."""
        stream = self._stream
        if isinstance(stream, httpx.ByteStream):
            return True
        if type(stream).__name__ == "MultipartStream":
            return all(_replayable_field(field) for field in getattr(stream, "fields", ()))
        if self._file is not None and self._position is not None:
            try:
                self._file.seek(self._position)
            except (OSError, ValueError):
                return False
            # httpx refuses to iterate a consumed generator stream; a file stream it reads again.
            return True
        return False


def _seekable(file: Any) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _replayable_field(field: Any) -> bool:
    file = getattr(field, "file", None)
    if file is None or isinstance(file, (str, bytes)):
        return True  # a data field, or file content given as a value
    return _seekable(file)  # httpx seeks each file back to 0 before sending it
