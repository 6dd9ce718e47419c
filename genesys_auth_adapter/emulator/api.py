"""The API origin: bearer-token gate (faults, auth, rate limit) in front of the Genesys endpoints.

Requests under ``/_emulator/`` go to the control app untouched, except the echo, which is gated like
``/api/v2``. Every other request is counted and logged, whatever its outcome.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

from . import analytics, data, params, tokenapi
from .clients import GrantConfig
from .control import PREFIX as CONTROL_PREFIX
from .errors import RouteError, bad_credentials, genesys_error, not_found, rate_limited
from .messages import App, Request, Response, json_response
from .state import EmulatorState

ECHO = "/_emulator/echo"

#: Genesys' answer (HTTP 400) to a client-credentials token on an endpoint that acts as a user.
USER_CONTEXT_REQUIRED = (
    "This request requires a user context. Client credentials cannot be used for requests to this resource."
)

_Handler = Callable[[Request, re.Match[str], str], Response]
_USERS_PAGE_SIZE = (25, 500)


class ApiApp:
    """Routes for the API origin.

    Args:
        state: The shared emulator state.
        signed_url: Returns the pre-signed storage URL of a download id.
        control: The app for ``/_emulator/`` control requests.
        grants: The user clients, to describe a user token's client.
    """

    def __init__(
        self, state: EmulatorState, signed_url: Callable[[str], str], control: App, grants: GrantConfig
    ) -> None:
        self._state = state
        self._grants = grants
        self._signed_url = signed_url
        self._control = control
        self._user_index = {data.stable_id(f"user:{i}"): i for i in range(state.users)}
        jobs = "/api/v2/analytics/conversations/details/jobs"
        self._routes: list[tuple[frozenset[str], re.Pattern[str], _Handler]] = [
            (_methods("GET"), re.compile("/api/v2/users/me(?:/.*)?"), self._needs_user),
            (_methods("GET"), re.compile("/api/v2/users"), self._users),
            (_methods("GET"), re.compile("/api/v2/users/([^/]+)"), self._user),
            (_methods("GET"), re.compile("/api/v2/organizations/me"), self._organization),
            (_methods("GET"), re.compile("/api/v2/authorization/roles(?:/.*)?"), self._roles),
            (_methods("GET", "HEAD", "DELETE"), re.compile(re.escape(tokenapi.TOKENS_ME)), self._token_info),
            (_methods("GET", "PUT"), re.compile(re.escape(tokenapi.TOKENS_TIMEOUT)), self._token_timeout),
            (_methods("POST"), re.compile("/api/v2/analytics/conversations/details/query"), self._query),
            (_methods("POST"), re.compile(jobs), self._create_job),
            (_methods("GET"), re.compile(jobs + "/([^/]+)"), self._job),
            (_methods("GET"), re.compile(jobs + "/([^/]+)/results"), self._job_results),
            (_methods("GET"), re.compile("/api/v2/downloads/([^/]+)"), self._download),
            (_methods("POST", "PUT", "PATCH"), re.compile(re.escape(ECHO)), self._echo),
        ]

    def __call__(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX) and request.path != ECHO:
            return self._control(request)
        response = self._gated(request)
        self._state.record_api_request(request, None if response.drop else response.status)
        return response

    def _gated(self, request: Request) -> Response:
        state = self._state
        fault = state.take_api_fault(request.path)
        if fault is not None:
            return fault.response(state.now())
        if not (request.path.startswith("/api/v2/") or request.path == ECHO):
            return not_found(request.path)
        token = _bearer(request.header("authorization"))
        if token is None or not state.token_valid(token):
            return bad_credentials()
        if not state.grants.use(token, state.now(), preserve_idle=tokenapi.preserves_idle(request)):
            state.revoke(token)  # idle past the organization's idle timeout: gone for good
            return bad_credentials()
        # No inin-ratelimit-* headers: Genesys removed them after 5 June 2021; a 429 says Retry-After.
        refused = state.count_rate(token, request.path)
        if refused is not None:
            refusal, details = refused
            return rate_limited(
                refusal.retry_after,
                [("Retry-After", str(refusal.retry_after))],
                limit=refusal.limit.as_json() if details else None,
            )
        try:
            return self._route(request, token)
        except RouteError as exc:
            return exc.response

    def _route(self, request: Request, token: str) -> Response:
        for methods, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is not None and request.method in methods:
                return handler(request, match, token)
        return not_found(request.path)

    # Endpoints. Each takes (request, path match, token).

    def _needs_user(self, request: Request, match: re.Match[str], token: str) -> Response:
        owner = self._state.grants.owner(token)
        if owner is None:
            # A client-credentials token: no user is behind it. The message is Genesys' (measured against a
            # real org); the code is inferred, not observed.
            return genesys_error(400, "bad.request", USER_CONTEXT_REQUIRED)
        if request.path != "/api/v2/users/me":
            return not_found(request.path)
        return json_response(200, data.user(owner.user))

    def _users(self, request: Request, match: re.Match[str], token: str) -> Response:
        query = request.params()
        size = params.bounded_int(query.get("pageSize"), "pageSize", *_USERS_PAGE_SIZE)
        number = params.bounded_int(query.get("pageNumber"), "pageNumber", 1, None)
        total = self._state.users
        page_count = -(-total // size)

        def uri(page: int) -> str:
            return f"/api/v2/users?pageSize={size}&pageNumber={page}"

        body = {
            "entities": [data.user(i) for i in range((number - 1) * size, min(total, number * size))],
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "pageCount": page_count,
            "firstUri": uri(1),
            "selfUri": uri(number),
            "lastUri": uri(max(page_count, 1)),
        }
        if number < page_count:
            body["nextUri"] = uri(number + 1)
        if number > 1:
            body["previousUri"] = uri(number - 1)
        return json_response(200, body)

    def _user(self, request: Request, match: re.Match[str], token: str) -> Response:
        index = self._user_index.get(match.group(1))
        if index is None:
            return genesys_error(404, "not.found", f"User {match.group(1)} was not found.")
        return json_response(200, data.user(index))

    def _organization(self, request: Request, match: re.Match[str], token: str) -> Response:
        return json_response(200, data.organization())

    def _roles(self, request: Request, match: re.Match[str], token: str) -> Response:
        # The emulated OAuth client lacks this permission: a 403 that re-authenticating cannot fix.
        return genesys_error(
            403,
            "missing.permissions",
            "You are missing the following permission(s): authorization:role:view",
        )

    def _token_info(self, request: Request, match: re.Match[str], token: str) -> Response:
        return tokenapi.tokens_me(self._state, self._grants, request, token)

    def _token_timeout(self, request: Request, match: re.Match[str], token: str) -> Response:
        return tokenapi.tokens_timeout(self._state, request)

    def _query(self, request: Request, match: re.Match[str], token: str) -> Response:
        return analytics.details_query(self._state, request)

    def _create_job(self, request: Request, match: re.Match[str], token: str) -> Response:
        return analytics.create_job(self._state, request)

    def _job(self, request: Request, match: re.Match[str], token: str) -> Response:
        return analytics.job_status(self._state, match.group(1))

    def _job_results(self, request: Request, match: re.Match[str], token: str) -> Response:
        return analytics.job_results(self._state, request, match.group(1))

    def _download(self, request: Request, match: re.Match[str], token: str) -> Response:
        url = self._signed_url(match.group(1))
        if request.params().get("issueRedirect", "true").lower() == "false":
            return json_response(200, {"url": url})
        return Response(303, headers=(("Location", url),))

    def _echo(self, request: Request, match: re.Match[str], token: str) -> Response:
        body = {
            "method": request.method,
            "contentType": request.header("content-type"),
            "bodyLength": len(request.body),
            "bodySha256": hashlib.sha256(request.body).hexdigest(),
            "bodyBase64": base64.b64encode(request.body).decode("ascii"),
        }
        return json_response(200, body)


def _methods(*names: str) -> frozenset[str]:
    return frozenset(names)


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
