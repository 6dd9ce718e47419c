"""Conversation details: the synchronous query and the asynchronous jobs (submit, poll, cursor results)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta, timezone
from typing import Any

from . import data, params
from .errors import RouteError, bad_request, genesys_error
from .messages import JsonObject, Request, Response, json_response, parse_json_object
from .state import EmulatorState

#: Longest interval served; keeps every answer small (an emulator bound, not a documented Genesys one).
MAX_INTERVAL = timedelta(days=31)

QUERY_PAGE_SIZE = (25, 100)
RESULTS_PAGE_SIZE = (1000, 10000)


def details_query(state: EmulatorState, request: Request) -> Response:
    """``POST /api/v2/analytics/conversations/details/query``: one page by ``paging.pageNumber``."""
    body = _json_body(request)
    query = _conversation_query(body)
    size, number = _paging(body.get("paging"))
    found = data.conversations(query, state.users)
    page = found[(number - 1) * size : number * size]
    result: dict[str, Any] = {"totalHits": len(found)}
    if page:
        # Genesys leaves the key out, rather than sending [], when a page is empty.
        result = {"conversations": page, **result}
    return json_response(200, result)


def create_job(state: EmulatorState, request: Request) -> Response:
    """``POST .../details/jobs``: records the query; answers 202 ``{"jobId"}``."""
    query = _conversation_query(_json_body(request))
    return json_response(202, {"jobId": state.create_job(query)})


def job_status(state: EmulatorState, job_id: str) -> Response:
    """``GET .../details/jobs/{jobId}``: QUEUED on the first poll, FULFILLED after."""
    view = state.poll_job(job_id)
    if view is None:
        raise RouteError(_job_not_found(job_id))
    result = {"state": view.state, "submissionDate": _iso(view.submitted)}
    if view.completed is not None:
        result["completionDate"] = _iso(view.completed)
    return json_response(200, result)


def job_results(state: EmulatorState, request: Request, job_id: str) -> Response:
    """``GET .../details/jobs/{jobId}/results?cursor=&pageSize=``: pages linked by an opaque cursor."""
    view = state.job(job_id)
    if view is None:
        raise RouteError(_job_not_found(job_id))
    if view.state != "FULFILLED":
        raise RouteError(genesys_error(400, "bad.request", f"Job {job_id} is not FULFILLED: {view.state}."))
    query_params = request.params()
    size = params.bounded_int(query_params.get("pageSize"), "pageSize", *RESULTS_PAGE_SIZE)
    found = data.conversations(view.query, state.users)
    offset = _decode_cursor(query_params.get("cursor") or None, len(found))
    page = found[offset : offset + size]
    result: dict[str, Any] = {}
    if page:
        result["conversations"] = page
    if offset + size < len(found):
        result["cursor"] = _encode_cursor(offset + size)
    result["dataAvailabilityDate"] = _iso(state.now())
    return json_response(200, result)


def _json_body(request: Request) -> JsonObject:
    body = parse_json_object(request.body)
    if body is None:
        raise RouteError(bad_request("The request body must be a JSON object.", "body", "INVALID_JSON"))
    return body


def _conversation_query(body: JsonObject) -> data.ConversationQuery:
    interval = body.get("interval")
    if not isinstance(interval, str):
        raise RouteError(bad_request("interval is required: '<ISO-8601 start>/<ISO-8601 end>'.", "interval"))
    start_text, slash, end_text = interval.partition("/")
    try:
        if not slash:
            raise ValueError("no slash")
        start, end = _parse_time(start_text), _parse_time(end_text)
    except ValueError:
        raise RouteError(bad_request(f"Malformed interval: {interval!r}.", "interval")) from None
    if end <= start:
        raise RouteError(bad_request("The interval must end after it starts.", "interval"))
    if end - start > MAX_INTERVAL:
        raise RouteError(bad_request("The interval must not be longer than 31 days.", "interval"))
    order = body.get("order", "asc")
    if order not in ("asc", "desc"):
        raise RouteError(bad_request("order must be 'asc' or 'desc'.", "order"))
    return data.ConversationQuery(start, end, order == "desc")


def _parse_time(text: str) -> datetime:
    text = text.strip()
    # datetime.fromisoformat accepts a trailing Z only from Python 3.11 on.
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _paging(paging: object) -> tuple[int, int]:
    if paging is None:
        return QUERY_PAGE_SIZE[0], 1
    if not isinstance(paging, dict):
        raise RouteError(bad_request("paging must be an object.", "paging"))
    size = params.bounded_int(paging.get("pageSize"), "paging.pageSize", *QUERY_PAGE_SIZE)
    number = params.bounded_int(paging.get("pageNumber"), "paging.pageNumber", 1, None)
    return size, number


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, total: int) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        offset = int(number)
        if prefix != "offset" or not 0 < offset <= total:
            raise ValueError(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise RouteError(bad_request("Invalid cursor.", "cursor")) from None
    return offset


def _job_not_found(job_id: str) -> Response:
    return genesys_error(404, "not.found", f"Job {job_id} was not found.")


def _iso(timestamp: float) -> str:
    return data.iso(datetime.fromtimestamp(timestamp, timezone.utc))
