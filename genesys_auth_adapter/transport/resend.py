"""The one implementation of "a 401 came back: get a new token and send the same request again".

Both :class:`~genesys_auth_adapter.GenesysAuth` (from a response hook, the way requests' digest auth
answers its 401) and :class:`~genesys_auth_adapter.GenesysAdapter` (inside ``send``) call
:func:`resend_after_401`; only the function that sends differs.
"""

from __future__ import annotations

from typing import Callable

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest
from requests.utils import rewind_body

from ..engine.manager import TokenManager
from ..errors import UnreplayableBodyError, without_query
from .retrying import ATTEMPTS_ATTRIBUTE, attempts

Send = Callable[[PreparedRequest], requests.Response]

# Bodies that are sent from memory and so can be sent again as they are.
_IN_MEMORY = (bytes, str, bytearray, memoryview)

# Set on a response that is the answer to a re-sent request, so a second layer never re-sends again;
# its value is the 401 that was answered (requests rebuilds ``history`` when it follows a redirect).
_RESENT = "_genesys_auth_resent"


def was_resent(response: requests.Response) -> bool:
    """True when ``response`` answers a request that was already re-sent after a 401."""
    return getattr(response, _RESENT, None) is not None


def answered_401(response: requests.Response) -> requests.Response | None:
    """The 401 that ``response`` (the answer to a re-send) replaced, or None."""
    rejected = getattr(response, _RESENT, None)
    return rejected if isinstance(rejected, requests.Response) else None


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


def resend_after_401(response: requests.Response, manager: TokenManager, send: Send) -> requests.Response:
    """Answer a 401 by re-sending the same request once with a new token.

    A response that is not a 401, that answers an already re-sent request, or whose request carried
    no ``Authorization`` header is returned untouched; so a second 401 reaches the caller with its
    Genesys error body readable.

    Args:
        response: The response to the first send.
        manager: The token manager whose token was sent.
        send: Sends a prepared request once, with no hooks and no redirects.

    Returns:
        The response to the re-sent request, with the 401 in its ``history``; or ``response``.

    Raises:
        UnreplayableBodyError: The body cannot be sent again. The rejected token has been dropped,
            so calling again with a fresh body succeeds.
        TokenRequestError: No new token could be had.
    """
    if response.status_code != 401 or was_resent(response):
        return response
    # requests-mock hands a proxy of the PreparedRequest here; it answers the same attributes.
    request = response.request
    sent = request.headers.get("Authorization")
    if not sent:
        return response
    if not prepare_replay(request):
        manager.discard(sent)
        _ = response.content  # the Genesys error body stays readable on the error
        response.close()
        raise UnreplayableBodyError(
            f"{request.method} {without_query(request.url)} was rejected with HTTP 401 and its body "
            f"({type(request.body).__name__}) cannot be sent again, so it was not re-sent. The token has "
            "been dropped: send the request again. To have such requests re-sent automatically, pass the "
            "body as bytes, str, a dict, json= or a seekable binary file instead of a generator or stream.",
            response=response,
            request=request,
        )
    # Read the 401 to the end so its connection goes back to the pool and its body stays readable.
    _ = response.content
    response.close()
    token = manager.rejected(sent)
    retry = request.copy()
    if request._cookies is not None and response.raw is not None:  # type: ignore[attr-defined]
        extract_cookies_to_jar(retry._cookies, request, response.raw)  # type: ignore[attr-defined,no-untyped-call]
        retry.prepare_cookies(retry._cookies)  # type: ignore[attr-defined]
    retry.headers["Authorization"] = token.header
    # requests follows a redirect by copying the original request, so it must carry the new token
    # too; the 401 in ``history`` keeps a copy that shows the token it was sent with.
    response.request = request.copy()
    request.headers["Authorization"] = token.header
    new = send(retry)
    new.history.append(response)
    new.request = retry
    setattr(new, _RESENT, response)
    setattr(new, ATTEMPTS_ATTRIBUTE, attempts(response) + 1)
    return new
