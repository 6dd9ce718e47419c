"""Validation of numeric request parameters, shared by the JSON bodies and the query strings."""

from __future__ import annotations

from .errors import RouteError, bad_request


def bounded_int(value: object, field: str, default: int, high: int | None) -> int:
    """Reads an optional positive integer, given as a JSON number or as query-string text.

    Args:
        value: The raw value; None means absent.
        field: The field name reported in the 400's ``details``.
        default: The value when absent.
        high: The largest value allowed, or None for no limit.

    Returns:
        The integer.

    Raises:
        RouteError: With a 400 ``bad.request`` naming ``field`` when the value is not an integer in range.
    """
    if value is None:
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    if number is None or number < 1 or (high is not None and number > high):
        limit = f" from 1 to {high}" if high is not None else " of at least 1"
        raise RouteError(bad_request(f"{field} must be an integer{limit}.", field))
    return number
