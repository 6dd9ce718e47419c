"""Token values: what a fetch returns, what the engine keeps, and how fresh it is."""

from __future__ import annotations

import enum
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from .skew import ClockOffset

_log = logging.getLogger("genesys_auth_adapter.token")

# What may stand in an Authorization header value after the scheme: visible ASCII, no spaces.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")

#: Never refresh more than this many seconds ahead of expiry.
MAX_REFRESH_MARGIN = 300.0


class Freshness(enum.Enum):
    """How usable a token is right now."""

    FRESH = "fresh"  # use it
    STALE = "stale"  # still valid, but due for a refresh: use it and refresh
    INVALID = "invalid"  # expired: do not send it


@dataclass(frozen=True)
class IssuedToken:
    """What a token source hands the engine: the fields of a Genesys ``/oauth/token`` answer.

    Attributes:
        access_token: The bearer token (never shown in ``repr``).
        expires_in: Lifetime in seconds as issued, or None when unknown.
        token_type: The token type; ``bearer`` for Genesys.
        date: The raw ``Date`` header of the token response, for the clock offset.
        minted_now: True when the token was issued by the request just made (a login response), so
            a JWT's ``iat`` is a reading of the server clock.
        provisional: True when ``expires_in`` is only an upper bound guessed on the local clock (a stored
            token taken before any response showed the server's clock); the token is taken again, with
            its true lifetime, once the server's clock is known.
        stored: True when it was taken from a token store: another process minted it, at a time this
            one does not know (it may predate a revocation this process has just seen).
        refresh_token: The refresh token that came with it (the code grant), or None (never shown in
            ``repr``); the library keeps it in the token store, never in the engine's :class:`Token`.
        idles_in: Seconds until the token idles out (a user token unused for the organization's idle
            timeout stops working: ``dateTokenIdles`` of ``GET /api/v2/tokens/me``), or None when unknown.
    """

    access_token: str = field(repr=False)
    expires_in: float | None = None
    token_type: str = "bearer"
    date: str | None = None
    minted_now: bool = False
    provisional: bool = False
    stored: bool = False
    refresh_token: str | None = field(default=None, repr=False)
    idles_in: float | None = None

    def __post_init__(self) -> None:
        # The value is never quoted: it is a secret.
        if not isinstance(self.access_token, str) or not _HEADER_SAFE.fullmatch(self.access_token):
            raise ValueError(
                "access_token must be a non-empty string of printable ASCII without spaces or control characters"
            )
        if isinstance(self.token_type, str) and not self.token_type.strip():
            object.__setattr__(self, "token_type", "bearer")  # a blank type means the usual one
        if not isinstance(self.token_type, str) or not _HEADER_SAFE.fullmatch(self.token_type):
            raise ValueError("token_type must be a single word such as 'bearer'")
        if self.expires_in is not None and not (0 < self.expires_in < math.inf):  # NaN fails too
            raise ValueError("expires_in must be a finite number of seconds above 0 when given")
        if self.idles_in is not None and not (0 <= self.idles_in < math.inf):
            raise ValueError("idles_in must be a finite number of seconds of at least 0 when given")
        if self.refresh_token is not None and not (
            isinstance(self.refresh_token, str) and _HEADER_SAFE.fullmatch(self.refresh_token)
        ):
            raise ValueError("refresh_token must be a non-empty string of printable ASCII without spaces")


@dataclass(frozen=True)
class Token:
    """A token as the engine holds it, with deadlines on the monotonic clock.

    Attributes:
        access_token: The bearer token (never shown in ``repr``).
        header: The ready ``Authorization`` header value (never shown in ``repr``).
        generation: 1 for the first token of a manager, then 2, 3, ...
        obtained_at: Monotonic time just before the token request was sent.
        expires_at: Monotonic time the token stops working, or None when unknown.
        refresh_at: Monotonic time to start replacing it, or None when unknown.
        claims: The JWT claims when the token is a JWT, else None (never shown in ``repr``).
        provisional: Its deadlines are a guess made before the server's clock was known
            (:attr:`IssuedToken.provisional`).
        minted_at: Monotonic time just before this process asked for it (its token request, or its
            source's refresh), or None when it came from a token store (minted elsewhere, when unknown).
    """

    access_token: str = field(repr=False)
    header: str = field(repr=False)
    generation: int
    obtained_at: float
    expires_at: float | None
    refresh_at: float | None
    claims: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    provisional: bool = False
    minted_at: float | None = None

    def minted_since(self, when: float) -> bool:
        """Whether this process asked for the token at or after monotonic time ``when`` (a stored one: no)."""
        return self.minted_at is not None and self.minted_at >= when

    def freshness(self, now: float) -> Freshness:
        """Classify the token at monotonic time ``now``."""
        if self.expires_at is not None and now >= self.expires_at:
            return Freshness.INVALID
        if self.refresh_at is not None and now >= self.refresh_at:
            return Freshness.STALE
        return Freshness.FRESH

    def remaining(self, now: float) -> float | None:
        """Seconds of validity left at monotonic time ``now``, or None when unknown."""
        return None if self.expires_at is None else self.expires_at - now


