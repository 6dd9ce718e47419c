"""A local emulator of Genesys Cloud CX: login, API and storage origins on loopback ports.

It issues client-credentials tokens (opaque or JWT), enforces their expiry and rate limits (per token and
per endpoint prefix, in windows of any length) by its own (skewable) clock, serves a few Genesys endpoints
with deterministic synthetic data, and injects faults on demand: 429s, 5xx and dropped connections on either
origin, and on the login origin its own throttle (HTTP 400 ``invalid_request`` "rate limit exceeded; ...")
or any other OAuth error. Only the standard library and PyJWT are used, so it can run wherever the client
does.

Typical use::

    with Emulator(rate_limit=3) as emu:
        emu.fail_api_requests(2, status=503)
        ...  # point a client at emu.login_url and emu.api_url
        assert emu.counters()["api_requests"] == 3
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator
    from .run import serve_forever

__all__ = ["Emulator", "serve_forever"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the pytest plugin below this package is loaded at every pytest start of
    # every project that installs the library, and must not pull in the servers until a fixture asks.
    if name == "Emulator":
        from .emulator import Emulator

        return Emulator
    if name == "serve_forever":
        from .run import serve_forever

        return serve_forever
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
