"""One authorization request: its PKCE verifier and challenge (RFC 7636, S256), its state, its redirect URI.

These values exist for the few seconds of one browser login; none of them is ever shown in a ``repr``,
a message or a log line: the verifier and the code it unlocks are as good as a password for that time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

#: Bytes of randomness in a verifier: 64 bytes give 86 base64url characters (RFC 7636 allows 43-128).
_VERIFIER_BYTES = 64
#: Bytes of randomness in a state value.
_STATE_BYTES = 32


def s256_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier``: base64url (no padding) of its SHA-256 digest."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class AuthorizationRequest:
    """What one browser login sends to ``/oauth/authorize`` and must find again in the redirect.

    Attributes:
        redirect_uri: The redirect URI of this login (the loopback server's, port included).
        state: The random value the redirect must carry back (never shown in ``repr``).
        verifier: The PKCE code verifier, sent only with the code (never shown in ``repr``).
    """

    redirect_uri: str
    state: str = field(repr=False)
    verifier: str = field(repr=False)

    @classmethod
    def new(cls, redirect_uri: str) -> AuthorizationRequest:
        """A fresh request: a random state and a random verifier from the ``secrets`` module."""
        return cls(
            redirect_uri=redirect_uri,
            state=secrets.token_urlsafe(_STATE_BYTES),
            verifier=secrets.token_urlsafe(_VERIFIER_BYTES),
        )

    @property
    def challenge(self) -> str:
        """The S256 challenge of the verifier (sent in the authorize URL; it reveals nothing of the verifier)."""
        return s256_challenge(self.verifier)

    def state_matches(self, state: str | None) -> bool:
        """Whether a redirect's ``state`` is this request's (compared in constant time)."""
        return state is not None and hmac.compare_digest(state.encode("utf-8", "replace"), self.state.encode())
