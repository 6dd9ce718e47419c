"""A ``requests`` response as the official SDK's callers know it: a ``RESTResponse``, or an ``ApiException``.

The SDK's default client reads a urllib3 response into ``rest.RESTResponse`` (``status``, ``reason``,
``data`` decoded as UTF-8, ``getheaders()``, ``getheader()``) and raises ``rest.ApiException(http_resp=...)``
for any status outside 200-205. The same classes are built here from the response this library delivered, so
models deserialise, ``ApiClient.last_response`` and ``except ApiException`` work as before. The library's
own error for the answer is the exception's ``__cause__``: an :class:`~genesys_auth_adapter.ApiError` with
the Genesys ``code``, the correlation id and ``attempts``; when retries ran out, that error's own
``__cause__`` is the :class:`~genesys_auth_adapter.RetryExhaustedError` listing every attempt.
"""

from __future__ import annotations

from typing import Any

import requests
from PureCloudPlatformClientV2.rest import ApiException, RESTResponse
from urllib3._collections import HTTPHeaderDict  # urllib3 1.26 exports it from here only

from ..errors import ApiError, RetryExhaustedError, error_from_response

#: The statuses the SDK's default client hands back as answers; every other status raises ``ApiException``.
ANSWERS = range(200, 206)


class _Received:
    """What ``RESTResponse`` reads from the urllib3 response it wraps."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        self.reason = response.reason
        self.data = response.content
        # urllib3's own header mapping, as the default client's ``getheaders()`` returns (case-insensitive).
        self.headers = HTTPHeaderDict(response.headers)


def rest_response(response: requests.Response) -> Any:
    """The SDK's ``RESTResponse`` for a ``requests`` response, its body decoded as the SDK decodes it."""
    answer = RESTResponse(_Received(response))
    answer.data = answer.data.decode("utf8")
    return answer


def api_exception(response: requests.Response, exhausted: RetryExhaustedError | None = None) -> tuple[Any, ApiError]:
    """The SDK's ``ApiException`` for an error answer, and this library's error to chain it from.

    Args:
        response: The last response of the request.
        exhausted: The library's error when retries ran out (its attempts go on the ``ApiError``).

    Returns:
        ``(ApiException, ApiError)``: raise the first ``from`` the second.
    """
    error = error_from_response(response)
    if exhausted is not None:
        error.attempts = exhausted.attempts
        error.__cause__ = exhausted
    return ApiException(http_resp=rest_response(response)), error
