"""``GenesysSdkHttpClient``: the official SDK's requests, sent through this library's request flow."""

from __future__ import annotations

import math
from typing import Any

import requests
from PureCloudPlatformClientV2.abstract_http_client import AbstractHttpClient
from PureCloudPlatformClientV2.http_request_options import HttpRequestOptions
from PureCloudPlatformClientV2.rest import ApiException

from ..errors import ConfigurationError, RetryExhaustedError
from ..session import GenesysSession
from ..transport.auth import GenesysAuth
from .answers import ANSWERS, api_exception, rest_response
from .wire import encode


class GenesysSdkHttpClient(AbstractHttpClient):  # type: ignore[misc]  # the SDK has no type hints
    """An ``AbstractHttpClient`` for ``ApiClient.set_http_client``: the SDK's typed APIs, this library's auth.

    Each request the SDK builds is encoded as its default client would send it and sent through a
    :class:`~genesys_auth_adapter.GenesysSession`, so the token, its refresh ahead of expiry, the clock
    offset, one new token and one re-send after a 401, single flight, retries, token stores and the API-base
    scope on redirects all apply. The ``Authorization`` header the SDK built (from its own, unused, access
    token) is dropped. The answer comes back as the SDK's ``RESTResponse``; a status outside 200-205 raises
    the SDK's ``ApiException`` (``status``, ``reason``, ``body``, ``headers``) chained from this library's
    :class:`~genesys_auth_adapter.ApiError` (``code``, ``correlation_id``, ``attempts``). The SDK's pre- and
    post-request hooks run as in its default client: the pre-hook on every request, the post-hook on answers.

    ``ApiClient`` requests outside the API base are sent as the SDK built them (its token requests, say),
    except one that carries a bearer token: that is an ``ApiClient`` aimed at another host than its
    credentials, refused with a :class:`~genesys_auth_adapter.ConfigurationError`.

    Args:
        auth: A :class:`~genesys_auth_adapter.GenesysAuth` (a session is made for this client and closed by
            :meth:`close`), or a :class:`~genesys_auth_adapter.GenesysSession` to send through (left open).
        owns_session: Close a session passed as ``auth`` with this client.
        **session_options: With a ``GenesysAuth``: passed to ``GenesysSession`` (``default_timeout``,
            ``retry`` and the other adapter options).

    Raises:
        TypeError: ``auth`` is neither, or session options come with a ready session.
    """

    def __init__(
        self, auth: GenesysAuth | GenesysSession, *, owns_session: bool = False, **session_options: Any
    ) -> None:
        super().__init__()
        if isinstance(auth, GenesysSession):
            if session_options:
                raise TypeError(
                    f"GenesysSdkHttpClient got a GenesysSession and session options {sorted(session_options)}: "
                    "give the options to the session, or pass its GenesysAuth instead"
                )
            self.session, self._owns_session = auth, owns_session
        elif isinstance(auth, GenesysAuth):
            self.session, self._owns_session = GenesysSession(auth, **session_options), True
        else:
            raise TypeError(f"GenesysSdkHttpClient needs a GenesysAuth or a GenesysSession, got {type(auth).__name__}")
        # The SDK's own timeout (16000 ms) is never applied by its default client; one set here is applied.
        self._timeout: float | None = None

    @property
    def auth(self) -> GenesysAuth:
        """The auth whose tokens this client sends."""
        return self.session.genesys_auth

    def set_timeout(self, timeout: float) -> None:
        """Connect and read timeout of each request, in milliseconds as the SDK counts (by default the
        session's: 10 s to connect, 60 s to read).

        Raises:
            ValueError: Not a positive, finite number.
        """
        super().set_timeout(timeout)
        if isinstance(timeout, bool) or not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"The timeout is a positive number of milliseconds, not {timeout!r}")
        self._timeout = timeout / 1000.0

    def request(self, http_request_options: Any) -> Any:
        """Send one request the SDK built and return its ``RESTResponse``.

        Raises:
            ApiException: The answer's status is outside 200-205 (also after retries ran out); its
                ``__cause__`` is this library's :class:`~genesys_auth_adapter.ApiError`.
            ConfigurationError: A request with a bearer token for a URL outside the API base.
            requests.RequestException: No answer came (a connection failure, also after retries ran out),
                or a token could not be had (:class:`~genesys_auth_adapter.TokenRequestError`).
        """
        options = http_request_options
        if not isinstance(options, HttpRequestOptions):
            raise ValueError("httpRequestOptions must be an instance of HttpRequestOptions")
        pre_hook = getattr(self, "pre_hook", None)  # SDK releases before 229.0.0 have no hooks
        if callable(pre_hook):
            options = pre_hook(options)
        wire = encode(options)
        headers = dict(wire.headers)
        authorization = headers.pop("Authorization", None)
        if wire.url not in self.auth.scope:
            if authorization is not None and authorization.lower().startswith("bearer"):
                raise ConfigurationError(
                    f"The ApiClient sends {wire.method} {wire.url.split('?', 1)[0]}, outside the API base of its "
                    f"credentials ({self.auth.api_url}): make it with genesys_auth_adapter.sdk.api_client(), or set "
                    "its host to that API base (ApiClient(host=...), and no gateway)."
                )
            if authorization is not None:
                headers["Authorization"] = authorization  # the SDK's own token request, with its credentials
        try:
            response = self.session.request(
                wire.method, wire.url, data=wire.body, headers=headers, timeout=self._timeout
            )
        except RetryExhaustedError as exc:
            if exc.response is None:
                raise  # no answer at all: a connection failure, as the default client raises urllib3's
            exception, error = api_exception(exc.response, exhausted=exc)
            raise exception from error
        except requests.exceptions.SSLError as exc:
            # The default client turns urllib3's SSLError into an ApiException with status 0.
            raise ApiException(status=0, reason=f"{type(exc).__name__}\n{exc}") from exc
        if response.status_code not in ANSWERS:
            exception, error = api_exception(response)
            raise exception from error
        answer = rest_response(response)
        post_hook = getattr(self, "post_hook", None)
        if callable(post_hook):
            answer = post_hook(answer)
        return answer

    def close(self) -> None:
        """Close the session made for this client (with its auth, when that was made for it too)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> GenesysSdkHttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GenesysSdkHttpClient({self.auth!r})"
