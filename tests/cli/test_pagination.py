"""iter_pages and items against requests-mock: nextUri links, cursors, the details query, errors, bounds."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import requests_mock

from genesys_auth_adapter import AccessToken, ApiError, GenesysError, PaginationError, session
from genesys_auth_adapter.pagination import items, iter_pages

API = "https://api.mypurecloud.com"
QUERY = "/api/v2/analytics/conversations/details/query"
RESULTS = "/api/v2/analytics/conversations/details/jobs/job-1/results"


@pytest.fixture
def mock() -> requests_mock.Adapter:
    return requests_mock.Adapter()


@pytest.fixture
def genesys(mock: requests_mock.Adapter) -> Any:
    """A GenesysSession (relative paths, a token) whose requests go to ``mock``."""
    with session(AccessToken("test-token", api_url=API), transport=mock) as s:
        yield s


@pytest.fixture
def plain(mock: requests_mock.Adapter) -> Any:
    """A plain requests.Session: absolute URLs only, no base_url attribute."""
    with requests.Session() as s:
        s.mount("https://", mock)
        yield s


def users_page(number: int, count: int, next_uri: str | None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "entities": [{"id": f"u{number}-{i}"} for i in range(count)],
        "pageNumber": number,
        "pageCount": 3,
        "total": 25,
    }
    if next_uri is not None:
        page["nextUri"] = next_uri
    return page


def test_relative_next_uri_is_followed_on_the_api_host(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri(
        "GET", f"{API}/api/v2/users?pageSize=10", json=users_page(1, 10, "/api/v2/users?pageSize=10&pageNumber=2")
    )
    mock.register_uri(
        "GET",
        f"{API}/api/v2/users?pageSize=10&pageNumber=2",
        json=users_page(2, 10, "/api/v2/users?pageSize=10&pageNumber=3"),
    )
    mock.register_uri("GET", f"{API}/api/v2/users?pageSize=10&pageNumber=3", json=users_page(3, 5, None))

    pages = list(iter_pages(genesys, "GET", "/api/v2/users", params={"pageSize": 10}))

    assert [page["pageNumber"] for page in pages] == [1, 2, 3]
    assert sum(len(items(page)) for page in pages) == 25
    assert [r.url for r in mock.request_history] == [
        f"{API}/api/v2/users?pageSize=10",
        f"{API}/api/v2/users?pageSize=10&pageNumber=2",
        f"{API}/api/v2/users?pageSize=10&pageNumber=3",
    ]
    assert all(r.headers["Authorization"] == "Bearer test-token" for r in mock.request_history)


def test_relative_next_uri_with_a_plain_session_joins_the_first_urls_origin(
    plain: Any, mock: requests_mock.Adapter
) -> None:
    mock.register_uri("GET", f"{API}/api/v2/groups", json={"entities": [1], "nextUri": "/api/v2/groups?after=a1"})
    mock.register_uri("GET", f"{API}/api/v2/groups?after=a1", json={"entities": [2]})

    pages = list(iter_pages(plain, "GET", f"{API}/api/v2/groups"))

    assert [items(page) for page in pages] == [[1], [2]]
    assert mock.request_history[1].url == f"{API}/api/v2/groups?after=a1"


def test_absolute_next_uri_on_the_same_origin_is_followed_as_given(plain: Any, mock: requests_mock.Adapter) -> None:
    same = "https://api.mypurecloud.com:443/api/v2/groups?pageNumber=2"  # the default port, spelled out
    mock.register_uri("GET", f"{API}/api/v2/groups", json={"entities": [1], "nextUri": same})
    mock.register_uri("GET", same, json={"entities": [2]})

    pages = list(iter_pages(plain, "GET", f"{API}/api/v2/groups"))

    assert [items(page) for page in pages] == [[1], [2]]
    assert mock.call_count == 2


@pytest.mark.parametrize(
    "link",
    [
        "https://api.mypurecloud.ie/api/v2/groups?pageNumber=2",  # another host
        "http://api.mypurecloud.com/api/v2/groups?pageNumber=2",  # plain http on the same host
        "https://api.mypurecloud.com:8443/api/v2/groups?pageNumber=2",  # another port
        "//evil.example/api/v2/groups?pageNumber=2",  # scheme-relative
    ],
)
def test_a_next_uri_to_another_origin_is_refused_and_never_requested(
    genesys: Any, mock: requests_mock.Adapter, link: str
) -> None:
    mock.register_uri(requests_mock.ANY, requests_mock.ANY, json={"entities": ["foreign"]})  # matched last
    mock.register_uri("GET", f"{API}/api/v2/groups", json={"entities": [1], "nextUri": link})
    pages: list[dict[str, Any]] = []

    with pytest.raises(PaginationError, match=r"another origin than the listing's \(https://api.mypurecloud.com:443\)"):
        pages.extend(iter_pages(genesys, "GET", "/api/v2/groups"))

    assert [items(page) for page in pages] == [[1]]
    assert [r.url for r in mock.request_history] == [f"{API}/api/v2/groups"]


def test_a_next_uri_that_repeats_stops_with_an_error(genesys: Any, mock: requests_mock.Adapter) -> None:
    """Regression: a server that links page 2 back to itself must not make the walk loop or repeat pages."""
    mock.register_uri("GET", f"{API}/api/v2/users", json={"entities": [1], "nextUri": "/api/v2/users?pageNumber=2"})
    mock.register_uri(
        "GET", f"{API}/api/v2/users?pageNumber=2", json={"entities": [2], "nextUri": "/api/v2/users?pageNumber=2"}
    )
    pages: list[dict[str, Any]] = []

    with pytest.raises(PaginationError, match="the listing loops"):
        pages.extend(iter_pages(genesys, "GET", "/api/v2/users"))

    assert [items(page) for page in pages] == [[1], [2]]
    assert mock.call_count == 2


def test_a_next_uri_back_to_the_first_page_spelled_differently_stops_before_repeating_it(
    genesys: Any, mock: requests_mock.Adapter
) -> None:
    def listing(request: Any, context: Any) -> dict[str, Any]:
        number = int(request.qs.get("pagenumber", ["1"])[0])
        # Page 2 links "back" to page 1 with its parameters in another order.
        link = "/api/v2/users?pageSize=2&pageNumber=2" if number == 1 else "/api/v2/users?pageNumber=1&pageSize=2"
        return {"entities": [number], "pageNumber": number, "nextUri": link}

    mock.register_uri("GET", f"{API}/api/v2/users", json=listing)
    pages: list[dict[str, Any]] = []

    with pytest.raises(PaginationError, match="page number 1 again"):
        pages.extend(iter_pages(genesys, "GET", "/api/v2/users", params={"pageSize": 2}))

    assert [items(page) for page in pages] == [[1], [2]]


def test_a_next_uri_with_its_parameters_reordered_is_the_same_page(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("GET", f"{API}/api/v2/groups", json={"entities": [1], "nextUri": "/api/v2/groups?b=2&a=1"})
    mock.register_uri(
        "GET", f"{API}/api/v2/groups?b=2&a=1", json={"entities": [2], "nextUri": "/api/v2/groups?a=1&b=2"}
    )

    with pytest.raises(PaginationError, match="a nextUri already followed"):
        list(iter_pages(genesys, "GET", "/api/v2/groups"))

    assert mock.call_count == 2


def test_a_cursor_that_comes_back_stops_with_an_error(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("GET", f"{API}{RESULTS}", json={"conversations": [1], "cursor": "same"})

    with pytest.raises(PaginationError, match="a cursor already followed"):
        list(iter_pages(genesys, "GET", RESULTS))

    assert mock.call_count == 2


def test_next_uri_links_are_followed_with_get_and_no_body(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri(
        "POST", f"{API}/api/v2/users/search", json={"results": [1], "nextUri": "/api/v2/users/search?p=2"}
    )
    mock.register_uri("GET", f"{API}/api/v2/users/search?p=2", json={"results": [2]})

    pages = list(iter_pages(genesys, "POST", "/api/v2/users/search", json_body={"query": []}))

    assert [items(page) for page in pages] == [[1], [2]]
    assert [(r.method, r.body) for r in mock.request_history] == [("POST", b'{"query": []}'), ("GET", None)]


def test_a_cursor_is_sent_back_until_it_is_absent(genesys: Any, mock: requests_mock.Adapter) -> None:
    answers = {
        None: {"conversations": [1, 2], "cursor": "c1"},
        "c1": {"conversations": [3, 4], "cursor": "c2"},
        "c2": {"conversations": [5], "dataAvailabilityDate": "2024-03-05T00:00:00.000Z"},
    }

    def results(request: Any, context: Any) -> dict[str, Any]:
        cursor = request.qs.get("cursor", [None])[0]
        return answers[cursor]

    mock.register_uri("GET", f"{API}{RESULTS}", json=results)

    pages = list(iter_pages(genesys, "GET", RESULTS, params={"pageSize": 2}))

    assert [c for page in pages for c in items(page)] == [1, 2, 3, 4, 5]
    assert [r.qs for r in mock.request_history] == [
        {"pagesize": ["2"]},
        {"pagesize": ["2"], "cursor": ["c1"]},
        {"pagesize": ["2"], "cursor": ["c2"]},
    ]


def query_endpoint(total: int, empty_from: int | None = None) -> Any:
    def answer(request: Any, context: Any) -> dict[str, Any]:
        paging = request.json()["paging"]
        size, number = paging["pageSize"], paging["pageNumber"]
        start = (number - 1) * size
        count = 0 if empty_from is not None and number >= empty_from else max(0, min(size, total - start))
        page: dict[str, Any] = {"totalHits": total}
        if count:
            page["conversations"] = [{"conversationId": f"c{start + i}"} for i in range(count)]
        return page

    return answer


def test_the_details_query_advances_page_number_until_total_hits(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("POST", f"{API}{QUERY}", json=query_endpoint(230))
    body = {"interval": "2024-03-01T00:00:00Z/2024-03-04T00:00:00Z", "order": "asc"}

    pages = list(iter_pages(genesys, "POST", QUERY, json_body=body))

    conversations = [c["conversationId"] for page in pages for c in items(page)]
    assert conversations == [f"c{i}" for i in range(230)]
    sent = [r.json() for r in mock.request_history]
    assert [b["paging"] for b in sent] == [{"pageSize": 100, "pageNumber": n} for n in (1, 2, 3)]
    assert all(b["interval"] == body["interval"] and b["order"] == "asc" for b in sent)
    assert body == {"interval": "2024-03-01T00:00:00Z/2024-03-04T00:00:00Z", "order": "asc"}  # not mutated


def test_the_details_query_keeps_a_given_page_size_and_stops_on_an_empty_page(
    genesys: Any, mock: requests_mock.Adapter
) -> None:
    mock.register_uri("POST", f"{API}{QUERY}", json=query_endpoint(500, empty_from=3))

    pages = list(iter_pages(genesys, "POST", QUERY, json_body={"interval": "x/y", "paging": {"pageSize": 50}}))

    assert [len(items(page)) for page in pages] == [50, 50, 0]
    assert [r.json()["paging"] for r in mock.request_history] == [{"pageSize": 50, "pageNumber": n} for n in (1, 2, 3)]


def test_the_details_query_with_no_hits_is_one_page(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("POST", f"{API}{QUERY}", json={"totalHits": 0})

    pages = list(iter_pages(genesys, "POST", QUERY, json_body={"interval": "x/y"}))

    assert pages == [{"totalHits": 0}]
    assert mock.call_count == 1


def test_an_error_page_raises_api_error_with_the_genesys_fields(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("GET", f"{API}/api/v2/users", json={"entities": [1], "nextUri": "/api/v2/users?pageNumber=2"})
    mock.register_uri(
        "GET",
        f"{API}/api/v2/users?pageNumber=2",
        status_code=400,
        json={"message": "pageNumber too large", "code": "bad.request", "status": 400},
        headers={"ININ-Correlation-Id": "corr-42"},
    )
    pages = iter_pages(genesys, "GET", "/api/v2/users")

    assert items(next(pages)) == [1]
    with pytest.raises(ApiError) as caught:
        next(pages)

    assert (caught.value.status, caught.value.code, caught.value.correlation_id) == (400, "bad.request", "corr-42")


def test_a_non_json_page_raises_a_clear_error(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("GET", f"{API}/api/v2/users", text="<html>maintenance</html>")

    with pytest.raises(GenesysError, match="without a JSON body"):
        list(iter_pages(genesys, "GET", "/api/v2/users"))


def test_max_pages_bounds_an_endless_listing(genesys: Any, mock: requests_mock.Adapter) -> None:
    def endless(request: Any, context: Any) -> dict[str, Any]:
        number = int(request.qs.get("pagenumber", ["1"])[0])
        return {"entities": [number], "nextUri": f"/api/v2/users?pageNumber={number + 1}"}

    mock.register_uri("GET", f"{API}/api/v2/users", json=endless)
    seen: list[int] = []

    with pytest.raises(GenesysError, match="more than max_pages=5 pages"):
        for page in iter_pages(genesys, "GET", "/api/v2/users", max_pages=5):
            seen.extend(items(page))

    assert seen == [1, 2, 3, 4, 5]
    assert mock.call_count == 5


def test_headers_go_with_every_page(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("GET", f"{API}/api/v2/users", json={"entities": [1], "nextUri": "/api/v2/users?pageNumber=2"})
    mock.register_uri("GET", f"{API}/api/v2/users?pageNumber=2", json={"entities": [2]})

    list(iter_pages(genesys, "GET", "/api/v2/users", headers={"X-Trace": "t-1"}))

    assert [r.headers.get("X-Trace") for r in mock.request_history] == ["t-1", "t-1"]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ({"entities": [1, 2], "total": 2}, [1, 2]),
        ({"conversations": [3], "totalHits": 1}, [3]),
        ({"results": [4], "total": 1}, [4]),
        ({"totalHits": 0}, []),
        ({"entities": None}, []),
    ],
)
def test_items_picks_the_key_that_holds_the_items(page: dict[str, Any], expected: list[Any]) -> None:
    assert items(page) == expected


def test_max_pages_must_be_positive(genesys: Any) -> None:
    with pytest.raises(ValueError, match="max_pages"):
        next(iter_pages(genesys, "GET", "/api/v2/users", max_pages=0))


def test_a_json_body_that_is_not_an_object_cannot_be_paged(genesys: Any, mock: requests_mock.Adapter) -> None:
    mock.register_uri("GET", f"{API}/api/v2/things", text=json.dumps([1, 2]))

    with pytest.raises(GenesysError, match="not an object"):
        list(iter_pages(genesys, "GET", "/api/v2/things"))
