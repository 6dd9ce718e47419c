"""The ranges of the emulator's settings, checked alike from Python, the fault API and the command line.

A value outside its range is refused with a ValueError that names the setting and the range: a NaN or
infinite clock skew would make every Date header unwritable, and a day-long token delay would hang a client.
"""

from __future__ import annotations

import math

#: Largest clock skew either way, in seconds: ten years keeps every date representable.
MAX_SKEW = 10 * 365 * 86400

#: Longest wait before answering a token request, in seconds: longer than any token-request timeout.
MAX_TOKEN_DELAY = 600

#: Longest token lifetime, in seconds: Genesys' own maximum (48 hours). The shortest is 1, shorter
#: than Genesys' 300, so that tests can watch tokens expire.
MAX_TOKEN_LIFETIME = 172800

#: Largest Retry-After of an injected fault, in seconds (one day).
MAX_RETRY_AFTER = 86400

#: Longest rate-limit window, in seconds (one hour); Genesys' windows are a minute long.
MAX_RATE_WINDOW = 3600

#: Largest request count of a rate limit, and the most synthetic users.
MAX_RATE_LIMIT = 10**9
MAX_USERS = 100_000


def seconds(value: object, name: str, low: float, high: float, *, low_open: bool = False) -> float:
    """Checks a finite number of seconds in ``[low, high]`` (``(low, high]`` with ``low_open``).

    Args:
        value: The value given.
        name: The setting's name, as the caller spelled it (``skew``, ``tokenDelay``...).
        low: The smallest value allowed.
        high: The largest value allowed.
        low_open: Refuse ``low`` itself.

    Returns:
        The value as a float.

    Raises:
        ValueError: Naming ``name`` and the range, when the value is not a finite number in range.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))
        or not (low < value if low_open else low <= value)
        or value > high
    ):
        low_text = f"above {_plain(low)}" if low_open else f"from {_plain(low)}"
        raise ValueError(f"{name} must be a finite number of seconds {low_text} to {_plain(high)}, not {value!r}")
    return float(value)


def whole(value: object, name: str, low: int, high: int) -> int:
    """Checks a whole number in ``[low, high]``.

    Args:
        value: The value given.
        name: The setting's name, as the caller spelled it.
        low: The smallest value allowed.
        high: The largest value allowed.

    Returns:
        The value.

    Raises:
        ValueError: Naming ``name`` and the range, when the value is not an integer in range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def skew(value: object, name: str = "skew") -> float:
    """Checks a server clock skew: at most :data:`MAX_SKEW` seconds either way."""
    return seconds(value, name, -MAX_SKEW, MAX_SKEW)


def token_delay(value: object, name: str = "token delay") -> float:
    """Checks a token delay: 0 to :data:`MAX_TOKEN_DELAY` seconds."""
    return seconds(value, name, 0, MAX_TOKEN_DELAY)


def token_lifetime(value: object, name: str = "token lifetime") -> int:
    """Checks a token lifetime: 1 to :data:`MAX_TOKEN_LIFETIME` whole seconds."""
    return whole(value, name, 1, MAX_TOKEN_LIFETIME)


def retry_after(value: object, name: str = "retry_after") -> float | None:
    """Checks a Retry-After in seconds (0 to :data:`MAX_RETRY_AFTER`), or None for no header."""
    return None if value is None else seconds(value, name, 0, MAX_RETRY_AFTER)


def _plain(number: float) -> str:
    # 315360000, not 3.1536e+08: a range is read by people.
    return str(int(number)) if float(number).is_integer() else str(number)
