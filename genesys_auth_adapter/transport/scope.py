"""Which URLs a bearer token may be sent to: only those under the configured API base."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..regions import normalize_base_url

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), -1)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    return parts.scheme.lower(), host, port, parts.path or "/"


class ApiScope:
    """The set of URLs under one API base URL: same scheme, host and port, and a path below it.

    Args:
        api_url: The API base URL, such as ``https://api.mypurecloud.com``.

    Raises:
        ConfigurationError: The URL is not absolute https (or http to a loopback address).
    """

    def __init__(self, api_url: str) -> None:
        # Every source, even a hand-written TokenSource, gets the same check: https, or plain
        # http only to a loopback address.
        api_url = normalize_base_url(api_url, what="The token source's api_url")
        origin = _origin(api_url)
        if origin is None or not origin[1]:
            raise ValueError(f"Not an absolute URL: {api_url!r}")
        self._scheme, self._host, self._port, path = origin
        self._path = path.rstrip("/") + "/"
        self.base_url = api_url.rstrip("/")
        # Prepared URLs come normalised by requests, so this prefix test decides almost every call.
        self._prefix = f"{self._scheme}://{self._host}{self._path}"
        if self._port != _DEFAULT_PORTS.get(self._scheme):
            self._prefix = f"{self._scheme}://{self._host}:{self._port}{self._path}"

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        if url.startswith(self._prefix):
            return True
        origin = _origin(url)
        if origin is None:
            return False
        scheme, host, port, path = origin
        return (scheme, host, port) == (self._scheme, self._host, self._port) and (path + "/").startswith(self._path)

    def contains_parts(self, scheme: str, host: str, port: int | None, path: str) -> bool:
        """The same test on a URL's parts (httpx's ``URL`` has them ready: no string to build and parse)."""
        if port is None:
            port = _DEFAULT_PORTS.get(scheme.lower(), -1)
        return (scheme.lower(), host.lower().rstrip("."), port) == (self._scheme, self._host, self._port) and (
            (path or "/") + "/"
        ).startswith(self._path)

    def __repr__(self) -> str:
        return f"ApiScope({self.base_url!r})"
