"""Reading credentials from the environment and from a ``.env`` file.

The environment and the ``.env`` file are kept apart until the end, because where a setting came
from matters: a ``.env`` file may name the hosts only for credentials that it supplies itself, so a
stray file cannot send the environment's client secret somewhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dotenv import dotenv_values

from .credentials import ClientCredentials
from .errors import ConfigurationError
from .regions import checked_base_url, get_region

ENV_CLIENT_ID = "GENESYS_CLIENT_ID"
ENV_CLIENT_SECRET = "GENESYS_CLIENT_SECRET"
ENV_REGION = "GENESYS_REGION"
ENV_REGION_ALIAS = "GENESYS_ENV"
ENV_LOGIN_URL = "GENESYS_LOGIN_URL"
ENV_API_URL = "GENESYS_API_URL"
ENV_TOKEN_STORE = "GENESYS_TOKEN_STORE"
ENV_RATE_LIMIT = "GENESYS_RATE_LIMIT"
ENV_TOKEN_POOL = "GENESYS_TOKEN_POOL"
ENV_GRANT = "GENESYS_GRANT"
ENV_REDIRECT_URI = "GENESYS_REDIRECT_URI"
ENV_ORG_NAME = "GENESYS_ORG_NAME"
ENV_SAML2_ASSERTION = "GENESYS_SAML2_ASSERTION"
_NAMES = (
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_REGION,
    ENV_REGION_ALIAS,
    ENV_LOGIN_URL,
    ENV_API_URL,
    ENV_TOKEN_STORE,
    ENV_RATE_LIMIT,
    ENV_TOKEN_POOL,
    ENV_GRANT,
    ENV_REDIRECT_URI,
    ENV_ORG_NAME,
    ENV_SAML2_ASSERTION,
)
_CREDENTIALS = (ENV_CLIENT_ID, ENV_CLIENT_SECRET)
_URLS = (ENV_LOGIN_URL, ENV_API_URL)
_URL_LABELS = ((ENV_API_URL, "api"), (ENV_LOGIN_URL, "login"))
_REGIONS = (ENV_REGION, ENV_REGION_ALIAS)


@dataclass(frozen=True)
class _Sources:
    """The non-blank ``GENESYS_*`` settings of each source, kept apart.

    Attributes:
        environment: The settings from the environment.
        dotenv: The settings from the ``.env`` file (empty when there is none).
        dotenv_path: The ``.env`` file that was read, or None.
    """

    environment: Mapping[str, str]
    dotenv: Mapping[str, str]
    dotenv_path: str | None

    def merged(self) -> dict[str, str]:
        """Every setting, a variable set in the environment winning over the same one in ``.env``."""
        return {**self.dotenv, **self.environment}


def _read_sources(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None, use_dotenv: bool = True
) -> _Sources:
    """Read the ``GENESYS_*`` settings of the environment and of a ``.env`` file.

    The ``.env`` file is read, never loaded into ``os.environ``, and its values are taken as written
    (no ``${VAR}`` expansion). Only the working directory's ``.env`` is looked for, never one in a
    parent directory (a shared ``/tmp``, a checkout someone else controls).

    Args:
        environ: The environment to read; ``os.environ`` by default.
        dotenv_path: The ``.env`` file; by default ``.env`` in the working directory, if it exists.
        use_dotenv: False to ignore ``.env`` files.

    Raises:
        ConfigurationError: ``dotenv_path`` names no file.
    """
    env = os.environ if environ is None else environ
    path: str | None = None
    found: dict[str, str] = {}
    if use_dotenv:
        if dotenv_path is not None:
            if not os.path.isfile(dotenv_path):
                raise ConfigurationError(f"The .env file {dotenv_path!r} does not exist.")
            path = dotenv_path
        else:
            candidate = os.path.join(os.getcwd(), ".env")
            path = candidate if os.path.isfile(candidate) else None
        if path is not None:
            found = _non_blank(dotenv_values(path, interpolate=False))
    return _Sources(environment=_non_blank(env), dotenv=found, dotenv_path=path)


def read_settings(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None, use_dotenv: bool = True
) -> dict[str, str]:
    """Collect the ``GENESYS_*`` settings: the environment first, then a ``.env`` file.

    A variable set (to a non-blank value) in the environment is never overridden by the ``.env``
    file. Only the working directory's ``.env`` is read (or ``dotenv_path``), never a parent's.

    Returns:
        The non-blank settings by variable name.
    """
    return _read_sources(environ, dotenv_path=dotenv_path, use_dotenv=use_dotenv).merged()


def from_env(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None, use_dotenv: bool = True
) -> ClientCredentials:
    """Build :class:`ClientCredentials` from ``GENESYS_*`` variables (and a ``.env`` file).

    Reads ``GENESYS_CLIENT_ID``, ``GENESYS_CLIENT_SECRET``, ``GENESYS_REGION`` (``GENESYS_ENV`` is
    accepted in its place) and the optional ``GENESYS_API_URL`` / ``GENESYS_LOGIN_URL`` overrides.
    The environment wins over the ``.env`` file: variable by variable, and a region named in the
    environment (by either name) wins over any region in the file. A ``.env`` file may give
    ``GENESYS_API_URL`` / ``GENESYS_LOGIN_URL`` only when neither the client id nor the secret comes
    from the environment.

    Args:
        environ: The environment to read; ``os.environ`` by default.
        dotenv_path: The ``.env`` file; by default ``.env`` in the working directory (never a parent's).
        use_dotenv: False to ignore ``.env`` files.

    Raises:
        ConfigurationError: One error naming every missing or blank variable; a ``.env`` URL for
            credentials from the environment; two different regions in one source; an invalid value.
    """
    sources = _read_sources(environ, dotenv_path=dotenv_path, use_dotenv=use_dotenv)
    settings = sources.merged()
    region = _region(sources.environment, "in the environment") or _region(sources.dotenv, "in the .env file")
    missing = [name for name in _CREDENTIALS if name not in settings]
    if region is None and ENV_API_URL not in settings:
        missing.append(f"{ENV_REGION} (or {ENV_API_URL} and {ENV_LOGIN_URL})")
    if missing:
        raise ConfigurationError(
            "Missing or blank Genesys Cloud settings: "
            + ", ".join(missing)
            + ". Set them in the environment or in a .env file in the working directory, e.g.\n"
            "  GENESYS_CLIENT_ID=...\n  GENESYS_CLIENT_SECRET=...\n  GENESYS_REGION=us-east-1"
        )
    _check_urls_follow_credentials(sources)
    # Checked here first so that a bad URL is reported by the variable's name, not by the argument's.
    urls = {
        name: checked_base_url(settings[name], what=name, label=label)
        for name, label in _URL_LABELS
        if name in settings
    }
    return ClientCredentials(
        settings[ENV_CLIENT_ID],
        settings[ENV_CLIENT_SECRET],
        region,
        login_url=urls.get(ENV_LOGIN_URL),
        api_url=urls.get(ENV_API_URL),
    )


def token_store_setting(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | None = None,
    use_dotenv: bool = True,
    credentials_given: bool = False,
) -> str | None:
    """``GENESYS_TOKEN_STORE``: ``none``, ``file``, ``file:/dir`` or a Redis URL; None when not set.

    The environment wins over ``.env``. A store that sends tokens over the network (a Redis URL) is taken
    from ``.env`` only when the credentials come from ``.env`` too, for the reason URLs are: a planted
    file must not send tokens obtained with the environment's secret to another host. Credentials given in
    code (``credentials_given``) count as not from ``.env``.

    Raises:
        ConfigurationError: A Redis URL from ``.env`` with credentials from the environment or from code.
    """
    sources = _read_sources(environ, dotenv_path=dotenv_path, use_dotenv=use_dotenv)
    if ENV_TOKEN_STORE in sources.environment:
        return sources.environment[ENV_TOKEN_STORE]
    value = sources.dotenv.get(ENV_TOKEN_STORE)
    if value is None:
        return None
    remote = not value.strip().lower().startswith(("file", "none", "memory", "off"))
    from_environment = [name for name in _CREDENTIALS if name in sources.environment]
    if remote and (from_environment or credentials_given):
        origin = (
            "were given in code"
            if credentials_given
            else f"{' and '.join(from_environment)} come{'s' if len(from_environment) == 1 else ''} from the "
            "environment"
        )
        raise ConfigurationError(
            f"{ENV_TOKEN_STORE} names a network store in the .env file {sources.dotenv_path!r} but the "
            f"credentials {origin}: a .env file may not send tokens obtained with other credentials to another "
            f"host. Set {ENV_TOKEN_STORE} in the environment or pass store=, or move the credentials into the "
            ".env file."
        )
    return value


def pacing_settings(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None, use_dotenv: bool = True
) -> dict[str, int]:
    """``GENESYS_RATE_LIMIT`` and ``GENESYS_TOKEN_POOL`` as the ``rate_limit`` and ``token_pool`` options, when set.

    The environment wins over ``.env``.

    Raises:
        ConfigurationError: A value that is not a whole number >= 1 (a pool of at most 32 tokens).
    """
    settings = _read_sources(environ, dotenv_path=dotenv_path, use_dotenv=use_dotenv).merged()
    found: dict[str, int] = {}
    for name, option, example, top in (
        (ENV_RATE_LIMIT, "rate_limit", "300", None),
        (ENV_TOKEN_POOL, "token_pool", "4", 32),
    ):
        value = settings.get(name)
        if value is None:
            continue
        if not value.isdigit() or int(value) < 1 or (top is not None and int(value) > top):
            bound = ">= 1" if top is None else f"from 1 to {top}"
            raise ConfigurationError(f"{name} must be a whole number {bound} (such as {example}), not {value!r}")
        found[option] = int(value)
    return found


def _non_blank(values: Mapping[str, str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in _NAMES:
        value = values.get(name)
        if value and value.strip():
            found[name] = value.strip()
    return found


def _region(settings: Mapping[str, str], where: str) -> str | None:
    """The region one source names, by either variable; both must name the same region."""
    named = [settings[name] for name in _REGIONS if name in settings]
    if len(named) == 2 and get_region(named[0]) != get_region(named[1]):
        raise ConfigurationError(
            f"{ENV_REGION}={named[0]!r} and {ENV_REGION_ALIAS}={named[1]!r} {where} name different regions: "
            "set only one of them (they mean the same thing)."
        )
    return named[0] if named else None


def _check_urls_follow_credentials(sources: _Sources) -> None:
    # A URL from .env would decide where the environment's secret (and the tokens) are sent: a
    # file in the working directory is easier to plant than an environment variable. A region is
    # harmless (it can only name a Genesys domain), so only the URLs are checked.
    from_file = [name for name in _URLS if name in sources.dotenv and name not in sources.environment]
    from_environment = [name for name in _CREDENTIALS if name in sources.environment]
    if from_file and from_environment:
        raise ConfigurationError(
            f"{' and '.join(from_file)} come{'s' if len(from_file) == 1 else ''} from the .env file "
            f"{sources.dotenv_path!r} but {' and '.join(from_environment)} from the environment: "
            "a .env file may not send credentials from the environment to another host. "
            f"Set {' and '.join(from_file)} in the environment too, or move {ENV_CLIENT_ID} and "
            f"{ENV_CLIENT_SECRET} from the environment into the .env file (or pass use_dotenv=False)."
        )
