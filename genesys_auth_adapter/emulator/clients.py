"""The OAuth clients the emulated organization has registered, one per user grant, and their redirect URIs.

Genesys ties each OAuth client to one grant type. Besides the client-credentials client (the emulator's
``client_id``/``client_secret``), the emulator registers three user clients:

- ``code``: a confidential authorization-code client (id and secret, Basic auth at the token endpoint);
- ``pkce``: a public authorization-code client (id only; PKCE with ``S256`` is mandatory);
- ``saml2``: a SAML2 bearer client (id and secret, plus ``orgName`` and an assertion).

Each acts for one synthetic user, who "consents" on the authorize page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import data, saml, settings

#: Grant names, as ``Emulator.env(grant=...)`` and the counters spell them.
CODE = "code"
PKCE = "pkce"
SAML2 = "saml2"
USER_GRANTS = (CODE, PKCE, SAML2)

#: The redirect URIs registered for the code and PKCE clients unless told otherwise.
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1/callback", "http://localhost/callback")

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


@dataclass(frozen=True)
class OAuthClient:
    """One registered OAuth client.

    Attributes:
        client_id: The client id.
        secret: The client secret; None for a public (PKCE) client.
        grant: ``code``, ``pkce`` or ``saml2``.
        user: The index of the synthetic user its tokens act for.
        redirect_uris: The authorized redirect URIs (code and PKCE clients).
        grant_type_label: Genesys' ``authorizedGrantType`` for ``GET /api/v2/tokens/me``.
    """

    client_id: str
    secret: str | None
    grant: str
    user: int
    redirect_uris: tuple[str, ...] = ()
    grant_type_label: str = ""

    def __repr__(self) -> str:
        secret = "None" if self.secret is None else "'***'"
        return f"OAuthClient(client_id={self.client_id!r}, secret={secret}, grant={self.grant!r})"


def user_clients(user: int, redirect_uris: Sequence[str]) -> dict[str, OAuthClient]:
    """Builds the three user clients, keyed by grant name.

    Args:
        user: The synthetic user every one of them acts for.
        redirect_uris: The redirect URIs registered for the code and PKCE clients.

    Raises:
        ValueError: On a redirect URI that is not an absolute http(s) URL without a fragment.
    """
    uris = tuple(check_redirect_uri(uri) for uri in redirect_uris)
    if not uris:
        raise ValueError("redirect_uris must name at least one redirect URI")
    return {
        CODE: OAuthClient("emulator-code-client", "emulator-code-secret", CODE, user, uris, "CODE"),
        PKCE: OAuthClient("emulator-pkce-client", None, PKCE, user, uris, "PKCE"),
        SAML2: OAuthClient("emulator-saml2-client", "emulator-saml2-secret", SAML2, user, (), "SAML2BEARER"),
    }


def check_redirect_uri(uri: object) -> str:
    """Checks one redirect URI to register: an absolute http(s) URL without a fragment.

    Raises:
        ValueError: Naming the URI and what is wrong with it.
    """
    if not isinstance(uri, str):
        raise ValueError(f"a redirect URI must be a string, not {uri!r}")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValueError(f"a redirect URI must be an absolute http(s) URL without a fragment, not {uri!r}")
    return uri


def redirect_matches(given: str, registered: Sequence[str], *, loopback_any_port: bool) -> bool:
    """Whether ``given`` is one of the ``registered`` redirect URIs.

    Matching is exact, except that with ``loopback_any_port`` a registered loopback URI
    (``127.0.0.1``, ``localhost``, ``[::1]``) matches the same URI on any port, as RFC 8252 (7.3) asks of
    servers for native apps that listen on an ephemeral port. Whether Genesys does so is unconfirmed:
    turn it off to model exact matching.
    """
    if given in registered:
        return True
    if not loopback_any_port:
        return False
    try:
        asked = urlsplit(given)
        asked_port = asked.port
    except ValueError:
        return False
    if asked.hostname not in _LOOPBACK_HOSTS or asked_port is None:
        return False
    for uri in registered:
        known = urlsplit(uri)
        if (known.scheme, known.hostname, known.path, known.query) == (
            asked.scheme,
            asked.hostname,
            asked.path,
            asked.query,
        ) and known.hostname in _LOOPBACK_HOSTS:
            return True
    return False


#: How the authorize page answers: consent at once, show a form, or refuse (the user clicks "deny").
CONSENT_MODES = ("auto", "form", "deny")


@dataclass(frozen=True)
class GrantConfig:
    """The user clients and how the login origin treats them.

    Attributes:
        clients: The user clients by grant name (see :func:`user_clients`).
        consent: ``auto`` (redirect with a code at once), ``form`` (an HTML page with Allow and Deny
            buttons) or ``deny`` (redirect with ``error=access_denied``).
        loopback_any_port: A registered loopback redirect URI matches the same URI on any port.
        pkce_refresh_tokens: Give PKCE clients a refresh token too. Off by default: the official SDKs
            store a refresh token from the code grant and none from PKCE (the Go SDK's
            ``AuthorizeCodeGrant`` fails without one, its ``AuthorizePKCEGrant`` reads none), so
            Genesys is taken to give none; turn it on to test the other case.
        org_name: The ``orgName`` the SAML2 bearer grant must name.
        saml_assertion: The one assertion (base64) the SAML2 bearer grant accepts.
    """

    clients: dict[str, OAuthClient]
    consent: str
    loopback_any_port: bool
    pkce_refresh_tokens: bool
    org_name: str
    saml_assertion: str

    def by_id(self, client_id: str) -> OAuthClient | None:
        """The user client with this id, if any."""
        for client in self.clients.values():
            if client.client_id == client_id:
                return client
        return None


def grant_env(config: GrantConfig, grant: str) -> dict[str, str]:
    """The ``GENESYS_*`` variables of the user client of ``grant``, without the URLs.

    Raises:
        ValueError: When ``grant`` is not ``code``, ``pkce`` or ``saml2``.
    """
    if grant not in USER_GRANTS:
        raise ValueError(f"grant must be None (client credentials), 'code', 'pkce' or 'saml2', not {grant!r}")
    client = config.clients[grant]
    env = {"GENESYS_GRANT": grant, "GENESYS_CLIENT_ID": client.client_id}
    if client.secret is not None:
        env["GENESYS_CLIENT_SECRET"] = client.secret
    if client.redirect_uris:
        env["GENESYS_REDIRECT_URI"] = client.redirect_uris[0]
    if grant == SAML2:
        env["GENESYS_ORG_NAME"] = config.org_name
        env["GENESYS_SAML2_ASSERTION"] = config.saml_assertion
    return env


def grant_config(
    redirect_uris: Sequence[str], consent: str, loopback_any_port: bool, pkce_refresh_tokens: bool, login_user: int
) -> GrantConfig:
    """Checks the user-grant settings of :class:`~.emulator.Emulator` and builds the :class:`GrantConfig`.

    Raises:
        ValueError: Naming the setting that is out of range.
    """
    if consent not in CONSENT_MODES:
        raise ValueError(f"consent must be one of {', '.join(CONSENT_MODES)}, not {consent!r}")
    for name, flag in (("loopback_any_port", loopback_any_port), ("pkce_refresh_tokens", pkce_refresh_tokens)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, not {flag!r}")
    if isinstance(redirect_uris, str):
        redirect_uris = (redirect_uris,)
    user = settings.whole(login_user, "login_user", 0, settings.MAX_USERS - 1)
    return GrantConfig(
        clients=user_clients(user, redirect_uris),
        consent=consent,
        loopback_any_port=loopback_any_port,
        pkce_refresh_tokens=pkce_refresh_tokens,
        org_name=str(data.organization()["thirdPartyOrgName"]),
        saml_assertion=saml.assertion(user),
    )
