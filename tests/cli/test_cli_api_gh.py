"""``genesys-auth api`` as ``gh api`` works: -f/-F parameters, -i, and --output for downloads (subprocesses)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, Run, clean_environ

ECHO = "/_emulator/echo"


def logged(emu: Emulator, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in emu.requests() if (r["method"], r["path"]) == (method, path)]


def echoed_body(stdout: str) -> Any:
    return json.loads(base64.b64decode(json.loads(stdout)["bodyBase64"]))


def test_fields_make_a_post_with_a_typed_nested_json_body(genesys_emulator: Emulator, cli: Run, tmp_path: Path) -> None:
    """Pins: -f/-F unknown options (exit 2); gh's defaults: POST, a JSON body, -F typed, [sub] and [] nesting."""
    (tmp_path / "description.txt").write_text("Second line\n", encoding="utf-8")
    result = cli(
        "api",
        ECHO,
        "-f",
        "name=Support",
        "-f",
        "size=5",
        "-F",
        "count=5",
        "-F",
        "visible=true",
        "-F",
        "description=@description.txt",
        "-F",
        "owner[id]=42",
        "-f",
        "tags[]=a",
        "-f",
        "tags[]=b",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "POST"
    assert json.loads(result.stdout)["contentType"] == "application/json"
    assert echoed_body(result.stdout) == {
        "name": "Support",
        "size": "5",
        "count": 5,
        "visible": True,
        "description": "Second line\n",
        "owner": {"id": 42},
        "tags": ["a", "b"],
    }


def test_fields_with_x_get_go_to_the_query_string(genesys_emulator: Emulator, cli: Run) -> None:
    """Pins: gh's `-X GET -f q=...`: the parameters in the query string, no body; a list repeats its key."""
    result = cli("api", "/api/v2/users?expand=groups", "-X", "GET", "-F", "pageSize=5", "-f", "id[]=a", "-f", "id[]=b")

    assert result.returncode == 0, result.stderr
    (request,) = logged(genesys_emulator, "GET", "/api/v2/users")
    assert request["query"] == "expand=groups&id=a&id=b&pageSize=5"  # -f fields first, then -F, as gh reads them
    assert request["body_length"] == 0


def test_fields_beside_a_data_body_go_to_the_query_string(genesys_emulator: Emulator, cli: Run) -> None:
    """Pins: gh's rule with --input (here -d): the body is the given one and the fields become the query."""
    result = cli("api", ECHO, "-X", "PUT", "-d", '{"a": 1}', "-F", "force=true")

    assert result.returncode == 0, result.stderr
    assert echoed_body(result.stdout) == {"a": 1}
    (request,) = logged(genesys_emulator, "PUT", ECHO)
    assert request["query"] == "force=true"


def test_two_options_reading_stdin_is_a_usage_error_before_any_request(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("api", ECHO, "-d", "@-", "-F", "note=@-", input="{}")

    assert result.returncode == 2
    assert "only one of -d @- and -F key=@- can read stdin" in result.stderr
    assert genesys_emulator.counters()["api_requests"] == 0


def test_include_prints_the_status_line_and_headers_before_the_body(cli: Run) -> None:
    """Pins: -i unknown (exit 2): no way to see the correlation id or Content-Type of a good answer."""
    result = cli("api", "/api/v2/organizations/me", "-i")

    assert result.returncode == 0, result.stderr
    head, blank, body = result.stdout.partition("\n\n")
    lines = head.splitlines()
    assert lines[0] == "HTTP/1.1 200 OK"
    names = {line.partition(":")[0].lower() for line in lines[1:]}
    assert {"content-type", "inin-correlation-id", "date"} <= names
    assert blank and "id" in json.loads(body)


def test_include_shows_the_head_of_an_error_answer_and_still_exits_1(cli: Run) -> None:
    result = cli("api", "/api/v2/users/no-such-user", "-i")

    assert result.returncode == 1
    assert result.stdout.startswith("HTTP/1.1 404 ")
    assert "HTTP 404" in result.stderr


def test_include_with_paginate_is_a_usage_error_before_any_request(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("api", "/api/v2/users", "-i", "--paginate")

    assert result.returncode == 2
    assert "-i prints one answer's headers and --paginate reads many pages" in result.stderr
    assert genesys_emulator.counters()["api_requests"] == 0


def test_output_writes_a_download_to_the_file_and_nothing_to_stdout(
    genesys_emulator: Emulator, cli: Run, tmp_path: Path
) -> None:
    """Pins: --output unknown (exit 2), so a download could only be had by redirecting stdout."""
    result = cli("api", "/api/v2/downloads/rec-1", "--output", "recording.bin")

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (tmp_path / "recording.bin").stat().st_size == 64 * 1024
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_output_of_a_failed_request_leaves_no_file(cli: Run, tmp_path: Path) -> None:
    result = cli("api", "/api/v2/users/no-such-user", "-o", "user.json")

    assert result.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".cache")) == []


def test_output_into_a_missing_directory_is_a_usage_error_before_any_request(
    genesys_emulator: Emulator, cli: Run
) -> None:
    result = cli("api", "/api/v2/organizations/me", "--output", "no/such/dir/me.json")

    assert result.returncode == 2
    assert "cannot write --output 'no/such/dir/me.json'" in result.stderr
    assert genesys_emulator.counters()["api_requests"] == 0


def test_paginate_output_writes_the_merged_document_to_the_file(cli: Run, tmp_path: Path) -> None:
    result = cli("api", "/api/v2/users?pageSize=25", "--paginate", "--output", "users.json")

    assert result.returncode == 0, result.stderr
    assert len(json.loads((tmp_path / "users.json").read_text(encoding="utf-8"))["entities"]) == 57


def run_on_a_terminal(emu: Emulator, cwd: Path, *args: str) -> tuple[int, bytes, str]:
    """Run the command line with stdout on a pseudo-terminal; return its status, what it showed, and stderr."""
    import pty

    leader, follower = pty.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "genesys_auth_adapter", *args],
            env={**clean_environ(), **emu.env(), "XDG_CACHE_HOME": str(cwd / ".cache")},
            cwd=cwd,
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(follower)
    shown = b""
    try:
        while chunk := os.read(leader, 4096):
            shown += chunk
    except OSError:  # EIO: the terminal's other side is closed and everything has been read
        pass
    finally:
        os.close(leader)
    return completed.returncode, shown, completed.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_binary_answer_is_not_written_to_a_terminal(genesys_emulator: Emulator, tmp_path: Path) -> None:
    """Pins: a download's bytes garbling the terminal; the error says to use --output or to redirect."""
    status, shown, stderr = run_on_a_terminal(genesys_emulator, tmp_path, "api", "/api/v2/downloads/rec-1")

    assert status == 2
    assert shown == b""
    assert "the answer is binary (65536 bytes" in stderr
    assert "--output FILE, or redirect stdout" in stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_json_still_goes_to_a_terminal(genesys_emulator: Emulator, tmp_path: Path) -> None:
    status, shown, stderr = run_on_a_terminal(genesys_emulator, tmp_path, "api", "/api/v2/organizations/me")

    assert status == 0, stderr
    assert b'"id"' in shown
