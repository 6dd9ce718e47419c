"""Genesys Cloud regions and the API/login base URLs derived from them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError

# Whitespace and control characters: never part of a base URL (a paste or line-ending accident).
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")
# One DNS label (underscores too: some internal proxies' names have them).
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
#: The hosts of a region's domain people copy: the web app people log in at, the API and the login service.
_HOST_LABELS = ("apps", "api", "login")
#: Paths the library adds to a base URL, which a base URL given with them would get twice.
_ADDED_PATHS = (
    ("/api/v2", "Request paths already start with /api/v2"),
    ("/oauth/token", "The token request adds /oauth/token to the login URL"),
)


@dataclass(frozen=True)
class Region:
    """A Genesys Cloud region: its AWS-style name and its domain.

    Attributes:
        name: The region name, such as ``us-east-1``.
        domain: The domain the API and login hosts live under, such as ``mypurecloud.com``.
    """

    name: str
    domain: str

    @property
    def api_url(self) -> str:
        """The API base URL, ``https://api.<domain>``."""
        return f"https://api.{self.domain}"

    @property
    def login_url(self) -> str:
        """The login base URL, ``https://login.<domain>``."""
        return f"https://login.{self.domain}"


REGIONS: tuple[Region, ...] = (
    Region("us-east-1", "mypurecloud.com"),
    Region("us-east-2", "use2.us-gov-pure.cloud"),
    Region("us-west-2", "usw2.pure.cloud"),
    Region("ca-central-1", "cac1.pure.cloud"),
    Region("sa-east-1", "sae1.pure.cloud"),
    Region("mx-central-1", "mxc1.pure.cloud"),
    Region("eu-west-1", "mypurecloud.ie"),
    Region("eu-west-2", "euw2.pure.cloud"),
    Region("eu-central-1", "mypurecloud.de"),
    Region("eu-central-2", "euc2.pure.cloud"),
    Region("eusc-de-east-1", "edee1.eusc-pure.cloud"),
    Region("me-central-1", "mec1.pure.cloud"),
    Region("ap-south-1", "aps1.pure.cloud"),
    Region("ap-southeast-1", "apse1.pure.cloud"),
    Region("ap-southeast-2", "mypurecloud.com.au"),
    Region("ap-northeast-1", "mypurecloud.jp"),
    Region("ap-northeast-2", "apne2.pure.cloud"),
    Region("ap-northeast-3", "apne3.pure.cloud"),
)

_BY_KEY: dict[str, Region] = {}
for _region in REGIONS:
    _BY_KEY[_region.name] = _region
    _BY_KEY[_region.domain] = _region


def get_region(value: str) -> Region:
    """Look up a region by name (``us-east-1`` or ``us_east_1``), by domain, or by a host or URL of it.

    Args:
        value: The region name or domain; case and surrounding blanks are ignored. A host of the region
            (``apps.``, ``api.`` or ``login.`` and the domain: ``apps.mypurecloud.ie`` is where people log in)
            and a URL of one (``https://apps.mypurecloud.ie/``) name its region too.

    Returns:
        The matching region.

    Raises:
        ConfigurationError: The value names no known region; the message lists the valid names.
    """
    region = _BY_KEY.get(_region_key(value))
    if region is None:
        names = ", ".join(r.name for r in REGIONS)
        raise ConfigurationError(
            f"Unknown Genesys Cloud region {value.strip()!r}. Use one of: {names}; or a domain such as "
            "'mypurecloud.com' (the address you log in at, such as 'apps.mypurecloud.ie', works too); "
            "or give api_url and login_url explicitly."
        )
    return region


def _region_key(value: str) -> str:
    """The name or domain a region setting means: a URL's host, without a path, port or host label."""
    key = value.strip().lower().replace("_", "-")
    scheme, separator, rest = key.partition("://")
    if separator and scheme in ("https", "http"):
        key = rest
    # What a browser's address bar adds to a host: a path, a query or fragment, a port.
    key = re.split(r"[/?#]", key, maxsplit=1)[0]
    host, colon, port = key.rpartition(":")
    if colon and port.isdigit():
        key = host
    key = key.rstrip(".")
    for label in _HOST_LABELS:
        if key.startswith(label + "."):
            return key[len(label) + 1 :]
    return key


