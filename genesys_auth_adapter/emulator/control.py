"""Control endpoints under ``/_emulator/`` on the API origin: the Emulator's methods, over HTTP, without auth.

Control requests are not API traffic: they are neither counted nor logged, and faults never hit them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from . import ratelimit, settings
from .errors import RouteError, bad_request, not_found
from .faults import TOKEN_STATUSES, Fault, make_fault
from .grants import check_idle_timeout
from .messages import JsonObject, Request, Response, json_response, parse_json_object
from .state import EmulatorState

PREFIX = "/_emulator/"

_T = TypeVar("_T")

_OK = {"ok": True}
_KEYS = {
    "token",
    "api",
    "rejectAllTokens",
    "tokenDelay",
    "skew",
    "tokenLifetime",
    "rateLimit",
    "rateWindow",
    "endpointLimits",
    "rateLimitDetails",
    "idleTimeout",
}

#: The control endpoints and the fields of ``POST /_emulator/faults``, for ``genesys-auth emulator --help``.
HELP = """\
control endpoints on the API origin (no token needed; never counted, logged or faulted):
  POST /_emulator/faults       inject faults; a JSON object, every key optional, all or nothing:
    "token": {...}             fail the next token requests (POST /oauth/token):
        "count"                  how many (default 1; 0 clears a pending fault)
        "status"                 429 (default), 500, 502, 503, 504, "drop" (close without an answer),
                                 or 400: the login throttle, invalid_request "rate limit exceeded; ..."
        "retryAfter"             Retry-After seconds, 0 to 86400 (default 1; null: no header)
        "retryAfterDate"         true: send Retry-After as an HTTP date on the server's clock
        "error", "description"   with status 400: any other OAuth error, e.g. "invalid_client"
    "api": {...}               fail the next API requests: "count", "status" (503 by default; 429,
                               any 5xx or "drop"), "retryAfter" (default: no header), "retryAfterDate",
                               "paths" (path prefixes, e.g. ["/api/v2/users"]; default: every path)
    "rejectAllTokens"          true: every token, new ones too, gets 401; false undoes it
    "tokenDelay"               seconds the login service waits before each answer, 0 to 600 (0: none)
    "skew"                     server clock minus local clock, in seconds, at most 315360000 (ten years)
                               either way
    "tokenLifetime"            expires_in of tokens issued from now on, a whole number from 1 to 172800
    "rateLimit"                API requests per window per token before a 429 (0: no limit; default 300)
    "rateWindow"               the window of every rate limit, in seconds, above 0 and at most 3600
                               (default 60, as Genesys' limits are per minute; shorten it for tests)
    "endpointLimits"           requests per window for the whole org under a path prefix, e.g.
                               {"/api/v2/analytics/conversations/details/query": 10} ({} removes them)
    "rateLimitDetails"         true (default): a 429 of these limits names it in its body, "limit":
                               {"key", "namespace", "value"}; false leaves it out
                               (a change to rateLimit, rateWindow or endpointLimits restarts every window;
                               Retry-After is the seconds until the exceeded window closes)
    "idleTimeout"              seconds a user token may stay unused before it gets 401, above 0 and at
                               most 28800 (null: idle expiry off)
  POST /_emulator/revoke-all   every access token issued so far gets 401 on its next use (refresh tokens
                               stay valid)
  POST /_emulator/revoke-refresh-tokens
                               every refresh token issued so far gets invalid_grant
  GET  /_emulator/counters     what the emulator counted (requests, token requests, 401s, 429s and by
                               which limit, requests per token, ...)
  GET  /_emulator/requests     the last 1000 API requests
  POST /_emulator/reset        zero the counters and empty the request log
example:
  curl -X POST "$GENESYS_API_URL/_emulator/faults" -d '{"api": {"count": 2, "status": 429, "retryAfter": 1}}'"""


class ControlApp:
    """Routes for ``/_emulator/...`` (except the echo, which is an authenticated API route).

    Args:
        state: The shared emulator state.
    """

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def __call__(self, request: Request) -> Response:
        state = self._state
        route = (request.method, request.path[len(PREFIX) :])
        if route == ("GET", "counters"):
            return json_response(200, state.counters())
        if route == ("GET", "requests"):
            return json_response(200, state.requests())
        if route == ("POST", "reset"):
            state.reset_counters()
            return json_response(200, _OK)
        if route == ("POST", "revoke-all"):
            state.revoke_all()
            return json_response(200, _OK)
        if route == ("POST", "revoke-refresh-tokens"):
            state.grants.revoke_refresh_tokens()
            return json_response(200, _OK)
        if route == ("POST", "faults"):
            spec = parse_json_object(request.body)
            if spec is None:
                return bad_request("The request body must be a JSON object.", "body", "INVALID_JSON")
            try:
                apply_faults(state, spec)
            except RouteError as exc:
                return exc.response
            return json_response(200, _OK)
        return not_found(request.path)


def apply_faults(state: EmulatorState, spec: JsonObject) -> None:
    """Applies a ``POST /_emulator/faults`` document, all or nothing.

    Args:
        state: The state to change.
        spec: ``{"token": {"count", "status", "retryAfter", "retryAfterDate", "error", "description"},
            "api": {... "paths"}, "rejectAllTokens", "tokenDelay", "skew", "tokenLifetime", "rateLimit",
            "rateWindow", "endpointLimits", "rateLimitDetails", "idleTimeout"}``; every key optional. An absent
            ``retryAfter`` means the Python method's default (1 for token, none for API); null means
            none. A token ``status`` of 400 is the login service's throttle (``invalid_request``, "rate
            limit exceeded; ..."), or the OAuth ``error`` and ``description`` given.

    Raises:
        RouteError: With a 400 naming the first bad field (a NaN, an infinity or a number out of range
            included); nothing has been changed then.
    """
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise RouteError(bad_request(f"Unknown fault setting: {unknown[0]}.", unknown[0]))
    actions: list[Callable[[], None]] = []
    try:
        if "token" in spec:
            count, fault = _fault(spec["token"], "token", 429, 1)
            actions.append(lambda: state.set_token_fault(count, fault))
        if "api" in spec:
            api_count, api_fault = _fault(spec["api"], "api", 503, None)
            actions.append(lambda: state.set_api_fault(api_count, api_fault))
        if "rejectAllTokens" in spec:
            reject = _flag(spec, "rejectAllTokens")
            actions.append(lambda: state.reject_all_tokens(reject))
        if "tokenDelay" in spec:
            delay = _checked(settings.token_delay, spec, "tokenDelay")
            actions.append(lambda: state.set_token_delay(delay))
        if "skew" in spec:
            skew = _checked(settings.skew, spec, "skew")
            actions.append(lambda: state.set_skew(skew))
        if "tokenLifetime" in spec:
            lifetime = _checked(settings.token_lifetime, spec, "tokenLifetime")
            actions.append(lambda: state.set_token_lifetime(lifetime))
        if {"rateLimit", "rateWindow", "endpointLimits"} & set(spec):
            per_token = _checked(_rate_limit, spec, "rateLimit") if "rateLimit" in spec else None
            window = _checked(_rate_window, spec, "rateWindow") if "rateWindow" in spec else None
            endpoints = (
                _checked(ratelimit.check_endpoint_limits, spec, "endpointLimits") if "endpointLimits" in spec else None
            )
            actions.append(lambda: state.set_rate_limits(per_token=per_token, window=window, endpoints=endpoints))
        if "idleTimeout" in spec:
            idle = _checked(check_idle_timeout, spec, "idleTimeout")
            actions.append(lambda: state.grants.set_idle_timeout(idle))
        if "rateLimitDetails" in spec:
            details = _flag(spec, "rateLimitDetails")
            actions.append(lambda: state.set_rate_limit_details(details))
    except ValueError as exc:
        raise RouteError(bad_request(str(exc))) from None
    # Every value is valid by now, so no action can fail half-way.
    for action in actions:
        action()


def _fault(value: object, name: str, default_status: int, default_retry: int | None) -> tuple[int, Fault]:
    if not isinstance(value, dict):
        raise RouteError(bad_request(f"{name} must be an object.", name))
    count = value.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise RouteError(bad_request(f"{name}.count must be a non-negative integer.", f"{name}.count"))
    retry_after = _checked(settings.retry_after, value, "retryAfter", f"{name}.retryAfter", default_retry)
    paths = value.get("paths") if name == "api" else None
    if paths is not None and not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
        raise RouteError(bad_request("api.paths must be a list of strings.", "api.paths"))
    try:
        fault = make_fault(
            value.get("status", default_status),
            retry_after,
            retry_after_date=bool(value.get("retryAfterDate", False)),
            paths=paths,
            allowed=TOKEN_STATUSES if name == "token" else None,
            error=value.get("error"),
            description=value.get("description"),
        )
    except ValueError as exc:  # the status, or an error/description that needs a 400 or is not text
        raise RouteError(bad_request(str(exc), f"{name}.status")) from None
    return count, fault


def _flag(spec: JsonObject, key: str) -> bool:
    value = spec[key]
    if not isinstance(value, bool):
        raise RouteError(bad_request(f"{key} must be true or false.", key))
    return value


def _rate_limit(value: object, name: str) -> int:
    return settings.whole(value, name, 0, settings.MAX_RATE_LIMIT)


def _rate_window(value: object, name: str) -> float:
    return settings.seconds(value, name, 0, settings.MAX_RATE_WINDOW, low_open=True)


def _checked(
    check: Callable[[object, str], _T], spec: JsonObject, key: str, field: str = "", default: object = None
) -> _T:
    """Reads ``spec[key]`` (``default`` when absent) through a :mod:`.settings` check, as a 400 naming ``field``."""
    field = field or key
    try:
        return check(spec.get(key, default), field)
    except ValueError as exc:
        raise RouteError(bad_request(f"{exc}.", field)) from None
