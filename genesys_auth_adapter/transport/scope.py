"""Which URLs a bearer token may be sent to: only those under the configured API base.

A URL is in scope when its scheme, host and port are the base's and its path, with dot segments
resolved, lies under the base's path. Resolving matters for a path-prefixed base (a gateway at
``https://gw/genesys``): ``/genesys/../other`` and ``/genesys/%2e%2e/other`` lead out of it, and a server
or proxy that normalises the path would hand the token to the other tenant.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from ..regions import normalize_base_url

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Anything that can turn into a dot segment or a separator once a server decodes or normalises the path.
_SUSPICIOUS = re.compile(r"/\.|%2e|%2f|%5c|\\", re.IGNORECASE)


def _ascii_host(host: str) -> str:
    """A host name as it goes on the wire: lowercase, IDNA for an internationalized name, no final dot."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _plain(text: str, start: int = 0) -> bool:
    """Nothing in ``text`` from ``start`` on can turn into a dot segment or a separator (cheaper than the
    regular expression for the common case: one with no ``%``, no backslash and no ``/.`` at all)."""
    if "/." in text or "\\" in text:
        return False
    return "%" not in text or not _SUSPICIOUS.search(text, start)


def resolved_path(path: str) -> str:
    """The path a server that decodes ``%2e``, ``%2f`` and ``\\`` and resolves dot segments would see."""
    if _plain(path):
        return path or "/"
    decoded = unquote(path).replace("\\", "/")
    segments: list[str] = []
    for segment in decoded.split("/"):
        if segment == "..":
            if len(segments) > 1:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    return "/".join(segments) or "/"


def _origin(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), -1)
    except ValueError:
        return None
    return parts.scheme.lower(), _ascii_host(parts.hostname or ""), port, parts.path or "/"


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
        self._path = resolved_path(path).rstrip("/") + "/"
        self.base_url = api_url.rstrip("/")
        # Prepared URLs come normalised by requests, so this prefix test decides almost every call.
        self._prefix = f"{self._scheme}://{self._host}{self._path}"
        if self._port != _DEFAULT_PORTS.get(self._scheme):
            self._prefix = f"{self._scheme}://{self._host}:{self._port}{self._path}"

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        if url.startswith(self._prefix) and _plain(url, len(self._prefix) - 1):
            return True
        origin = _origin(url)
        if origin is None:
            return False
        scheme, host, port, path = origin
        return (scheme, host, port) == (self._scheme, self._host, self._port) and self._under(path)

    def contains_parts(self, scheme: str, host: str, port: int | None, path: str) -> bool:
        """The same test on a URL's parts (httpx's ``URL`` has them ready: no string to build and parse)."""
        if scheme != self._scheme:  # httpx gives them normalised: the common case compares equal as they are
            scheme = scheme.lower()
        if host != self._host:
            host = _ascii_host(host)
        if port is None:
            port = _DEFAULT_PORTS.get(scheme, -1)
        if scheme != self._scheme or host != self._host or port != self._port:
            return False
        if "/." in path or "\\" in path or "%" in path:
            return self._under(path)
        return ((path or "/") + "/").startswith(self._path)  # _under(path) for a path that resolves to itself

    def _under(self, path: str) -> bool:
        return (resolved_path(path) + "/").startswith(self._path)

    def __repr__(self) -> str:
        return f"ApiScope({self.base_url!r})"
