"""The client-credentials token request and the parsing of its answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Union

import requests

from ..engine.token import IssuedToken
from ..errors import CORRELATION_HEADER, TokenRequestError

_log = logging.getLogger("genesys_auth_adapter.login")

Timeout = Union[float, tuple[float, float]]


def request_client_credentials_token(
    http: requests.Session,
    login_url: str,
    client_id: str,
    client_secret: str,
    *,
    timeout: Timeout,
) -> IssuedToken:
    """POST ``{login_url}/oauth/token`` with the client-credentials grant.

    Args:
        http: The session to send with (the library's own, never the caller's).
        login_url: The login base URL.
        client_id: The OAuth client id (sent in the Basic header).
        client_secret: The OAuth client secret (sent in the Basic header, never logged).
        timeout: Connect and read timeout for the request.

    Returns:
        The issued token.

    Raises:
        TokenRequestError: The request failed or the answer was not a token; the message carries the
            status, the OAuth error, its description and the correlation id, never the secret.
    """
    url = f"{login_url}/oauth/token"
    started = time.monotonic()
    try:
        response = http.post(
            url,
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            headers={"Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise TokenRequestError(
            f"Could not reach the Genesys login service at {url}: {type(exc).__name__}. "
            "Check the region or GENESYS_LOGIN_URL and the network.",
            request=exc.request,
        ) from exc
    _log.debug(
        "Token request to %s: HTTP %d in %.0f ms (correlation id %s).",
        url,
        response.status_code,
        (time.monotonic() - started) * 1000,
        response.headers.get(CORRELATION_HEADER, "-"),
    )
    return parse_token_response(response, secret=client_secret)


def parse_token_response(response: requests.Response, *, secret: str = "") -> IssuedToken:
    """Read an ``/oauth/token`` answer.

    Args:
        response: The login service's response.
        secret: A value to scrub from any text quoted in error messages.

    Returns:
        The issued token, from a 200 answer with an ``access_token``.

    Raises:
        TokenRequestError: For any other answer.
    """
    correlation_id = response.headers.get(CORRELATION_HEADER)
    body = _json_object(response)
    if response.status_code == 200 and body is not None:
        access_token = body.get("access_token")
        if isinstance(access_token, str) and access_token.strip():
            return IssuedToken(
                access_token=access_token.strip(),
                expires_in=_expires_in(body.get("expires_in")),
                token_type=str(body.get("token_type") or "bearer"),
                date=response.headers.get("Date"),
            )
    error = _text(body.get("error")) if body else None
    description = None
    if body:
        description = _text(body.get("error_description")) or _text(body.get("description"))
        description = description or _text(body.get("message"))
    if body is None:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        problem = f"HTTP {response.status_code} with a non-JSON body ({kind})"
    elif response.status_code == 200:
        problem = "HTTP 200 without an access_token"
    else:
        problem = f"HTTP {response.status_code}"
    message = f"Token request failed: {problem}"
    if error:
        message += f" {error}"
    if description:
        message += f": {description}"
    if correlation_id:
        message += f" (correlation id {correlation_id})"
    if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
        message += ". Check the client id and secret (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET) and the region."
    if secret:
        message = message.replace(secret, "***")
        description = description.replace(secret, "***") if description else description
    raise TokenRequestError(
        message,
        status=response.status_code,
        error=error,
        description=description,
        correlation_id=correlation_id,
        response=response,
    )


def _json_object(response: requests.Response) -> Mapping[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _expires_in(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
