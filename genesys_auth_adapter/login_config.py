"""User grants from the environment (and the ``.env`` file), read by the same rules as :func:`~.config.from_env`.

``GENESYS_GRANT`` says which grant the configured client is for: ``client_credentials``, ``pkce``, ``code``
(the authorization code grant with ``GENESYS_CLIENT_SECRET``) or ``saml2`` (with ``GENESYS_ORG_NAME`` and
``GENESYS_SAML2_ASSERTION``). Unset, a client with a secret is a client-credentials client that can also log
in as a code client, and one without a secret is a PKCE client. ``GENESYS_REDIRECT_URI`` is the redirect URI
registered for a browser login (default ``http://127.0.0.1``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .config import (
    _URL_LABELS,
    ENV_API_URL,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_GRANT,
    ENV_LOGIN_URL,
    ENV_ORG_NAME,
    ENV_REDIRECT_URI,
    ENV_REGION,
    ENV_SAML2_ASSERTION,
    _check_urls_follow_credentials,
    _read_sources,
    _region,
)
from .errors import ConfigurationError
from .grants import CodeClient, PkceClient, Saml2Bearer, UserClient
from .regions import checked_base_url

#: The values ``GENESYS_GRANT`` takes.
GRANTS = ("client_credentials", "pkce", "code", "saml2")


def grant_setting(environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None) -> str | None:
    """``GENESYS_GRANT``, checked and in lower case; None when not set.

    Raises:
        ConfigurationError: A value that is not one of :data:`GRANTS`.
    """
    value = _read_sources(environ, dotenv_path=dotenv_path).merged().get(ENV_GRANT)
    if value is None:
        return None
    grant = value.strip().lower().replace("-", "_")
    if grant not in GRANTS:
        raise ConfigurationError(f"{ENV_GRANT} must be one of {', '.join(GRANTS)}, not {value!r}.")
    return grant


def _settings(environ: Mapping[str, str] | None, dotenv_path: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The merged settings and the checked base URLs, with a client id and a region (or URLs) required."""
    sources = _read_sources(environ, dotenv_path=dotenv_path)
    settings = sources.merged()
    region = _region(sources.environment, "in the environment") or _region(sources.dotenv, "in the .env file")
    missing = [ENV_CLIENT_ID] if ENV_CLIENT_ID not in settings else []
    if region is None and ENV_API_URL not in settings:
        missing.append(f"{ENV_REGION} (or {ENV_API_URL} and {ENV_LOGIN_URL})")
    if missing:
        raise ConfigurationError(
            "Missing or blank Genesys Cloud settings: " + ", ".join(missing) + ". Set them in the environment or "
            "in a .env file in the working directory, e.g.\n  GENESYS_CLIENT_ID=...\n  GENESYS_REGION=us-east-1"
        )
    _check_urls_follow_credentials(sources)
    urls = {
        name: checked_base_url(settings[name], what=name, label=label)
        for name, label in _URL_LABELS
        if name in settings
    }
    where = {"region": region or "", ENV_LOGIN_URL: urls.get(ENV_LOGIN_URL, ""), ENV_API_URL: urls.get(ENV_API_URL, "")}
    return settings, where


def login_client_from_env(environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None) -> UserClient:
    """The client a browser login uses: a :class:`CodeClient` when a secret is configured (unless
    ``GENESYS_GRANT=pkce``), else a :class:`PkceClient`.

    Raises:
        ConfigurationError: A setting is missing or invalid, or ``GENESYS_GRANT`` names a grant without a
            browser login (``client_credentials``, ``saml2``).
    """
    grant = grant_setting(environ, dotenv_path=dotenv_path)
    if grant in ("client_credentials", "saml2"):
        raise ConfigurationError(
            f"{ENV_GRANT}={grant} is not a browser login: a login needs a PKCE client ({ENV_GRANT}=pkce) or a "
            f"code client ({ENV_GRANT}=code, with {ENV_CLIENT_SECRET})."
        )
    settings, where = _settings(environ, dotenv_path)
    options = {
        "redirect_uri": settings.get(ENV_REDIRECT_URI),
        "login_url": where[ENV_LOGIN_URL] or None,
        "api_url": where[ENV_API_URL] or None,
    }
    secret = settings.get(ENV_CLIENT_SECRET)
    if grant == "code" and secret is None:
        raise ConfigurationError(f"{ENV_GRANT}=code needs {ENV_CLIENT_SECRET}: the code client's secret.")
    if secret is not None and grant != "pkce":
        return CodeClient(settings[ENV_CLIENT_ID], secret, where["region"] or None, **options)
    return PkceClient(settings[ENV_CLIENT_ID], where["region"] or None, **options)


def saml2_from_env(environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None) -> Saml2Bearer:
    """A :class:`Saml2Bearer` from ``GENESYS_CLIENT_ID``, ``GENESYS_CLIENT_SECRET``, ``GENESYS_ORG_NAME`` and
    ``GENESYS_SAML2_ASSERTION``.

    Raises:
        ConfigurationError: One of them is missing, or another setting is invalid.
    """
    settings, where = _settings(environ, dotenv_path)
    missing = [name for name in (ENV_CLIENT_SECRET, ENV_ORG_NAME, ENV_SAML2_ASSERTION) if name not in settings]
    if missing:
        raise ConfigurationError(f"A SAML2 bearer login ({ENV_GRANT}=saml2) needs {', '.join(missing)} too.")
    return Saml2Bearer(
        settings[ENV_CLIENT_ID],
        settings[ENV_CLIENT_SECRET],
        settings[ENV_ORG_NAME],
        settings[ENV_SAML2_ASSERTION],
        where["region"] or None,
        login_url=where[ENV_LOGIN_URL] or None,
        api_url=where[ENV_API_URL] or None,
    )
