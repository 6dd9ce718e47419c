"""``-f key=value`` and ``-F key=value`` of ``genesys-auth api``: request parameters, as ``gh api`` reads them.

``-f`` adds a string; ``-F`` converts ``true``, ``false``, ``null`` and integers to their JSON types and reads
``@FILE`` (``@-``: stdin) as the file's text. ``key[sub]=v`` nests an object, ``key[]=v`` appends to an array
(``key[]`` alone: an empty one), ``key[][sub]=v`` builds an array of objects. The parameters become a JSON
body, or the query string of a GET or HEAD request (or of a request whose body ``-d`` gives).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO
from urllib.parse import urlencode

from .common import UsageError

#: ``name`` then any number of ``[sub]`` or ``[]``: the key of a field.
_KEY = re.compile(r"([^\[\]=]+)((?:\[[^\[\]=]*\])*)")
#: An integer as JSON writes it (no leading zeros or plus sign: "007" is an id, not 7).
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_LITERALS: Mapping[str, Any] = {"true": True, "false": False, "null": None}


def parse_fields(raw: Iterable[str], typed: Iterable[str], stdin: TextIO) -> dict[str, Any]:
    """The parameters of ``-f`` (``raw``) then ``-F`` (``typed``) options, nested as their keys say.

    Raises:
        UsageError: A field without ``=`` (other than ``key[]``), a malformed key, a key given twice or
            used both as a value and as an object or array, or an ``@FILE`` that cannot be read.
    """
    params: dict[str, Any] = {}
    for option, texts in (("-f", raw), ("-F", typed)):
        for text in texts:
            key, equals, value_text = text.partition("=")
            match = _KEY.fullmatch(key)
            if match is None:
                raise UsageError(
                    f"{option} needs key=value, key[sub]=value or key[]=value, got {text!r} (a key has no '[' or "
                    "']' outside its [sub] parts)"
                )
            path = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
            if not equals and path[-1] != "":
                raise UsageError(f"{option} {text!r} has no value: write {key}=VALUE (or {key}[] for an empty array)")
            value = _typed(value_text, stdin, option) if equals and option == "-F" else value_text
            _insert(params, path, value, has_value=bool(equals), text=text)
    return params


def _typed(text: str, stdin: TextIO, option: str) -> Any:
    if text in _LITERALS:
        return _LITERALS[text]
    if _INTEGER.fullmatch(text):
        return int(text)
    if text.startswith("@"):
        source = text[1:]
        if source == "-":
            return stdin.read()
        try:
            with open(source, encoding="utf-8") as file:
                return file.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"cannot read the {option} file {source!r}: {reason}") from exc
    return text


def _insert(params: dict[str, Any], path: list[str], value: Any, *, has_value: bool, text: str) -> None:
    """Put ``value`` where ``path`` says: ``""`` parts are arrays, the others object keys."""
    container = params
    key = path[0]
    in_array = False
    for part in path[1:]:
        if part == "":
            in_array = True
            continue
        if in_array:
            # key[][sub]=v: fill the array's last object, or start a new one when it already has sub.
            items = _child(container, key, list, text)
            last = items[-1] if items else None
            if not isinstance(last, dict) or (part in last and not isinstance(last[part], list)):
                last = {}
                items.append(last)
            container = last
            in_array = False
        else:
            container = _child(container, key, dict, text)
        key = part
    if in_array:
        items = _child(container, key, list, text)
        if has_value:
            items.append(value)
    elif key in container:
        raise UsageError(f"the field {text!r} sets {key!r} again: give each key once (key[]=v appends to an array)")
    else:
        container[key] = value


def _child(container: dict[str, Any], key: str, kind: type, text: str) -> Any:
    found = container.setdefault(key, kind())
    if not isinstance(found, kind):
        raise UsageError(
            f"the field {text!r} uses {key!r} as {'an array' if kind is list else 'an object'}, "
            "but another field gave it a value"
        )
    return found


def with_query(path: str, params: Mapping[str, Any]) -> str:
    """``path`` with ``params`` added to its query string; an array repeats its key (``id=a&id=b``).

    The Genesys API reads a repeated key as a list (``/api/v2/users?id=a&id=b``), not ``id[]=``.

    Raises:
        UsageError: A parameter is an object (a query string has no nesting).
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (dict, list)):
                raise UsageError(
                    f"the parameter {key!r} is nested, which a query string cannot carry: send it in a JSON body "
                    "(-X POST, or -d)"
                )
            pairs.append((key, _query_text(item)))
    if not pairs:
        return path
    return path + ("&" if "?" in path else "?") + urlencode(pairs)


def _query_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
