"""Why a connection failed, in a few words: ``connection refused``, ``name or service not known``.

HTTP libraries wrap the operating system's answer several times (requests' ``ConnectionError`` around
urllib3's ``MaxRetryError`` around a ``NewConnectionError`` caused by ``ConnectionRefusedError``; httpx's
``ConnectError`` from httpcore's from the ``OSError``), and the outer messages either say nothing
("ConnectionError") or quote the whole URL, query string included. :func:`root_cause` walks the chain
(``__cause__``, ``__context__``, urllib3's ``reason`` and ``original_error``, requests' wrapped
exception) to the innermost exception that says something, and never returns a URL's user info or
query string. No HTTP library is imported: the chain is read by its standard attributes.
"""

from __future__ import annotations

import os
import re
import socket
import ssl

#: Links followed at most (a chain is a handful long; a cycle or a freak stays bounded).
_MAX_DEPTH = 16
#: Longest description returned.
_MAX_LENGTH = 200

# "scheme://user:password@host" -> "scheme://host"; a query string (which may carry a token) -> "?...".
_USERINFO = re.compile(r"(?<=://)[^/\s@'\"]*@")
_QUERY = re.compile(r"\?[^\s'\")]*")
# "[Errno 111] Connection refused" -> "Connection refused"; "(_ssl.c:1006)" dropped.
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")
_SSL_SOURCE = re.compile(r"\s*\(_ssl\.c:\d+\)")


def root_cause(error: BaseException) -> str:
    """The innermost reason ``error`` happened, short and safe to log (no user info, no query string).

    Examples: ``connection refused``, ``name or service not known``, ``connect timed out``,
    ``certificate verify failed: unable to get local issuer certificate``,
    ``proxy error: connection refused``. Falls back to the exception's class name.
    """
    chain = _chain(error)
    text = ""
    for link in reversed(chain):
        text = _describe(link, chain)
        if text:
            break
    if not text:
        text = type(error).__name__
    if any(type(link).__name__ == "ProxyError" for link in chain) and not text.startswith("proxy"):
        text = f"proxy error: {text}"
    return scrub_urls(text)[:_MAX_LENGTH]


def scrub_urls(text: str) -> str:
    """``text`` without the user info and query strings of the URLs it quotes."""
    return _QUERY.sub("?...", _USERINFO.sub("", text))


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions behind it, outermost first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen and len(chain) < _MAX_DEPTH:
        chain.append(link)
        seen.add(id(link))
        link = _next(link)
    return chain


def _next(error: BaseException) -> BaseException | None:
    if error.__cause__ is not None:
        return error.__cause__
    # urllib3: MaxRetryError.reason, ProxyError.original_error; requests: ConnectionError(MaxRetryError)
    for name in ("reason", "original_error"):
        inner = getattr(error, name, None)
        if isinstance(inner, BaseException):
            return inner
    for arg in reversed(error.args):
        if isinstance(arg, BaseException):
            return arg
    if not error.__suppress_context__:
        return error.__context__
    return None


def _describe(error: BaseException, chain: list[BaseException]) -> str:
    """What ``error`` alone says about the failure, or "" when it is only a wrapper."""
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message
        return "certificate verify failed" + (f": {detail}" if detail else "")
    if isinstance(error, ssl.SSLError):
        reason = error.reason or _SSL_SOURCE.sub("", str(error))
        return f"TLS error: {str(reason).replace('_', ' ').lower()}"
    if isinstance(error, TimeoutError) or type(error).__name__ == "timeout":
        names = " ".join(type(link).__name__ for link in chain)
        for phase in ("Connect", "Read", "Write", "Pool"):
            if phase in names:
                return f"{phase.lower()} timed out"
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return _lower_first(_os_words(error))
    if error is chain[-1]:
        # The innermost exception and not one of the above (http.client's RemoteDisconnected, a
        # protocol error): its own words, without an errno prefix or a URL's secrets.
        text = _ERRNO.sub("", str(error)).strip()
        return _lower_first(text) if text else ""
    return ""


def _os_words(error: OSError) -> str:
    """The system's words for an errno (asyncio words a refusal "Connect call failed ('host', port)")."""
    number = error.errno
    if isinstance(number, int) and number > 0 and not isinstance(error, socket.gaierror):
        words = os.strerror(number)
        if not words.startswith("Unknown error"):
            return words
    return str(error.strerror)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
