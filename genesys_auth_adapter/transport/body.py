"""Whether a prepared request's body can be sent again, and rewinding it when it can."""

from __future__ import annotations

import requests
from requests.models import PreparedRequest
from requests.utils import rewind_body

# Bodies that are sent from memory and so can be sent again as they are.
_IN_MEMORY = (bytes, str, bytearray, memoryview)


def body_is_replayable(request: PreparedRequest) -> bool:
    """True when the request's body can be sent again byte for byte.

    ``None``, ``bytes``, ``bytearray``, ``memoryview`` and ``str`` bodies (requests' encoding of
    ``data=dict``, ``json=`` and multipart ``files=``) replay as they are. A file-like body replays
    when requests could record its position before the first send (``tell()`` worked) and it can
    ``seek`` back. Generators, iterators and pipes cannot.
    """
    body = request.body
    if body is None or isinstance(body, _IN_MEMORY):
        return True
    position = getattr(request, "_body_position", None)
    return isinstance(position, int) and callable(getattr(body, "seek", None))


def prepare_replay(request: PreparedRequest) -> bool:
    """Make the request's body ready to be sent again: rewind a file body to where it started.

    Returns:
        False when the body cannot be sent again (see :func:`body_is_replayable`).
    """
    if not body_is_replayable(request):
        return False
    if request.body is not None and not isinstance(request.body, _IN_MEMORY):
        try:
            rewind_body(request)
        except requests.exceptions.UnrewindableBodyError:
            return False  # seek() failed: the file cannot go back after all
    return True
