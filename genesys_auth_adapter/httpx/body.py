"""Whether an httpx request body can be sent again, and rewinding it when it can."""

from __future__ import annotations

import inspect
from typing import Any

import httpx


class Replay:
    """Remembers where a request body started, so a re-send sends the same bytes or none at all.

    Replayable: bytes and text (``content=``), ``json=``, ``data=`` and multipart ``files=`` whose
    files can seek; a seekable file given as ``content=`` is rewound to where it started, and so is
    an async file (anyio's, aiofiles') on an ``httpx.AsyncClient``, once :meth:`start` has awaited
    its position. Generators, iterators, async iterators and pipes are not: they were consumed by
    the first send.
    """

    def __init__(self, request: httpx.Request) -> None:
        self._stream: Any = request.stream
        self._file: Any = None
        self._position: int | None = None
        self._async_file: Any = None
        if type(self._stream) is httpx.ByteStream:
            return  # the common case: bytes in memory
        inner = getattr(self._stream, "_stream", None)  # httpx keeps a content= file here
        if inner is None or not hasattr(inner, "read"):
            return
        if _is_async_file(inner):
            # Its seek and tell are coroutines: calling them here would rewind nothing. start() awaits them.
            self._async_file = inner
        elif _seekable(inner):
            try:
                self._file, self._position = inner, inner.tell()
            except (OSError, ValueError):
                self._file = None

    async def start(self) -> None:
        """Read an async file's starting position (before the first send)."""
        file, self._async_file = self._async_file, None
        if file is None:
            return
        try:
            if await _maybe_await(file.seekable()):
                self._file, self._position = file, await _maybe_await(file.tell())
        except (AttributeError, OSError, ValueError):
            self._file = None

    def rewind(self) -> bool:
        """Make the body ready to be sent again; False when it cannot be."""
        stream = self._stream
        if isinstance(stream, httpx.ByteStream):
            return True
        if type(stream).__name__ == "MultipartStream":
            return all(_replayable_field(field) for field in getattr(stream, "fields", ()))
        if self._file is not None and self._position is not None:
            if _is_async_file(self._file):
                return False  # only arewind() can seek it
            try:
                self._file.seek(self._position)
            except (OSError, ValueError):
                return False
            # httpx refuses to iterate a consumed generator stream; a file stream it reads again.
            return True
        return False

    async def arewind(self) -> bool:
        """:meth:`rewind`, awaiting the seek of an async file."""
        if self._file is not None and self._position is not None and _is_async_file(self._file):
            try:
                await self._file.seek(self._position)
            except (OSError, ValueError):
                return False
            return True
        return self.rewind()


def _is_async_file(file: Any) -> bool:
    return any(inspect.iscoroutinefunction(getattr(file, name, None)) for name in ("seek", "tell", "read"))


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


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
