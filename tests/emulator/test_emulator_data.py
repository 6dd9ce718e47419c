"""Pure parts of the emulator, without sockets: synthetic data and fault values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from genesys_auth_adapter.emulator import data
from genesys_auth_adapter.emulator.faults import TOKEN_STATUSES, make_fault

START = datetime(2024, 3, 1, tzinfo=timezone.utc)


def test_user_ids_are_pinned_across_runs_and_versions():
    # Regression pin: ids derive from uuid5 of a fixed namespace; a change here breaks stored fixtures.
    assert data.user(0)["id"] == "30cfda3b-cc9d-5e66-9bb5-457e7f24cefa"
    assert len({data.user(i)["id"] for i in range(500)}) == 500


def test_each_hour_holds_a_bounded_fixed_set_of_conversations():
    for hour in range(48):
        begin = START + timedelta(hours=hour)
        found = data.conversations(data.ConversationQuery(begin, begin + timedelta(hours=1)), agents=3)
        assert len(found) <= data.MAX_PER_HOUR
        assert found == data.conversations(data.ConversationQuery(begin, begin + timedelta(hours=1)), agents=3)


def test_overlapping_intervals_agree_on_their_overlap():
    day = data.conversations(data.ConversationQuery(START, START + timedelta(days=1)), agents=5)
    noon = START + timedelta(hours=12)
    afternoon = data.conversations(data.ConversationQuery(noon, START + timedelta(days=1)), agents=5)

    assert afternoon == [c for c in day if c["conversationStart"] >= data.iso(noon)]


def test_conversations_without_agents_have_only_the_customer():
    found = data.conversations(data.ConversationQuery(START, START + timedelta(days=1)), agents=0)

    assert found and all(len(c["participants"]) == 1 for c in found)


def test_iso_uses_milliseconds_and_z():
    assert data.iso(datetime(2024, 1, 2, 3, 4, 5, 678900, tzinfo=timezone.utc)) == "2024-01-02T03:04:05.678Z"


def test_blob_is_deterministic_and_sized():
    assert data.blob("a") == data.blob("a") != data.blob("b")
    assert len(data.blob("a", 100)) == 100


def test_fault_values():
    drop = make_fault("drop", None)
    limited = make_fault(503, 0.2, paths="/api/v2/users")

    assert drop.status is None
    assert limited.retry_after == 1  # Retry-After is whole seconds, rounded up
    assert limited.paths == ("/api/v2/users",)
    assert limited.applies_to("/api/v2/users/abc") and not limited.applies_to("/api/v2/organizations/me")
    with pytest.raises(ValueError):
        make_fault(418, None, allowed=TOKEN_STATUSES)
    with pytest.raises(ValueError):
        make_fault(503, -1)
    with pytest.raises(ValueError):
        make_fault(True, None)