def normalize_base_url(url: str, *, what: str) -> str:
    """Check a base URL and return it without a trailing slash.

    Plain ``http`` is accepted only for loopback hosts (local emulators, tests), so a bearer token
    never crosses a network unencrypted. Everything a request would trip over later (a bad port,
    a bad host name) is caught here, when the settings are made.

    Args:
        url: An absolute ``https://host[:port][/path]`` URL.
        what: The setting's name, for the error message.

    Returns:
        The URL with any trailing slash removed.

    Raises:
        ConfigurationError: The URL is not absolute, has a query or fragment, contains blanks or
            control characters, has an invalid host or port, ends in ``/api/v2`` or ``/oauth/token``
            (paths the library adds), or uses plain http to a non-loopback host.
    """
    raw = url.strip()
    example = f"such as 'https://{'login' if 'login' in what.lower() else 'api'}.mypurecloud.com'"
    # urlsplit silently drops tabs and line breaks, so check the text itself.
    if _UNSAFE.search(raw):
        raise ConfigurationError(f"{what} contains a blank or a control character: give a URL {example}.")
    try:
        parts = urlsplit(raw)
        port = parts.port
        digits = parts.netloc.rpartition(":")[2]
        # Older Pythons let int() read '+80' or non-ASCII digits as a port; requests would not.
        # A leading zero ('0443') reads as 443 here but stays in the URL, so no prepared URL would match it.
        well_formed = digits.isascii() and digits.isdigit() and (digits == "0" or not digits.startswith("0"))
        if port is not None and not well_formed:
            raise ValueError(digits)
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number from 0 to 65535
        raise ConfigurationError(
            f"{what} has an invalid host or port: give a URL {example}, with a port from 1 to 65535 if any."
        ) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{what} must be an absolute http(s) URL {example}.")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigurationError(f"{what} must not contain credentials, a query or a fragment.")
    if port == 0:
        raise ConfigurationError(f"{what} has port 0: give a port from 1 to 65535, or none for the default.")
    if not _valid_host(parts.hostname):
        raise ConfigurationError(
            f"{what} has an invalid host name {parts.hostname!r}: use letters, digits, '-' and '.' "
            "(or an IP address), for example 'api.mypurecloud.com'."
        )
    path = parts.path.rstrip("/")
    for suffix, added in _ADDED_PATHS:
        if path.lower().endswith(suffix):
            # Safe to quote: a URL that reaches this point has no user, password, query or fragment.
            fixed = f"{parts.scheme}://{parts.netloc}{path[: -len(suffix)]}"
            raise ConfigurationError(
                f"{what} ends in {suffix}: drop it and set it to {fixed!r}. {added}, so it would appear twice."
            )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{what} uses plain http to {parts.hostname}; use https (plain http is allowed only for "
            "loopback addresses such as 127.0.0.1, for local emulators)."
        )
    return raw.rstrip("/")


def checked_base_url(url: str, *, what: str, label: str) -> str:
    """:func:`normalize_base_url`, then :func:`check_genesys_host`: a base URL ready for ``label``'s requests.

    Raises:
        ConfigurationError: Either check failed; the message starts with ``what``.
    """
    normalized = normalize_base_url(url, what=what)
    check_genesys_host(normalized, what=what, label=label)
    return normalized


def check_genesys_host(url: str, *, what: str, label: str) -> None:
    """Refuse a URL of a Genesys Cloud domain whose host is not the one ``what`` needs.

    ``https://apps.mypurecloud.ie`` (the address people log in at) as the API URL, or the API host as the
    login URL, would fail later with an HTML page or a 404; other hosts (proxies, emulators) are not checked.

    Args:
        url: A base URL that :func:`normalize_base_url` accepted.
        what: The setting's name, for the error message.
        label: The host label the setting needs: ``api`` or ``login``.

    Raises:
        ConfigurationError: The host is under a region's domain but is not ``<label>.<domain>``.
    """
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for region in REGIONS:
        if host != region.domain and not host.endswith("." + region.domain):
            continue
        expected = f"{label}.{region.domain}"
        if host != expected:
            raise ConfigurationError(
                f"{what} names {host}, which is not the {'API' if label == 'api' else 'login'} host of "
                f"{region.name}: use 'https://{expected}', or set the region ({region.name}) instead of the URLs."
            )
        return


def _valid_host(host: str) -> bool:
    """True for an IP address or a DNS name (internationalized names in their IDNA form)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.lower().rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and for addresses in 127.0.0.0/8 or ``::1``."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def login_url_for(api_url: str) -> str | None:
    """Derive the login base URL from an API base URL, as the official SDK does.

    Returns:
        The URL with a leading ``api.`` host label replaced by ``login.``, or None when the host
        does not start with ``api.``.
    """
    parts = urlsplit(api_url)
    host = parts.netloc
    if not host.lower().startswith("api."):
        return None
    return f"{parts.scheme}://login.{host[4:]}"
