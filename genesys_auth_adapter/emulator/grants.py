"""The state of the user grants: authorization codes, refresh tokens, whom each user token acts for, idle expiry.

It has its own lock, held only for dictionary work. Callers never hold it while calling into
:class:`~.state.EmulatorState` (nor the reverse), so the two locks cannot deadlock.

Times are server times (the emulator's skewed clock), so a test expires a code or idles a token by moving the
clock forward instead of sleeping.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from . import settings
from .hold import TokenHold

#: Seconds an authorization code can be redeemed after it is issued (once).
CODE_LIFETIME = 60.0

#: Genesys' range for the organization's idle timeout (``PUT /api/v2/tokens/timeout``): 5 min to 8 h.
IDLE_MIN = 300
IDLE_MAX = 28800

#: The token-request grant types counted in ``token_requests_by_grant`` (anything else counts as "other").
GRANT_TYPES = (
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
)

_PRUNE_AT = 10_000

_COUNTER_NAMES = (
    "authorize_requests",
    "codes_issued",
    "codes_redeemed",
    "user_tokens_issued",
    "refresh_tokens_issued",
    "refresh_tokens_rejected",
    "idle_expired",
)


@dataclass(frozen=True)
class PendingCode:
    """An authorization code waiting to be redeemed.

    Attributes:
        client_id: The client it was issued to.
        redirect_uri: The redirect URI of the authorize request (the token request must repeat it).
        challenge: The PKCE ``code_challenge`` (S256), or None.
        user: The consenting user's index.
        expires: Server time after which it is refused.
    """

    client_id: str
    redirect_uri: str
    challenge: str | None
    user: int
    expires: float


@dataclass(frozen=True)
class TokenOwner:
    """Whom a user access token acts for, and when it was last used (server time)."""

    user: int
    client_id: str
    grant: str
    last_used: float


@dataclass(frozen=True)
class RefreshRecord:
    """What a refresh token may be exchanged for."""

    client_id: str
    user: int
    grant: str


class GrantState:
    """Codes, refresh tokens, user-token owners, the idle timeout and the grant counters, under one lock.

    Args:
        idle_timeout: Seconds a user token may stay unused before it stops working; None disables idle
            expiry (the organization has not enabled it). Any positive number up to 8 hours is accepted
            here, so that tests can use short ones; the API keeps Genesys' 5-minute minimum.

    Raises:
        ValueError: When ``idle_timeout`` is out of range.
    """

    def __init__(self, idle_timeout: float | None = None) -> None:
        self._lock = threading.Lock()
        self._idle = check_idle_timeout(idle_timeout)
        self._idle_seconds = IDLE_MAX if self._idle is None else self._idle
        self._codes: dict[str, PendingCode] = {}
        self._refresh: dict[str, RefreshRecord] = {}
        self._owners: dict[str, TokenOwner] = {}
        self._refresh_hold: TokenHold | None = None
        self._counts = dict.fromkeys(_COUNTER_NAMES, 0)
        self._by_grant: dict[str, int] = {}

    def __repr__(self) -> str:
        with self._lock:
            return f"GrantState(codes={len(self._codes)}, refresh_tokens={len(self._refresh)})"

    # Authorization codes.

    def issue_code(self, pending: PendingCode) -> str:
        """Records a new single-use code and returns it."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._codes) >= _PRUNE_AT:
                self._codes = {c: p for c, p in self._codes.items() if p.expires > pending.expires - CODE_LIFETIME}
            self._codes[code] = pending
            self._counts["codes_issued"] += 1
        return code

    def redeem_code(self, code: str, now: float) -> PendingCode | None:
        """Consumes ``code``: returns what it was issued for, or None when unknown, used or expired.

        A code is spent by its first redemption attempt, even one that fails a later check (a wrong
        verifier or redirect URI): a stolen code cannot be retried.
        """
        with self._lock:
            pending = self._codes.pop(code, None)
            if pending is None or now > pending.expires:
                return None
            self._counts["codes_redeemed"] += 1
            return pending

    # Refresh tokens.

    def issue_refresh(self, record: RefreshRecord) -> str:
        """Records a new refresh token and returns it."""
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[token] = record
            self._counts["refresh_tokens_issued"] += 1
        return token

    def rotate_refresh(self, token: str, client_id: str) -> tuple[RefreshRecord, str] | None:
        """Exchanges a refresh token of ``client_id`` for a new one; the old one stops working at once.

        Returns:
            The record and the new refresh token, or None when ``token`` is unknown, already rotated,
            revoked, or belongs to another client (``invalid_grant``).
        """
        new = secrets.token_urlsafe(48)
        with self._lock:
            record = self._refresh.get(token)
            if record is None or record.client_id != client_id:
                self._counts["refresh_tokens_rejected"] += 1
                return None
            del self._refresh[token]
            self._refresh[new] = record
            self._counts["refresh_tokens_issued"] += 1
            return record, new

    def revoke_refresh_tokens(self) -> None:
        """Revokes every refresh token issued so far (a logout everywhere, a password change)."""
        with self._lock:
            self._refresh.clear()

    def refresh_token_count(self) -> int:
        """How many refresh tokens are valid now."""
        with self._lock:
            return len(self._refresh)

    def hold_next_refresh(self) -> TokenHold:
        """Holds the answer to the next refresh request, after its rotation, until ``release()``."""
        hold = TokenHold()
        with self._lock:
            self._refresh_hold = hold
        return hold

    def take_refresh_hold(self) -> TokenHold | None:
        """Consumes the pending refresh hold, if any."""
        with self._lock:
            hold, self._refresh_hold = self._refresh_hold, None
            return hold

    # User access tokens and idle expiry.

    def record_owner(self, token: str, owner: TokenOwner) -> None:
        """Remembers whom a newly issued user access token acts for."""
        with self._lock:
            if len(self._owners) >= _PRUNE_AT and self._idle is not None:
                # Idle ones can never be used again (expired ones go through forget_owners).
                oldest = owner.last_used - self._idle
                self._owners = {t: o for t, o in self._owners.items() if o.last_used >= oldest}
            self._owners[token] = owner
            self._counts["user_tokens_issued"] += 1

    def forget_owners(self, tokens: Iterable[str] | None) -> None:
        """Forgets the owners of revoked or expired access tokens (None: of every token)."""
        with self._lock:
            if tokens is None:
                self._owners.clear()
            for token in tokens or ():
                self._owners.pop(token, None)

    def owner(self, token: str) -> TokenOwner | None:
        """Whom ``token`` acts for; None for a client-credentials token."""
        with self._lock:
            return self._owners.get(token)

    def use(self, token: str, now: float, *, preserve_idle: bool = False) -> bool:
        """Records one use of ``token`` (resetting its idle timer unless ``preserve_idle``).

        Returns:
            False when ``token`` is a user token idle for longer than the idle timeout: it is forgotten
            and the caller must revoke it; True otherwise (client-credentials tokens never idle).
        """
        with self._lock:
            owner = self._owners.get(token)
            if owner is None:
                return True
            if self._idle is not None and now - owner.last_used > self._idle:
                del self._owners[token]
                self._counts["idle_expired"] += 1
                return False
            if not preserve_idle:
                self._owners[token] = replace(owner, last_used=now)
            return True

    def idles_at(self, token: str) -> float | None:
        """Server time at which ``token`` goes idle, or None (not a user token, or idle expiry off)."""
        with self._lock:
            owner = self._owners.get(token)
            if owner is None or self._idle is None:
                return None
            return owner.last_used + self._idle

    def idle_timeout(self) -> tuple[int, bool]:
        """The organization's idle timeout: (seconds, enabled), as ``GET /api/v2/tokens/timeout`` shows it."""
        with self._lock:
            return int(self._idle_seconds), self._idle is not None

    def set_idle_timeout(self, seconds: float | None) -> None:
        """Sets the idle timeout (None disables idle expiry); see the class for the range."""
        checked = check_idle_timeout(seconds)
        with self._lock:
            self._idle = checked
            if checked is not None:
                self._idle_seconds = checked

    # Counters.

    def count(self, name: str) -> None:
        """Adds one to a counter named in :data:`_COUNTER_NAMES`."""
        with self._lock:
            self._counts[name] += 1

    def count_request(self, grant_type: str) -> None:
        """Counts one token request by its ``grant_type``."""
        key = grant_type if grant_type in GRANT_TYPES else "other"
        with self._lock:
            self._by_grant[key] = self._by_grant.get(key, 0) + 1

    def counters(self) -> dict[str, Any]:
        """The grant counters, for :meth:`~.state.EmulatorState.counters`."""
        with self._lock:
            snapshot: dict[str, Any] = dict(self._counts)
            snapshot["token_requests_by_grant"] = dict(self._by_grant)
            return snapshot

    def reset_counters(self) -> None:
        """Zeroes the grant counters."""
        with self._lock:
            self._counts = dict.fromkeys(_COUNTER_NAMES, 0)
            self._by_grant.clear()


def check_idle_timeout(value: object, name: str = "idle_timeout") -> float | None:
    """Checks an idle timeout given from Python: None (off) or seconds above 0, at most 8 hours."""
    if value is None:
        return None
    return settings.seconds(value, name, 0, IDLE_MAX, low_open=True)
