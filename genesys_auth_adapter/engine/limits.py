"""What a 429 says about the limit it met, and the names pacing files requests under.

Since June 2023 a Genesys 429 body may name the limit that was hit::

    "limit": {"key": "user.rate.per.minute", "namespace": "directory", "value": 180}

:func:`parse_limit` reads that object (pure, tolerant of bodies cut short); :attr:`Limit.is_token` tells the
token's own limit (``token.rate.per.minute``, ``client.credentials.token.rate.per.minute``) from the others
(user, org, endpoint), which are paced by their key and the :func:`endpoint_family` of the request that met
them. :func:`fingerprint` names a token in shared state without the token in it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

#: The rate units a limit key may end with, in seconds (``user.rate.per.minute`` is 180 per 60 s).
UNITS = {"per.second": 1.0, "per.minute": 60.0, "per.hour": 3600.0}
#: The last words of the keys of the per-token limit (``client.credentials.token.rate.per.minute``).
TOKEN_KEY_SUFFIX = "token.rate.per.minute"
#: How many path segments after ``/api/v2`` (ids left out) name an endpoint family.
FAMILY_DEPTH = 4

# A cut-short body (the flow keeps its first 1000 characters) still yields the limit object itself.
_LIMIT_OBJECT = re.compile(r'"limit"\s*:\s*(\{[^{}]*\})')
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_WORD = re.compile(r"[a-z][a-z0-9_-]*\Z")
_API_PREFIX = re.compile(r"\A(?:[a-z][a-z0-9+.-]*://[^/]*)?/*api/v2(?:/|\Z)", re.IGNORECASE)


@dataclass(frozen=True)
class Limit:
    """The ``limit`` object of a 429 body.

    Attributes:
        key: The limit's key, such as ``client.credentials.token.rate.per.minute``.
        namespace: The area it belongs to (``directory``, ``analytics``...), if given.
        value: How many requests it allows per :attr:`window`, if given.
    """

    key: str
    namespace: str | None = None
    value: int | None = None

    @property
    def window(self) -> float | None:
        """The seconds the limit counts over, read from its key's unit; None when the key names none."""
        for unit, seconds in UNITS.items():
            if self.key.endswith("." + unit):
                return seconds
        return None

    @property
    def is_token(self) -> bool:
        """The per-token limit (every request of the token counts), as opposed to a user, org or endpoint one."""
        return self.key == TOKEN_KEY_SUFFIX or self.key.endswith("." + TOKEN_KEY_SUFFIX)

    @property
    def rate(self) -> tuple[int, float] | None:
        """The rate it states, ``(requests, window seconds)``, or None when it states none (no value, no unit)."""
        window = self.window
        if self.value is None or self.value < 1 or window is None:
            return None
        return self.value, window

    def __str__(self) -> str:
        value = "" if self.value is None else f"={self.value}"
        return f"{self.namespace + ':' if self.namespace else ''}{self.key}{value}"


def parse_limit(body: str) -> Limit | None:
    """The ``limit`` object of a 429 body, or None when there is none or it is unusable (never raises)."""
    if '"limit"' not in body:
        return None
    raw: Any = None
    try:
        document = json.loads(body)
        raw = document.get("limit") if isinstance(document, dict) else None
    except ValueError:
        match = _LIMIT_OBJECT.search(body)
        if match:
            try:
                raw = json.loads(match.group(1))
            except ValueError:
                raw = None
    if not isinstance(raw, dict):
        return None
    key, namespace, value = raw.get("key"), raw.get("namespace"), raw.get("value")
    if not isinstance(key, str) or not key.strip():
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return Limit(
        key=key.strip(),
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        value=value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None,
    )


def endpoint_family(path: str, depth: int = FAMILY_DEPTH) -> str:
    """The endpoint family of a request path: its first ``depth`` words after ``/api/v2``, ids left out.

    ``/api/v2/analytics/conversations/details/query`` and ``.../details/query?x=1`` are
    ``analytics/conversations/details/query``; ``/api/v2/users/{id}/queues`` is ``users/queues``. An id is a
    segment that is not a plain lower-case word (a UUID, a number, an address, anything percent-encoded).
    A path outside ``/api/v2`` is its own family (its words as they are).
    """
    path = path.split("?", 1)[0].split("#", 1)[0]
    match = _API_PREFIX.match(path)
    rest = path[match.end() :] if match else path
    words = [s.lower() for s in rest.split("/") if s]
    kept = [w for w in words if _WORD.match(w) and not _UUID.match(w) and not _looks_like_id(w)]
    return "/".join(kept[:depth]) or "/"


def _looks_like_id(word: str) -> bool:
    """A word with digits that is long (a hash, a base64 id) rather than a name like ``v2`` or ``e164``."""
    return len(word) >= 16 and any(ch.isdigit() for ch in word)


def fingerprint(authorization: str) -> str:
    """A short name for a token in shared state (store keys, log lines): a hash, never the token.

    Takes the ``Authorization`` value or the bare token (the scheme is left out).
    """
    return _digest(authorization.split(" ", 1)[-1])


def limit_lane(key: str, family: str) -> str:
    """The lane (and budget) name of a limit that is not the token's, met on an endpoint family."""
    return "l." + _digest(f"{key}\n{family}")


def _digest(text: str) -> str:
    return hashlib.sha256(b"genesys-auth-adapter pacing\n" + text.encode()).hexdigest()[:16]
