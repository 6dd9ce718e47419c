"""Deterministic synthetic data: the same inputs give the same users, conversations and bytes on every run.

Everything derives from SHA-256 of a label, never from ``hash()`` (salted per process) or a random source.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

_NAMESPACE = uuid.UUID("6f1c9a52-3f0e-5b7e-9d41-2c8a7e0b5d13")

_FIRST = ("Ada", "Bram", "Chiara", "Dmitri", "Esme", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Keiko", "Luca")
_LAST = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Becker", "Quinn", "Ruiz")

#: At most this many conversations start in any one hour.
MAX_PER_HOUR = 5

_HOUR = 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode("utf-8")).digest()


def _number(label: str) -> int:
    return int.from_bytes(_digest(label)[:8], "big")


def stable_id(label: str) -> str:
    """Returns a UUID that depends only on ``label``."""
    return str(uuid.uuid5(_NAMESPACE, label))


def iso(moment: datetime) -> str:
    """Formats a UTC time as Genesys does: ``2024-01-31T09:15:00.000Z``."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def user(index: int) -> dict[str, Any]:
    """Returns synthetic user number ``index`` (0-based)."""
    first = _FIRST[index % len(_FIRST)]
    last = _LAST[(index // len(_FIRST)) % len(_LAST)]
    user_id = stable_id(f"user:{index}")
    email = f"{first.lower()}.{last.lower()}{index}@emulator.example"
    return {
        "id": user_id,
        "name": f"{first} {last}",
        "email": email,
        "username": email,
        "state": "active",
        "division": {"id": stable_id("division:home"), "name": "Home"},
        "title": "Agent" if index % 4 else "Supervisor",
        "version": 1 + index % 3,
        "selfUri": f"/api/v2/users/{user_id}",
    }


def organization() -> dict[str, Any]:
    """Returns the emulated organization."""
    org_id = stable_id("organization")
    return {
        "id": org_id,
        "name": "Emulated Organization",
        "thirdPartyOrgName": "emulated-org",
        "defaultLanguage": "en-us",
        "domain": "emulated-org",
        "state": "active",
        "version": 1,
        "selfUri": f"/api/v2/organizations/{org_id}",
    }


@dataclass(frozen=True)
class ConversationQuery:
    """The part of a details query that selects conversations: start inclusive, end exclusive."""

    start: datetime
    end: datetime
    descending: bool = False


def conversations(query: ConversationQuery, agents: int) -> list[dict[str, Any]]:
    """Returns every synthetic conversation that starts inside the query's interval, in its order.

    Each hour holds 0 to :data:`MAX_PER_HOUR` conversations fixed by a hash of that hour, so any interval
    always yields the same conversations, and overlapping intervals agree on their overlap.

    Args:
        query: The interval and order.
        agents: How many synthetic users can be the agent (0: conversations have no agent).

    Returns:
        The conversations, sorted by ``conversationStart`` (then id).
    """
    found: list[dict[str, Any]] = []
    hour = int(query.start.timestamp() // _HOUR) * _HOUR
    end_ts = query.end.timestamp()
    while hour < end_ts:
        found.extend(c for c in _hour(hour, agents) if query.start <= c["_start"] < query.end)
        hour += _HOUR
    found.sort(key=lambda c: (c["_start"], c["conversationId"]), reverse=query.descending)
    for conversation in found:
        del conversation["_start"]
    return found


def _hour(hour: int, agents: int) -> list[dict[str, Any]]:
    count = _number(f"hour:{hour}") % (MAX_PER_HOUR + 1)
    return [_conversation(hour, n, agents) for n in range(count)]


def _conversation(hour: int, n: int, agents: int) -> dict[str, Any]:
    label = f"conversation:{hour}:{n}"
    seed = _number(label)
    # Whole milliseconds from the epoch, so the formatted start is exactly the start compared.
    start = _EPOCH + timedelta(milliseconds=hour * 1000 + seed % (_HOUR * 1000))
    duration = 30 + (seed >> 24) % 1770
    inbound = (seed >> 40) % 3 != 0
    end = start + timedelta(seconds=duration)
    customer = {
        "participantId": stable_id(label + ":customer"),
        "participantName": f"Customer {seed % 10000:04d}",
        "purpose": "customer" if inbound else "external",
        "sessions": [{"mediaType": "voice", "direction": "inbound" if inbound else "outbound"}],
    }
    participants = [customer]
    if agents > 0:
        agent = user((seed >> 8) % agents)
        participants.append(
            {
                "participantId": stable_id(label + ":agent"),
                "participantName": agent["name"],
                "purpose": "agent",
                "userId": agent["id"],
                "sessions": [{"mediaType": "voice", "direction": "inbound" if inbound else "outbound"}],
            }
        )
    return {
        "_start": start,
        "conversationId": stable_id(label),
        "conversationStart": iso(start),
        "conversationEnd": iso(end),
        "originatingDirection": "inbound" if inbound else "outbound",
        "divisionIds": [stable_id("division:home")],
        "participants": participants,
    }


def blob(download_id: str, size: int = 64 * 1024) -> bytes:
    """Returns ``size`` bytes that depend only on ``download_id`` (the content of a download)."""
    chunks: list[bytes] = []
    block = 0
    while len(chunks) * 32 < size:
        chunks.append(_digest(f"blob:{download_id}:{block}"))
        block += 1
    return b"".join(chunks)[:size]
