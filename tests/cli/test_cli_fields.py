"""``-f``/``-F`` parameters of ``genesys-auth api``, read as ``gh api`` reads them (unit tests, no requests)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from genesys_auth_adapter.cli.common import UsageError
from genesys_auth_adapter.cli.fields import parse_fields, with_query


def fields(*, raw: tuple[str, ...] = (), typed: tuple[str, ...] = (), stdin: str = "") -> dict[str, Any]:
    return parse_fields(raw, typed, io.StringIO(stdin))


def test_typed_fields_convert_literals_and_integers_and_raw_fields_never_do() -> None:
    """Pins: gh's rule that -F true/false/null/123 are JSON values and -f keeps every value a string."""
    typed = ("a=true", "b=false", "c=null", "d=42", "e=-7", "f=0", "g=007", "h=1.5", "i=+3", "j=text", "k=")
    assert fields(typed=typed) == {
        "a": True,
        "b": False,
        "c": None,
        "d": 42,
        "e": -7,
        "f": 0,
        # Not JSON integers: an id such as 007 keeps its zeros, 1.5 and +3 stay as written.
        "g": "007",
        "h": "1.5",
        "i": "+3",
        "j": "text",
        "k": "",
    }
    assert fields(raw=("a=true", "d=42", "n=null", "at=@file")) == {"a": "true", "d": "42", "n": "null", "at": "@file"}


def test_a_typed_at_value_is_the_text_of_the_file_or_of_stdin(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("line 1\nline 2\n", encoding="utf-8")
    assert fields(typed=(f"note=@{tmp_path / 'note.txt'}", "piped=@-"), stdin="from stdin") == {
        "note": "line 1\nline 2\n",
        "piped": "from stdin",
    }


def test_a_typed_at_file_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read the -F file .*missing\.txt"):
        fields(typed=(f"x=@{tmp_path / 'missing.txt'}",))


def test_nested_keys_and_arrays_build_the_body_gh_builds() -> None:
    """Pins: key[sub]=v nests, key[]=v appends, key[] alone is [], key[][sub]=v makes an array of objects."""
    built = fields(
        raw=("name=Support", "owner[id]=u-1", "owner[name]=Ann", "tags[]=a", "tags[]=b"),
        typed=(
            "deep[a][b]=1",
            "empty[]",
            "rules[][field]=1",
            "rules[][value]=2",
            "rules[][field]=3",
            "ids[]=4",
        ),
    )
    assert built == {
        "name": "Support",
        "owner": {"id": "u-1", "name": "Ann"},
        "tags": ["a", "b"],
        "deep": {"a": {"b": 1}},
        "empty": [],
        # A key the last object already has starts the next object.
        "rules": [{"field": 1, "value": 2}, {"field": 3}],
        "ids": [4],
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (("name",), "has no value: write name=VALUE"),
        (("[x]=1",), "needs key=value"),
        (("a[b=1",), "needs key=value"),
        (("a]b=1",), "needs key=value"),
        (("a=1", "a=2"), "sets 'a' again"),
        (("a=1", "a[b]=2"), "uses 'a' as an object, but another field gave it a value"),
        (("a=1", "a[]=2"), "uses 'a' as an array"),
        (("a[b]=1", "a[]=2"), "uses 'a' as an array"),
    ],
)
def test_a_malformed_or_clashing_field_is_a_usage_error(raw: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("[", r"\[")):
        fields(raw=raw)


def test_query_parameters_repeat_an_array_key_and_join_an_existing_query() -> None:
    """Pins: the Genesys form of a list in a query string (id=a&id=b), not gh's id[]=a."""
    params = {"id": ["a", "b"], "pageSize": 100, "active": True, "none": None, "q": "x y&z"}
    assert with_query("/api/v2/users", params) == "/api/v2/users?id=a&id=b&pageSize=100&active=true&none=&q=x+y%26z"
    assert with_query("/api/v2/users?expand=groups", {"id": ["a"]}) == "/api/v2/users?expand=groups&id=a"
    assert with_query("/api/v2/users", {"ids": []}) == "/api/v2/users"


@pytest.mark.parametrize("params", [{"owner": {"id": "1"}}, {"rules": [{"a": 1}]}])
def test_a_nested_parameter_cannot_go_to_a_query_string(params: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="nested, which a query string cannot carry"):
        with_query("/api/v2/users", params)