def refresh_margin(lifetime: float) -> float:
    """How long before expiry to refresh a token of ``lifetime`` seconds.

    A tenth of the lifetime, at least min(30 s, half the lifetime) and at most five minutes:
    a 48-hour token is refreshed 5 minutes early, a 300-second one 30 seconds early and a
    3-second one after 1.5 seconds.
    """
    return min(MAX_REFRESH_MARGIN, max(0.1 * lifetime, min(30.0, 0.5 * lifetime)))


def jwt_claims(access_token: str) -> Mapping[str, Any] | None:
    """Decode a JWT's claims without verifying it, or return None for an opaque token.

    The signature is not checked: the claims only help schedule refreshes; the API server is
    the one that decides whether the token is valid.
    """
    if access_token.count(".") != 2 or not access_token.startswith("eyJ"):
        return None
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def build_token(
    issued: IssuedToken,
    *,
    generation: int,
    sent_monotonic: float,
    sent_wall: float,
    received_wall: float,
    offset: ClockOffset,
) -> Token:
    """Turn an issued token into a :class:`Token` with monotonic deadlines.

    The lifetime counts from the moment the request was sent (the server started counting no
    earlier), so expiry is never overestimated. For a JWT minted by this request, ``iat`` is also a
    clock sample; the lifetime is the shortest of ``expires_in``, ``exp - iat`` (fresh JWTs only) and
    ``exp`` minus the estimated server time (once there is an estimate). ``exp`` is never compared
    with the local wall clock.

    A user token that idles out (``idles_in``) is refreshed ahead of that moment as it is ahead of its
    expiry (``refresh_at`` is the earlier of the two); it is not taken as expired then, because every
    request made with it since has pushed the server's idle deadline further.
    """
    offset.observe_date_header(issued.date, sent_wall, received_wall)
    claims = jwt_claims(issued.access_token)
    lifetimes = [] if issued.expires_in is None else [float(issued.expires_in)]
    if claims is not None:
        iat, exp = _number(claims.get("iat")), _number(claims.get("exp"))
        # ``iat`` is a clock sample only for a token minted by this very request; an older token's
        # ``iat`` (one handed over by the caller) says nothing about the server clock now.
        minted_now = issued.minted_now and iat is not None and exp is not None
        if minted_now and iat is not None and exp is not None:
            offset.observe(iat, 1.0, sent_wall, received_wall)
            lifetimes.append(exp - iat)
        estimate = offset.estimate
        if exp is not None and estimate is not None:
            lifetimes.append(exp - (sent_wall + estimate.offset) - estimate.uncertainty)
    expires_at = refresh_at = None
    if lifetimes:
        lifetime = max(0.0, min(lifetimes))
        expires_at = sent_monotonic + lifetime
        refresh_at = expires_at - refresh_margin(lifetime)
    if issued.idles_in is not None:
        idle_refresh = sent_monotonic + issued.idles_in - refresh_margin(issued.idles_in)
        refresh_at = idle_refresh if refresh_at is None else min(refresh_at, idle_refresh)
    # Genesys says "bearer"; the header scheme is conventionally capitalised.
    scheme = "Bearer" if issued.token_type.lower() == "bearer" else issued.token_type
    return Token(
        access_token=issued.access_token,
        header=f"{scheme} {issued.access_token}",
        generation=generation,
        obtained_at=sent_monotonic,
        expires_at=expires_at,
        refresh_at=refresh_at,
        claims=claims,
        provisional=issued.provisional,
        minted_at=None if issued.stored else sent_monotonic,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
