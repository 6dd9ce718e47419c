"""Bearer auth for ``requests`` and ``httpx`` against the Genesys Cloud CX API.

Attaches tokens, tracks the server clock offset, refreshes ahead of expiry and, after a 401,
re-authenticates and re-sends the same request once. See the README for a quickstart.
"""

from .config import from_env
from .credentials import AccessToken, ClientCredentials, TokenSource
from .engine.clock import Clock, ManualClock, SystemClock
from .engine.retry import Attempt, RetryPolicy, retry_policy
from .engine.skew import OffsetEstimate
from .engine.token import IssuedToken, Token
from .errors import (
    ApiError,
    ConfigurationError,
    GenesysError,
    PaginationError,
    RateLimitedError,
    RetryExhaustedError,
    TokenRequestError,
    TokenWaitTimeout,
    UnreplayableBodyError,
    error_from_response,
    raise_for_genesys,
)
from .oauth import TokenRequest
from .pagination import items, iter_pages
from .regions import REGIONS, Region, get_region
from .session import GenesysSession, session
from .transport.adapter import GenesysAdapter
from .transport.auth import GenesysAuth
from .transport.login import LoginClient
from .transport.outcomes import attempts
from .transport.ratelimit import RateLimit, rate_limit

__version__ = "0.1.0"

__all__ = [
    "AccessToken",
    "ApiError",
    "Attempt",
    "ClientCredentials",
    "Clock",
    "ConfigurationError",
    "GenesysAdapter",
    "GenesysAuth",
    "GenesysError",
    "GenesysSession",
    "IssuedToken",
    "LoginClient",
    "ManualClock",
    "OffsetEstimate",
    "PaginationError",
    "REGIONS",
    "RateLimit",
    "RateLimitedError",
    "Region",
    "RetryExhaustedError",
    "RetryPolicy",
    "SystemClock",
    "Token",
    "TokenRequest",
    "TokenRequestError",
    "TokenSource",
    "TokenWaitTimeout",
    "UnreplayableBodyError",
    "__version__",
    "attempts",
    "error_from_response",
    "from_env",
    "get_region",
    "items",
    "iter_pages",
    "raise_for_genesys",
    "rate_limit",
    "retry_policy",
    "session",
]
