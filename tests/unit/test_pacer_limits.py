"""What a 429 says about its limit, endpoint families, and token fingerprints (engine/limits.py)."""

from __future__ import annotations

import json

import pytest

from genesys_auth_adapter.engine.limits import Limit, endpoint_family, fingerprint, limit_lane, parse_limit

GENESYS_429 = {
    "message": "Rate limit exceeded the maximum. Retry the request in [42] seconds",
    "code": "too.many.requests.retry.after",
    "status": 429,
    "contextId": "6b1f0c1e-4f4a-4d3f-9d5e-0d9b4c1e2a3b",
    "details": [],
    "errors": [],
}


def body(**extra: object) -> str:
    return json.dumps({**GENESYS_429, **extra})


def test_the_limit_object_of_a_429_is_read_with_its_key_namespace_and_value() -> None:
    limit = parse_limit(body(limit={"key": "user.rate.per.minute", "namespace": "directory", "value": 180}))
    assert limit == Limit("user.rate.per.minute", "directory", 180)
    assert limit.rate == (180, 60.0)
    assert not limit.is_token
    assert str(limit) == "directory:user.rate.per.minute=180"


@pytest.mark.parametrize(
    ("key", "is_token"),
    [
        ("client.credentials.token.rate.per.minute", True),
        ("token.rate.per.minute", True),
        ("org.app.user.rate.per.minute", False),
        ("user.rate.per.minute", False),
        ("notatoken.rate.per.minute", False),
    ],
)
def test_only_the_per_token_keys_are_the_tokens_limit(key: str, is_token: bool) -> None:
    assert Limit(key, None, 300).is_token is is_token


@pytest.mark.parametrize(
    ("key", "value", "rate"),
    [
        ("token.rate.per.minute", 300, (300, 60.0)),
        ("api.rate.per.second", 10, (10, 1.0)),
        ("export.rate.per.hour", 50, (50, 3600.0)),
        ("analytics.concurrent.jobs", 5, None),  # no unit: not a rate
        ("token.rate.per.minute", None, None),  # no value
        ("token.rate.per.minute", 0, None),  # nothing to pace by
    ],
)
def test_a_rate_is_learned_only_from_a_positive_value_over_a_named_unit(
    key: str, value: int | None, rate: tuple[int, float] | None
) -> None:
    assert Limit(key, None, value).rate == rate


def test_a_body_cut_short_still_yields_its_limit_object() -> None:
    text = body(limit={"key": "token.rate.per.minute", "namespace": "oauth", "value": 300}, pad="x" * 2000)
    cut = text[: text.index('"pad"') + 20]  # the flow keeps the first 1000 characters of a 429 body
    assert parse_limit(cut) == Limit("token.rate.per.minute", "oauth", 300)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        body(),  # no limit object (before June 2023, or an area that does not say)
        body(limit=None),
        body(limit="token.rate.per.minute"),
        body(limit={"namespace": "directory", "value": 180}),  # no key
        body(limit={"key": "  ", "value": 180}),
        '["limit"]',
    ],
)
def test_a_body_without_a_usable_limit_object_gives_none_and_never_raises(text: str) -> None:
    assert parse_limit(text) is None


@pytest.mark.parametrize("value", [True, -5, "300", 12.5, None])
def test_a_value_that_is_not_a_whole_count_is_dropped_but_the_key_kept(value: object) -> None:
    limit = parse_limit(body(limit={"key": "token.rate.per.minute", "value": value}))
    assert limit == Limit("token.rate.per.minute", None, None)
    assert limit.rate is None


def test_a_whole_float_value_counts() -> None:
    assert parse_limit(body(limit={"key": "token.rate.per.minute", "value": 300.0})) == Limit(
        "token.rate.per.minute", None, 300
    )


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/api/v2/analytics/conversations/details/query", "analytics/conversations/details/query"),
        ("/api/v2/analytics/conversations/details/query?pageSize=100", "analytics/conversations/details/query"),
        ("https://api.mypurecloud.com/api/v2/users?pageSize=25", "users"),
        ("/api/v2/users/6b1f0c1e-4f4a-4d3f-9d5e-0d9b4c1e2a3b/queues", "users/queues"),
        ("/api/v2/analytics/conversations/details/jobs/0d9b4c1e-aaaa-4d3f-9d5e-0d9b4c1e2a3b/results",
         "analytics/conversations/details/jobs"),
        ("/api/v2/routing/queues/12345/members", "routing/queues/members"),
        ("/api/v2/externalcontacts/contacts/a1b2c3d4e5f6a7b8c9d0/notes", "externalcontacts/contacts/notes"),
        ("/api/v2/users/someone%40example.com", "users"),
        ("/api/v2/Routing/Queues", "routing/queues"),
        ("/api/v2", "/"),
        ("/gateway/thing", "gateway/thing"),
    ],
)  # fmt: skip
def test_an_endpoint_family_is_the_first_words_after_api_v2_with_ids_left_out(path: str, family: str) -> None:
    assert endpoint_family(path) == family


def test_fingerprints_name_a_token_without_containing_it() -> None:
    token = "tok-SECRET-0123456789abcdef"
    print_ = fingerprint(f"Bearer {token}")
    assert print_ == fingerprint(token)  # the scheme is left out
    assert len(print_) == 16
    assert token not in print_ and "SECRET" not in print_
    assert fingerprint("Bearer another-token") != print_


def test_limit_lanes_differ_by_key_and_by_family() -> None:
    lanes = {
        limit_lane("user.rate.per.minute", "users"),
        limit_lane("user.rate.per.minute", "analytics/conversations/details/query"),
        limit_lane("org.rate.per.minute", "users"),
    }
    assert len(lanes) == 3
    assert all(lane.startswith("l.") for lane in lanes)
