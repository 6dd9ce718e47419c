"""The command line's pure parts in-process: argument parsing, -d and -H, merging pages, JSON lines, main()."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from genesys_auth_adapter.cli import main
from genesys_auth_adapter.cli.api import parse_headers, read_body
from genesys_auth_adapter.cli.common import UsageError
from genesys_auth_adapter.cli.output import rows
from genesys_auth_adapter.cli.paging import merge


def test_merge_puts_every_item_into_the_first_pages_shape() -> None:
    first = {"entities": [1, 2], "pageSize": 2, "pageNumber": 1, "total": 3, "pageCount": 2, "nextUri": "/x?p=2"}

    assert merge(first, "entities", [1, 2, 3]) == {"entities": [1, 2, 3], "total": 3}


def test_merge_keeps_the_details_query_totals_and_aggregations() -> None:
    first = {"conversations": [1], "aggregations": [{"metric": "n"}], "totalHits": 2}

    assert merge(first, "conversations", [1, 2]) == {
        "conversations": [1, 2],
        "aggregations": [{"metric": "n"}],
        "totalHits": 2,
    }


def test_merge_of_an_empty_first_page_puts_the_items_first() -> None:
    assert list(merge({"totalHits": 0}, "conversations", [])) == ["conversations", "totalHits"]
    assert merge({"id": "me"}, None, []) == {"id": "me"}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"entities": [1, 2], "total": 2}, [1, 2]),
        ({"totalHits": 0}, []),  # an empty details query page: no conversations key at all
        ({"dataAvailabilityDate": "2024-03-05T00:00:00.000Z"}, []),  # an empty job results page
        ([1, 2], [1, 2]),
        ({"id": "me", "name": "Ada"}, [{"id": "me", "name": "Ada"}]),  # not a listing: printed whole
    ],
)
def test_jsonl_rows(document: Any, expected: list[Any]) -> None:
    assert rows(document) == expected


def test_read_body_takes_literal_json_a_file_or_stdin(tmp_path: Path) -> None:
    (tmp_path / "q.json").write_text('{"interval": "a/b"}', encoding="utf-8")

    assert read_body('{"a": [1]}', io.StringIO()) == {"a": [1]}
    assert read_body(f"@{tmp_path / 'q.json'}", io.StringIO()) == {"interval": "a/b"}
    assert read_body("@-", io.StringIO("[true]")) == [True]


@pytest.mark.parametrize(("value", "stdin", "message"), [("{", "", "the -d argument"), ("@-", "nope", "stdin")])
def test_read_body_names_the_source_of_bad_json(value: str, stdin: str, message: str) -> None:
    with pytest.raises(UsageError, match=f"{message} is not valid JSON"):
        read_body(value, io.StringIO(stdin))


def test_parse_headers_splits_at_the_first_colon_and_trims() -> None:
    assert parse_headers(["Accept: application/json", "X-Url:  http://a:1/  "]) == {
        "Accept": "application/json",
        "X-Url": "http://a:1/",
    }


def test_main_returns_2_for_usage_errors_and_0_for_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api"]) == 2
    assert "the following arguments are required: PATH" in capsys.readouterr().err
    assert main(["demo", "--seconds", "0"]) == 2
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out


def test_main_returns_2_for_missing_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_REGION", "GENESYS_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GENESYS_API_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    assert main(["token"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genesys-auth: Missing or blank Genesys Cloud settings: GENESYS_CLIENT_ID")
