"""Holding a login-origin answer open until a test lets it go, so that a race can be staged exactly."""

from __future__ import annotations

import threading


class TokenHold:
    """Holds the answer to one token request (or refresh) after its token is minted, until :meth:`release`.

    A revocation meanwhile revokes that token too: a token minted just before a revocation and received
    just after it. The login origin waits at most :data:`HOLD_LIMIT` seconds, so a test that never
    releases cannot hang the emulator.
    """

    def __init__(self) -> None:
        self._minted = threading.Event()
        self._released = threading.Event()

    def wait_minted(self, timeout: float) -> bool:
        """Wait until the held request's token is minted; False if ``timeout`` seconds passed first."""
        return self._minted.wait(timeout)

    def release(self) -> None:
        """Let the held answer go."""
        self._released.set()

    def hold(self) -> None:
        """Called by the login origin once the token is minted: wait for :meth:`release` (bounded)."""
        self._minted.set()
        self._released.wait(HOLD_LIMIT)


#: The longest a token answer is held (seconds).
HOLD_LIMIT = 30.0
