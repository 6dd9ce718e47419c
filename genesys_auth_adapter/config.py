"""Reading credentials from the environment and from a ``.env`` file."""

from __future__ import annotations

import os
from collections.abc import Mapping

from dotenv import dotenv_values, find_dotenv

from .credentials import ClientCredentials
from .errors import ConfigurationError

ENV_CLIENT_ID = "GENESYS_CLIENT_ID"
ENV_CLIENT_SECRET = "GENESYS_CLIENT_SECRET"
ENV_REGION = "GENESYS_REGION"
ENV_REGION_ALIAS = "GENESYS_ENV"
ENV_LOGIN_URL = "GENESYS_LOGIN_URL"
ENV_API_URL = "GENESYS_API_URL"
_NAMES = (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REGION, ENV_REGION_ALIAS, ENV_LOGIN_URL, ENV_API_URL)


def read_settings(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None, use_dotenv: bool = True
) -> dict[str, str]:
    """Collect the ``GENESYS_*`` settings: the environment first, then a ``.env`` file.

    The ``.env`` file is read, never loaded into ``os.environ``, and never overrides a variable that
    is set (to a non-blank value) in the environment.

    Args:
        environ: The environment to read; ``os.environ`` by default.
        dotenv_path: The ``.env`` file; by default the nearest one from the working directory up.
        use_dotenv: False to ignore ``.env`` files.

    Returns:
        The non-blank settings by variable name.
    """
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    if use_dotenv:
        path = dotenv_path if dotenv_path is not None else find_dotenv(usecwd=True)
        if path:
            if dotenv_path is not None and not os.path.isfile(path):
                raise ConfigurationError(f"The .env file {path!r} does not exist.")
            for name, value in dotenv_values(path).items():
                if name in _NAMES and value and value.strip():
                    found[name] = value.strip()
    for name in _NAMES:
        value = env.get(name)
        if value and value.strip():
            found[name] = value.strip()
    return found


def from_env(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = None, use_dotenv: bool = True
) -> ClientCredentials:
    """Build :class:`ClientCredentials` from ``GENESYS_*`` variables (and a ``.env`` file).

    Reads ``GENESYS_CLIENT_ID``, ``GENESYS_CLIENT_SECRET``, ``GENESYS_REGION`` (``GENESYS_ENV`` is
    accepted in its place) and the optional ``GENESYS_API_URL`` / ``GENESYS_LOGIN_URL`` overrides.

    Args:
        environ: The environment to read; ``os.environ`` by default.
        dotenv_path: The ``.env`` file; by default the nearest one from the working directory up.
        use_dotenv: False to ignore ``.env`` files.

    Raises:
        ConfigurationError: One error naming every missing or blank variable, or an invalid value.
    """
    settings = read_settings(environ, dotenv_path=dotenv_path, use_dotenv=use_dotenv)
    region = settings.get(ENV_REGION) or settings.get(ENV_REGION_ALIAS)
    missing = [name for name in (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if name not in settings]
    if region is None and ENV_API_URL not in settings:
        missing.append(f"{ENV_REGION} (or {ENV_API_URL} and {ENV_LOGIN_URL})")
    if missing:
        raise ConfigurationError(
            "Missing or blank Genesys Cloud settings: "
            + ", ".join(missing)
            + ". Set them in the environment or in a .env file in the working directory, e.g.\n"
            "  GENESYS_CLIENT_ID=...\n  GENESYS_CLIENT_SECRET=...\n  GENESYS_REGION=us-east-1"
        )
    return ClientCredentials(
        settings[ENV_CLIENT_ID],
        settings[ENV_CLIENT_SECRET],
        region,
        login_url=settings.get(ENV_LOGIN_URL),
        api_url=settings.get(ENV_API_URL),
    )
