"""What the API says of a user's token: alive or not, and when it idles out (``dateTokenIdles``).

``GET /api/v2/tokens/me?preserveIdleTTL=true`` answers it without pushing the idle deadline back. The
front ends' login clients send that request; the answer is read here, once for every transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .engine.skew import parse_http_date
from .oauth import HttpResponse, json_object

#: ``GET`` on this API path tells a token's idle deadline (``dateTokenIdles``) without pushing it back.
TOKEN_INFO_PATH = "/api/v2/tokens/me?preserveIdleTTL=true"


@dataclass(frozen=True)
class TokenInfo:
    """What ``GET /api/v2/tokens/me?preserveIdleTTL=true`` said of a token.

    Attributes:
        alive: True (200), False (401: expired, idled out or revoked), or None (no answer, another status).
        idles_in: Seconds until the token idles out (``dateTokenIdles`` minus the answer's ``Date``), or None
            when the answer has no idle deadline (no idle timeout in the organization, a client token).
    """

    alive: bool | None
    idles_in: float | None = None


def parse_token_info(response: HttpResponse | None, *, received_wall: float) -> TokenInfo:
    """Read a token info answer; never raises (the caller goes on without the information).

    Args:
        response: The answer, or None when the request failed.
        received_wall: Local time the answer arrived, used for "now" when it has no ``Date``.
    """
    if response is None:
        return TokenInfo(alive=None)
    if response.status_code == 401:
        return TokenInfo(alive=False)
    if response.status_code != 200:
        return TokenInfo(alive=None)
    body = json_object(response)
    idles = _iso_seconds(body.get("dateTokenIdles")) if body is not None else None
    if idles is None:
        return TokenInfo(alive=True)
    date = response.headers.get("Date")
    second = parse_http_date(date) if date else None
    # A Date names a whole second the answer was made in; its end is the latest "now" it allows, so the idle
    # time left is never overestimated.
    now = received_wall if second is None else second + 1.0
    return TokenInfo(alive=True, idles_in=max(0.0, idles - now))


def _iso_seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
