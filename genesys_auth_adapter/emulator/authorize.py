"""``GET /oauth/authorize`` on the login origin: the browser step of the code grant, with or without PKCE.

Query parameters, as the official SDKs build the URL: ``client_id``, ``response_type=code``,
``redirect_uri``, ``state`` (optional, echoed back), and for PKCE ``code_challenge`` and
``code_challenge_method=S256`` (``plain`` is refused; a PKCE client must send a challenge).

No one types a password: the client's synthetic user consents at once and the browser is redirected to
``redirect_uri?code=...&state=...`` (302), or, with ``consent="form"``, gets a small HTML page whose Allow
and Deny buttons post back here. As OAuth (RFC 6749, 4.1.2.1) requires, an unknown client or a redirect URI
that is not registered gets an error page (400) and no redirect; every later error is a redirect carrying
``error``, ``error_description`` and ``state``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode

from .clients import CODE, PKCE, GrantConfig, redirect_matches
from .errors import not_found
from .grants import CODE_LIFETIME, PendingCode
from .messages import Request, Response
from .state import EmulatorState

PATH = "/oauth/authorize"

_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_FIELDS = ("client_id", "response_type", "redirect_uri", "state", "code_challenge", "code_challenge_method")
_HTML = "text/html; charset=utf-8"


class AuthorizeApp:
    """Routes for ``/oauth/authorize`` (GET: the request; POST: the consent form's answer).

    Args:
        state: The shared emulator state.
        config: The user clients and the consent mode.
    """

    def __init__(self, state: EmulatorState, config: GrantConfig) -> None:
        self._state = state
        self._config = config

    def __call__(self, request: Request) -> Response:
        if request.method == "GET":
            self._state.grants.count("authorize_requests")
            return self._authorize(request.params(), self._config.consent)
        if request.method == "POST":
            parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            form = {name: values[0] for name, values in parsed.items()}
            decision = form.get("decision")
            if decision not in ("allow", "deny"):
                return _page(400, "Bad request", "The consent form must be answered with Allow or Deny.")
            return self._authorize(form, "auto" if decision == "allow" else "deny")
        return not_found(request.path)

    def _authorize(self, params: Mapping[str, str], consent: str) -> Response:
        client = self._config.by_id(params.get("client_id", ""))
        if client is None or client.grant not in (CODE, PKCE):
            return _page(400, "Invalid client", "This client does not exist or does not use the code grant.")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return _page(400, "Invalid redirect", "redirect_uri is required.")
        if not redirect_matches(redirect_uri, client.redirect_uris, loopback_any_port=self._config.loopback_any_port):
            return _page(400, "Invalid redirect", "This redirect URI is not registered for the client.")
        state = params.get("state")

        def refuse(error: str, description: str) -> Response:
            return _redirect(redirect_uri, {"error": error, "error_description": description, "state": state})

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be code.")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is None and method is None and client.grant == PKCE:
            return refuse("invalid_request", "code_challenge is required (PKCE with S256).")
        if challenge is not None or method is not None:
            if method != "S256":
                return refuse("invalid_request", "code_challenge_method must be S256 (plain is not supported).")
            if challenge is None or not _CHALLENGE.fullmatch(challenge):
                return refuse("invalid_request", "code_challenge must be 43 base64url characters (S256).")
        if consent == "deny":
            return refuse("access_denied", "The user denied the request.")
        if consent == "form":
            return _consent_form(params, client.client_id)
        now = self._state.now()
        code = self._state.grants.issue_code(
            PendingCode(client.client_id, redirect_uri, challenge, client.user, now + CODE_LIFETIME)
        )
        return _redirect(redirect_uri, {"code": code, "state": state})


def _redirect(uri: str, params: Mapping[str, str | None]) -> Response:
    query = urlencode([(k, v) for k, v in params.items() if v is not None])
    separator = "&" if "?" in uri else "?"
    return Response(302, headers=(("Location", f"{uri}{separator}{query}"), ("Cache-Control", "no-store")))


def _page(status: int, title: str, message: str) -> Response:
    title, message = html.escape(title), html.escape(message)
    body = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{message}</p>"
    return Response(status, body.encode("utf-8"), _HTML)


def _consent_form(params: Mapping[str, str], client_id: str) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">' for name in _FIELDS if name in params
    )
    body = (
        "<!doctype html><title>Authorize</title>"
        f"<h1>Allow {html.escape(client_id)} to act as you?</h1>"
        f'<form method="post" action="{PATH}">{hidden}'
        '<button name="decision" value="allow">Allow</button> '
        '<button name="decision" value="deny">Deny</button></form>'
    )
    return Response(200, body.encode("utf-8"), _HTML, (("Cache-Control", "no-store"),))
