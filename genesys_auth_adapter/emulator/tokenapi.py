"""The token endpoints of the API origin: ``/api/v2/tokens/me`` (GET, HEAD, DELETE) and ``/api/v2/tokens/timeout``.

``GET /api/v2/tokens/me`` answers Genesys' ``TokenInfo``: ``organization``, ``homeOrganization``,
``authorizedScope``, ``OAuthClient``, and for a user token ``dateTokenIdles`` (when idle expiry is on) and
``authenticatedUser``; a client-credentials token has ``authenticatedUser: null``, as measured against a real
organization. ``preserveIdleTTL=true`` reads without resetting the idle timer (the API origin's gate looks at
the query before it counts the use).
"""

from __future__ import annotations

from datetime import datetime, timezone

from . import data
from .clients import GrantConfig
from .errors import RouteError, bad_request
from .grants import IDLE_MAX, IDLE_MIN
from .messages import Request, Response, json_response, parse_json_object
from .state import EmulatorState

TOKENS_ME = "/api/v2/tokens/me"
TOKENS_TIMEOUT = "/api/v2/tokens/timeout"


def preserves_idle(request: Request) -> bool:
    """Whether the request reads its token without resetting the idle timer (``preserveIdleTTL=true``)."""
    return request.path == TOKENS_ME and request.params().get("preserveIdleTTL", "").lower() == "true"


def tokens_me(state: EmulatorState, config: GrantConfig, request: Request, token: str) -> Response:
    """``GET``/``HEAD``/``DELETE /api/v2/tokens/me``: describe, verify or revoke the calling token."""
    if request.method == "DELETE":
        state.revoke(token)
        return Response(204)
    if request.method == "HEAD":
        return Response(200)
    org = data.organization()
    org_ref = {"id": org["id"], "name": org["name"], "selfUri": org["selfUri"]}
    owner = state.grants.owner(token)
    client_id = state.client_id if owner is None else owner.client_id
    user_client = config.by_id(client_id)
    client: dict[str, object] = {
        "id": client_id,
        "name": "Emulator client" if user_client is None else f"Emulator {user_client.grant} client",
        "organization": org_ref,
        "authorizedGrantType": "CLIENT-CREDENTIALS" if user_client is None else user_client.grant_type_label,
    }
    body: dict[str, object] = {
        "organization": org_ref,
        "homeOrganization": org_ref,
        "authorizedScope": [],
        "OAuthClient": client,
        "authenticatedUser": None,
    }
    if owner is not None:
        person = data.user(owner.user)
        body["authenticatedUser"] = {"id": person["id"], "name": person["name"], "selfUri": person["selfUri"]}
        idles = state.grants.idles_at(token)
        if idles is not None:
            body["dateTokenIdles"] = data.iso(datetime.fromtimestamp(idles, timezone.utc))
    return json_response(200, body)


def tokens_timeout(state: EmulatorState, request: Request) -> Response:
    """``GET``/``PUT /api/v2/tokens/timeout``: the organization's idle timeout (5 minutes to 8 hours)."""
    if request.method == "PUT":
        spec = parse_json_object(request.body)
        if spec is None:
            raise RouteError(bad_request("The request body must be a JSON object.", "body", "INVALID_JSON"))
        enabled = spec.get("enableIdleTokenTimeout", True)
        if not isinstance(enabled, bool):
            raise RouteError(bad_request("enableIdleTokenTimeout must be true or false.", "enableIdleTokenTimeout"))
        seconds = spec.get("idleTokenTimeoutSeconds", state.grants.idle_timeout()[0])
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not IDLE_MIN <= seconds <= IDLE_MAX:
            message = f"idleTokenTimeoutSeconds must be a whole number of seconds from {IDLE_MIN} to {IDLE_MAX}."
            raise RouteError(bad_request(message, "idleTokenTimeoutSeconds"))
        state.grants.set_idle_timeout(seconds)
        if not enabled:
            state.grants.set_idle_timeout(None)
    seconds, enabled = state.grants.idle_timeout()
    return json_response(200, {"idleTokenTimeoutSeconds": seconds, "enableIdleTokenTimeout": enabled})
