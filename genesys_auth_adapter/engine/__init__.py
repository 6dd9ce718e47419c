"""The token engine: clock, clock offset, token values and the token manager. No HTTP in here."""

from .clock import SYSTEM_CLOCK, Clock, ManualClock, SystemClock
from .manager import FetchToken, TokenManager
from .skew import ClockOffset, OffsetEstimate, parse_http_date
from .token import Freshness, IssuedToken, Token, build_token, jwt_claims, refresh_margin

__all__ = [
    "SYSTEM_CLOCK",
    "Clock",
    "ClockOffset",
    "FetchToken",
    "Freshness",
    "IssuedToken",
    "ManualClock",
    "OffsetEstimate",
    "SystemClock",
    "Token",
    "TokenManager",
    "build_token",
    "jwt_claims",
    "parse_http_date",
    "refresh_margin",
]
