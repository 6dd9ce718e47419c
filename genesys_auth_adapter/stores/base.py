"""The token store protocol: where processes and hosts share one token, and its cross-process fetch lock.

A store keeps, per key, one :class:`StoredToken` whose expiry is an absolute time on the **server's**
clock: each process converts it with its own clock-offset estimate, so hosts whose clocks disagree by
minutes share one token safely. Keys (:func:`store_key`) hash the login host, the client id and the
grant: two OAuth clients or two regions never share an entry. Each entry is also bound to the client
secret its token was obtained with (:func:`secret_binding`, which never reveals it): a process whose
secret is wrong, or was rotated, never uses another secret's token.

Stores do I/O; the library calls them only off the hot path (when the in-memory token is missing,
stale or rejected) and treats every store failure as a miss (:mod:`.shared`): a request never fails
because of the cache.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit


class StoreError(Exception):
    """A store could not be read or written (unreachable, slow, corrupt, unsafe); callers treat it as a miss."""


@dataclass(frozen=True)
class StoredToken:
    """A token as a store keeps it.

    Attributes:
        access_token: The bearer token (never shown in ``repr``).
        token_type: ``bearer`` for Genesys.
        expires_at: When it stops working, in Unix seconds on the server's clock, or None when unknown.
        issued_at: When it was obtained, in Unix seconds on the server's clock.
        binding: The :func:`secret_binding` of the secret it was obtained with ("" for a grant without
            one); a process whose own binding differs does not use the entry.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_at: float | None
    issued_at: float
    binding: str = field(default="", repr=False)

    def to_json(self) -> bytes:
        """The entry as stored: a small JSON object."""
        return json.dumps(
            {
                "access_token": self.access_token,
                "token_type": self.token_type,
                "expires_at": self.expires_at,
                "issued_at": self.issued_at,
                "binding": self.binding,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> StoredToken:
        """Read an entry written by :meth:`to_json`.

        Raises:
            StoreError: The data is not such an entry (corrupt, truncated, foreign); the message never
                quotes it.
        """
        try:
            raw: Any = json.loads(data)
            token = raw["access_token"]
            token_type = raw["token_type"]
            expires_at = raw["expires_at"]
            issued_at = raw["issued_at"]
            binding = raw.get("binding", "")  # an entry written before bindings existed matches no secret
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StoreError(f"the stored entry is not a token ({type(exc).__name__})") from None
        if not (isinstance(token, str) and token and isinstance(token_type, str)):
            raise StoreError("the stored entry has no usable token")
        if not _number(issued_at) or not (expires_at is None or _number(expires_at)):
            raise StoreError("the stored entry has unusable times")
        if not isinstance(binding, str):
            raise StoreError("the stored entry has an unusable secret binding")
        return cls(token, token_type, None if expires_at is None else float(expires_at), float(issued_at), binding)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def store_key(login_url: str, client_id: str, grant: str) -> str:
    """The key of one OAuth client's token at one login service, for one grant (no secret in it).

    Args:
        login_url: The login service's base URL (only its host and port count).
        client_id: The OAuth client id.
        grant: The grant type, such as ``client_credentials``.
    """
    parts = urlsplit(login_url)
    origin = f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    digest = hashlib.sha256("\n".join((origin, client_id, grant)).encode()).hexdigest()
    return digest[:40]


#: PBKDF2 rounds of a secret binding: guessing a weak secret from an entry costs this many HMACs per guess
#: (computed once per auth object that uses a store: some 30 ms of one core).
BINDING_ROUNDS = 50_000


def secret_binding(login_url: str, client_id: str, grant: str, *, secret: str) -> str:
    """What ties a stored token to the client secret it was obtained with, without revealing the secret.

    PBKDF2-HMAC-SHA256 of the secret, salted with the login origin, the client id and the grant. A process
    with a wrong secret gets another binding, so it never uses the token the right secret obtained: its own
    token request fails as it would without a store. After the secret is rotated, the first process with
    the new one replaces the entry, and processes still holding the old secret no longer get a token from
    the store. The rounds make guessing a weak secret from an entry slow (a plain hash of a short secret
    would be guessed in minutes); a secret Genesys issues (random, 40 or more characters) cannot be guessed
    either way.

    Args:
        login_url: The login service's base URL (only its scheme, host and port count).
        client_id: The OAuth client id.
        grant: The grant type, such as ``client_credentials``.
        secret: The client secret; "" for a grant without one (the binding is then "").
    """
    if not secret:
        return ""
    parts = urlsplit(login_url)
    origin = f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    salt = "\n".join(("genesys-auth-adapter secret binding", origin, client_id, grant)).encode()
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, BINDING_ROUNDS).hex()


def public_binding(login_url: str, client_id: str, grant: str) -> str:
    """What ties a public client's stored login to that client at that login origin (no secret to bind to).

    A SHA-256 of the login origin, client id and grant: it reveals nothing but what the key already names,
    and keeps a process configured for another client or login host from using the entry.
    """
    parts = urlsplit(login_url)
    origin = f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    text = "\n".join(("genesys-auth-adapter public client", origin, client_id, grant))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoreIdentity:
    """Whose entries a token source reads and writes: a login origin, a client id, a grant and its secret.

    A source that defines ``store_identity()`` names its own; for any other the identity is read from its
    token request (see :func:`~.shared.source_key`).

    Attributes:
        login_url: The login service's base URL.
        client_id: The OAuth client id.
        grant: The grant the entries are kept under (``client_credentials``, ``authorization_code``...).
        secret: The client secret, or "" for a public client (never shown in ``repr``).
    """

    login_url: str
    client_id: str
    grant: str
    secret: str = field(default="", repr=False)

    @property
    def key(self) -> str:
        """The key of the access token entry."""
        return store_key(self.login_url, self.client_id, self.grant)

    @property
    def refresh_key(self) -> str:
        """The key of the refresh token entry (kept apart: forgetting a rejected access token keeps it)."""
        return store_key(self.login_url, self.client_id, f"{self.grant} refresh_token")

    def binding(self) -> str:
        """The entries' binding: the secret's (:func:`secret_binding`), or the public client's."""
        if self.secret:
            return secret_binding(self.login_url, self.client_id, self.grant, secret=self.secret)
        return public_binding(self.login_url, self.client_id, self.grant)


class Lease(Protocol):
    """The cross-process fetch lock, held by one process while it requests a token.

    Attributes:
        renew_every: For a lock that runs out on its own (a Redis lease), how often its holder renews it
            while its token request goes on (a slow login service must not let a second process in); None
            for a lock held until released (a file lock).
    """

    renew_every: float | None

    def renew(self) -> None:
        """Extend the lock (only if this holder still has it)."""

    def release(self) -> None:
        """Give the lock up (a no-op once it has expired or was released)."""


class TokenStore(Protocol):
    """A place processes (and hosts) share tokens in. Every method raises :class:`StoreError` on failure.

    Implementations: :class:`~.memory.MemoryTokenStore` (one process),
    :class:`~.file.FileTokenStore` (one host), :class:`~.redis.RedisTokenStore` (many hosts).
    """

    def load(self, key: str) -> StoredToken | None:
        """The token stored under ``key``, or None."""

    def save(self, key: str, token: StoredToken) -> None:
        """Store ``token`` under ``key``, replacing what was there."""

    def delete_if(self, key: str, access_token: str) -> bool:
        """Delete the entry only if it still holds ``access_token`` (compare-and-delete); True if deleted."""

    def acquire(self, key: str, *, wait: float) -> Lease | None:
        """Take the fetch lock for ``key``, waiting up to ``wait`` seconds (0: try once); None if not taken.

        A lock whose holder died (a crashed or killed process) must not block others for long: the file
        store's lock dies with its process, the Redis store's is a lease that expires.
        """

    def close(self) -> None:
        """Release connections and handles (the store is not used again)."""


class AsyncTokenStore(Protocol):
    """The asyncio form of :class:`TokenStore` (for httpx's async client)."""

    async def load(self, key: str) -> StoredToken | None:
        """The token stored under ``key``, or None."""

    async def save(self, key: str, token: StoredToken) -> None:
        """Store ``token`` under ``key``, replacing what was there."""

    async def delete_if(self, key: str, access_token: str) -> bool:
        """Delete the entry only if it still holds ``access_token``; True if deleted."""

    async def acquire(self, key: str, *, wait: float) -> AsyncLease | None:
        """Take the fetch lock for ``key``, waiting up to ``wait`` seconds without blocking the event loop."""

    async def aclose(self) -> None:
        """Release connections and handles."""


class AsyncLease(Protocol):
    """The cross-process fetch lock held by a task (see :class:`Lease`)."""

    renew_every: float | None

    async def renew(self) -> None:
        """Extend the lock (only if this holder still has it)."""

    async def release(self) -> None:
        """Give the lock up."""
