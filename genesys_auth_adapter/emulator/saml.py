"""The emulator's test SAML assertion: a fixed, unsigned SAML 2.0 assertion naming one synthetic user.

The emulator checks no signature: it accepts exactly this assertion (base64 of the XML, either base64
alphabet, padding optional) and refuses anything else with ``invalid_grant``. It is deterministic, so a
test can hard-code it, read it from ``Emulator.saml_assertion()`` or from
``Emulator.env(grant="saml2")["GENESYS_SAML2_ASSERTION"]``.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from . import data

_TEMPLATE = (
    '<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_genesys-emulator-{user_id}" '
    'IssueInstant="2024-01-01T00:00:00.000Z" Version="2.0">'
    "<saml2:Issuer>genesys-emulator</saml2:Issuer>"
    "<saml2:Subject>"
    '<saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml2:NameID>'
    "</saml2:Subject>"
    "</saml2:Assertion>"
)


def assertion_xml(user: int) -> str:
    """The assertion's XML for synthetic user number ``user``."""
    person = data.user(user)
    return _TEMPLATE.format(user_id=person["id"], email=person["email"])


def assertion(user: int) -> str:
    """The assertion for synthetic user number ``user``, base64-encoded (standard alphabet, padded)."""
    return base64.b64encode(assertion_xml(user).encode("utf-8")).decode("ascii")


def matches(given: str, expected: str) -> bool:
    """Whether ``given`` decodes to the same bytes as ``expected`` (both base64)."""
    decoded = _decode(given)
    return decoded is not None and hmac.compare_digest(decoded, base64.b64decode(expected))


def _decode(text: str) -> bytes | None:
    compact = "".join(text.split())
    padded = compact + "=" * (-len(compact) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
