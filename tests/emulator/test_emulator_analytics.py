"""Conversation details: the paged query and the async job lifecycle (QUEUED, FULFILLED, cursor pages)."""

from __future__ import annotations

from datetime import datetime

import pytest

QUERY = "/api/v2/analytics/conversations/details/query"
JOBS = "/api/v2/analytics/conversations/details/jobs"
DAY = "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def query_all(client, interval: str, page_size: int = 25, **extra) -> tuple[list[dict], list[dict]]:
    """Pages through a details query by pageNumber; returns (conversations, raw pages)."""
    conversations, pages = [], []
    number = 1
    while True:
        body = {"interval": interval, "paging": {"pageSize": page_size, "pageNumber": number}, **extra}
        response = client.post(QUERY, json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if "conversations" not in page:
            return conversations, pages
        conversations.extend(page["conversations"])
        number += 1


def test_query_pages_cover_total_hits_once(genesys_emulator, client):
    conversations, pages = query_all(client, DAY, page_size=10)

    total = pages[0]["totalHits"]
    assert total > 10  # several pages: the interval is a whole day
    assert all(page["totalHits"] == total for page in pages)
    assert len(conversations) == total
    assert len({c["conversationId"] for c in conversations}) == total
    assert [len(p.get("conversations", [])) for p in pages[:-1]][:-1] == [10] * (len(pages) - 2)
    assert "conversations" not in pages[-1]  # an empty page leaves the key out


def test_query_default_page_is_25(genesys_emulator, client):
    page = client.post(QUERY, json={"interval": DAY}).json()

    assert len(page["conversations"]) == min(25, page["totalHits"])


def test_query_is_deterministic_across_emulators(genesys_emulator_factory, make_client):
    first, second = (make_client(genesys_emulator_factory()) for _ in range(2))

    assert query_all(first, DAY)[0] == query_all(second, DAY)[0]


def test_conversations_start_inside_the_interval(genesys_emulator, client):
    interval = "2024-03-01T05:30:00Z/2024-03-01T09:15:00.000+00:00"
    start, end = (parse(part) for part in interval.split("/"))

    conversations, _ = query_all(client, interval)

    assert conversations
    for conversation in conversations:
        begins = parse(conversation["conversationStart"])
        assert start <= begins < end
        assert parse(conversation["conversationEnd"]) > begins
        assert conversation["originatingDirection"] in ("inbound", "outbound")
        assert 1 <= len(conversation["participants"]) <= 2
    starts = [c["conversationStart"] for c in conversations]
    assert starts == sorted(starts)


def test_a_sub_interval_yields_the_same_conversations_as_the_whole(genesys_emulator, client):
    whole, _ = query_all(client, DAY)
    morning, _ = query_all(client, "2024-03-01T00:00:00Z/2024-03-01T12:00:00Z")

    assert morning == [c for c in whole if c["conversationStart"] < "2024-03-01T12:00:00"]


def test_descending_order_reverses_the_ascending_one(genesys_emulator, client):
    ascending, _ = query_all(client, DAY, page_size=100)
    descending, _ = query_all(client, DAY, page_size=100, order="desc")

    assert descending == ascending[::-1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "interval"),
        ({"interval": "yesterday"}, "interval"),
        ({"interval": "2024-03-01T00:00:00Z"}, "interval"),
        ({"interval": "2024-03-02T00:00:00Z/2024-03-01T00:00:00Z"}, "interval"),
        ({"interval": "2024-01-01T00:00:00Z/2024-03-01T00:00:00Z"}, "interval"),
        ({"interval": DAY, "paging": {"pageSize": 101}}, "paging.pageSize"),
        ({"interval": DAY, "paging": {"pageNumber": 0}}, "paging.pageNumber"),
        ({"interval": DAY, "order": "sideways"}, "order"),
    ],
    ids=["missing", "garbage", "no-end", "reversed", "too-long", "page-size", "page-number", "order"],
)
def test_bad_query_gets_400_naming_the_field(genesys_emulator, client, body, field):
    response = client.post(QUERY, json=body)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad.request"
    assert body["details"][0]["fieldName"] == field


def test_query_body_must_be_json(genesys_emulator, client):
    response = client.post(QUERY, data=b"interval=x", headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_job_lifecycle_queued_then_fulfilled_then_cursor_pages(genesys_emulator, client):
    created = client.post(JOBS, json={"interval": DAY})
    assert created.status_code == 202
    job_id = created.json()["jobId"]

    early = client.get(f"{JOBS}/{job_id}/results")
    first_poll = client.get(f"{JOBS}/{job_id}").json()
    second_poll = client.get(f"{JOBS}/{job_id}").json()

    assert early.status_code == 400
    assert first_poll["state"] == "QUEUED"
    assert second_poll["state"] == "FULFILLED"
    results, cursors = [], []
    params = {"pageSize": 7}
    while True:
        page = client.get(f"{JOBS}/{job_id}/results", params=params).json()
        assert "dataAvailabilityDate" in page
        results.extend(page.get("conversations", []))
        if "cursor" not in page:
            break
        cursors.append(page["cursor"])
        params = {"pageSize": 7, "cursor": page["cursor"]}
    expected, _ = query_all(client, DAY, page_size=100)
    assert results == expected
    assert len(cursors) == (len(expected) - 1) // 7
    assert len(set(cursors)) == len(cursors)


def test_unknown_job_is_404(genesys_emulator, client):
    assert client.get(f"{JOBS}/no-such-job").status_code == 404
    assert client.get(f"{JOBS}/no-such-job/results").status_code == 404


def test_job_rejects_a_forged_cursor_and_a_bad_interval(genesys_emulator, client):
    job_id = client.post(JOBS, json={"interval": DAY}).json()["jobId"]
    client.get(f"{JOBS}/{job_id}")

    assert client.get(f"{JOBS}/{job_id}/results", params={"cursor": "bogus"}).status_code == 400
    assert client.post(JOBS, json={"interval": "nope"}).status_code == 400
