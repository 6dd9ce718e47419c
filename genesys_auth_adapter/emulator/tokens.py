"""Minting access tokens: opaque strings, as Genesys issues them, or JWTs for clients that decode them."""

from __future__ import annotations

import secrets
import uuid

import jwt as pyjwt


def new_signing_key() -> bytes:
    """Returns a fresh HS256 key (32 bytes: PyJWT warns about shorter HMAC keys)."""
    return secrets.token_bytes(32)


def mint(*, as_jwt: bool, now: float, lifetime: int, client_id: str, issuer: str, key: bytes) -> str:
    """Creates one access token.

    The server never decodes a token: validity is looked up in its own records, so a JWT's claims only
    inform the client.

    Args:
        as_jwt: Make an HS256 JWT instead of an opaque string.
        now: Server time, for ``iat`` and ``nbf``.
        lifetime: Seconds until ``exp``.
        client_id: The ``sub`` claim.
        issuer: The ``iss`` claim.
        key: The HS256 signing key.

    Returns:
        The token.
    """
    if not as_jwt:
        return secrets.token_urlsafe(48)
    issued = int(now)
    claims = {
        "iss": issuer,
        "sub": client_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return pyjwt.encode(claims, key, algorithm="HS256")
