"""Bearer auth for ``requests`` and ``httpx`` against the Genesys Cloud CX API.

Attaches tokens, tracks the server clock offset, refreshes ahead of expiry and, after a 401,
re-authenticates and re-sends the same request once. See the README for a quickstart.
"""

from .config import from_env
from .credentials import AccessToken, ClientCredentials, TokenSource
from .engine.clock import Clock, ManualClock, SystemClock
from .engine.pacing import PacingPolicy
from .engine.retry import Attempt, Paced, RetryPolicy, retry_policy
from .engine.skew import OffsetEstimate
from .engine.token import IssuedToken, Token
from .errors import (
    ApiError,
    ConfigurationError,
    GenesysError,
    LoginRequiredError,
    PaginationError,
    RateBudgetError,
    RateLimitedError,
    RetryExhaustedError,
    TokenRequestError,
    TokenWaitTimeout,
    UnreplayableBodyError,
    error_from_response,
    raise_for_genesys,
)
from .grants import CodeClient, PkceClient, RefreshToken, Saml2Bearer, login_with_browser
from .oauth import TokenRequest
from .pagination import items, iter_pages
from .regions import REGIONS, Region, get_region
from .session import GenesysSession, session
from .stores import MemoryTokenStore, TokenStore
from .stores.file import FileTokenStore
from .transport.adapter import GenesysAdapter
from .transport.auth import GenesysAuth
from .transport.login import LoginClient
from .transport.outcomes import attempts
from .transport.ratelimit import RateLimit, rate_limit

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The Redis store needs the [redis] extra: imported only when asked for, so the package imports without it.
    if name == "RedisTokenStore":
        from .stores.redis import RedisTokenStore

        return RedisTokenStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AccessToken",
    "ApiError",
    "Attempt",
    "ClientCredentials",
    "Clock",
    "CodeClient",
    "ConfigurationError",
    "FileTokenStore",
    "GenesysAdapter",
    "GenesysAuth",
    "GenesysError",
    "GenesysSession",
    "IssuedToken",
    "LoginClient",
    "LoginRequiredError",
    "ManualClock",
    "MemoryTokenStore",
    "OffsetEstimate",
    "Paced",
    "PacingPolicy",
    "PaginationError",
    "PkceClient",
    "REGIONS",
    "RateBudgetError",
    "RateLimit",
    "RateLimitedError",
    "RefreshToken",
    "Region",
    "RetryExhaustedError",
    "RetryPolicy",
    "Saml2Bearer",
    "SystemClock",
    "Token",
    "TokenRequest",
    "TokenRequestError",
    "TokenSource",
    "TokenStore",
    "TokenWaitTimeout",
    "UnreplayableBodyError",
    "__version__",
    "attempts",
    "error_from_response",
    "from_env",
    "get_region",
    "items",
    "iter_pages",
    "login_with_browser",
    "raise_for_genesys",
    "rate_limit",
    "retry_policy",
    "session",
]
