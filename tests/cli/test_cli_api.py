"""``genesys-auth api`` as a subprocess against the emulator: output, pagination, bodies, headers, exit codes."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genesys_auth_adapter.emulator import Emulator

from .conftest import TIMEOUT, Run, clean_environ, run_cli

QUERY = "/api/v2/analytics/conversations/details/query"
THREE_DAYS = "2024-03-01T00:00:00.000Z/2024-03-04T00:00:00.000Z"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def api_requests(emu: Emulator, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in emu.requests() if (r["method"], r["path"]) == (method, path)]


def test_get_prints_the_json_answer_indented(genesys_emulator: Emulator, cli: Run, genesys_session: Any) -> None:
    result = cli("api", "/api/v2/organizations/me")

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith('{\n  "')
    assert json.loads(result.stdout) == genesys_session.get("/api/v2/organizations/me").json()
    assert len(api_requests(genesys_emulator, "GET", "/api/v2/organizations/me")) == 2  # ours, then the session's


def test_paginate_merges_every_user_into_one_document(
    genesys_emulator: Emulator, cli: Run, genesys_session: Any
) -> None:
    total = genesys_session.get("/api/v2/users").json()["total"]

    result = cli("api", "/api/v2/users", "--paginate")

    assert (result.returncode, result.stderr) == (0, "")  # stderr is no terminal: no progress
    document = json.loads(result.stdout)
    assert total == 57
    assert document["total"] == total
    assert len({user["id"] for user in document["entities"]}) == total
    assert "nextUri" not in document and "pageNumber" not in document
    # The session's own page plus ours: 57 users at the default 25 a page are 3 pages.
    assert len(api_requests(genesys_emulator, "GET", "/api/v2/users")) == 1 + 3


def test_paginate_jsonl_prints_one_user_per_line(cli: Run) -> None:
    merged = json.loads(cli("api", "/api/v2/users?pageSize=10", "--paginate").stdout)

    result = cli("api", "/api/v2/users?pageSize=10", "--paginate", "--jsonl")

    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 57
    assert [json.loads(line) for line in lines] == merged["entities"]


def test_an_http_error_exits_1_with_the_genesys_code_and_correlation_id(cli: Run) -> None:
    result = cli("api", "/api/v2/no/such/thing")

    assert result.returncode == 1
    assert result.stdout == ""
    assert "HTTP 404 not.found" in result.stderr
    assert re.search(r"status:\s+404", result.stderr)
    assert re.search(rf"correlation id:\s+{UUID}", result.stderr)
    assert re.search(r"message:\s+\S", result.stderr)


def test_a_permission_error_exits_1(cli: Run) -> None:
    result = cli("api", "/api/v2/authorization/roles")

    assert result.returncode == 1
    assert "HTTP 403 missing.permissions" in result.stderr


def test_missing_configuration_exits_2_naming_the_variables(tmp_path: Path) -> None:
    result = run_cli("api", "/api/v2/organizations/me", env={}, cwd=tmp_path)

    assert result.returncode == 2
    for name in ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_REGION"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_are_read_from_a_dotenv_file_in_the_working_directory(
    genesys_emulator: Emulator, tmp_path: Path
) -> None:
    lines = [f"{name}={value}" for name, value in genesys_emulator.env().items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run_cli("api", "/api/v2/organizations/me", env={}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "id" in json.loads(result.stdout)


def test_bad_json_in_data_exits_2_before_any_request(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("api", QUERY, "-d", "{interval: nope")

    assert result.returncode == 2
    assert "the -d argument is not valid JSON" in result.stderr
    assert genesys_emulator.requests() == []
    assert genesys_emulator.counters()["token_requests"] == 0


def test_a_missing_data_file_exits_2(cli: Run, tmp_path: Path) -> None:
    result = cli("api", QUERY, "-d", "@" + str(tmp_path / "absent.json"))

    assert result.returncode == 2
    assert "cannot read the -d file" in result.stderr


def test_data_from_a_file_pages_the_details_query_to_total_hits(
    genesys_emulator: Emulator, cli: Run, tmp_path: Path
) -> None:
    (tmp_path / "query.json").write_text(json.dumps({"interval": THREE_DAYS, "order": "asc"}), encoding="utf-8")

    result = cli("api", QUERY, "-d", "@query.json", "--paginate")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    total = document["totalHits"]
    assert total > 100  # more than one page of the default 100
    assert len({c["conversationId"] for c in document["conversations"]}) == total
    posts = api_requests(genesys_emulator, "POST", QUERY)
    assert len(posts) == math.ceil(total / 100)


def test_data_from_stdin_pages_the_details_query_with_its_own_page_size(genesys_emulator: Emulator, cli: Run) -> None:
    body = json.dumps({"interval": THREE_DAYS, "paging": {"pageSize": 25}})

    result = cli("api", QUERY, "-d", "@-", "--paginate", "--jsonl", input=body)

    assert result.returncode == 0, result.stderr
    conversations = [json.loads(line) for line in result.stdout.splitlines()]
    total = json.loads(cli("api", QUERY, "-d", body).stdout)["totalHits"]
    assert len(conversations) == total
    assert len(api_requests(genesys_emulator, "POST", QUERY)) == math.ceil(total / 25) + 1


def test_headers_arrive_and_data_makes_it_a_post(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("api", "/_emulator/echo", "-d", '{"a": 1}', "-H", "Content-Type: application/vnd.test+json")

    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert (echo["method"], echo["contentType"]) == ("POST", "application/vnd.test+json")
    assert json.loads(base64.b64decode(echo["bodyBase64"])) == {"a": 1}
    (logged,) = api_requests(genesys_emulator, "POST", "/_emulator/echo")
    assert logged["content_type"] == "application/vnd.test+json"
    assert logged["authorization_present"] is True


def test_method_is_taken_from_x(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("api", "-X", "put", "/_emulator/echo", "-d", "[]")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "PUT"
    assert api_requests(genesys_emulator, "PUT", "/_emulator/echo")[0]["content_type"] == "application/json"


def test_a_no_content_answer_prints_nothing(genesys_emulator: Emulator, cli: Run) -> None:
    result = cli("api", "-X", "DELETE", "/api/v2/tokens/me")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert [r["status"] for r in api_requests(genesys_emulator, "DELETE", "/api/v2/tokens/me")] == [204]


@pytest.mark.parametrize("header", ["no colon here", ": value", "Two Words: x"])
def test_a_malformed_header_exits_2(cli: Run, header: str) -> None:
    result = cli("api", "/api/v2/organizations/me", "-H", header)

    assert result.returncode == 2
    assert "-H needs 'Name: value'" in result.stderr


@pytest.mark.parametrize("args", [["api"], ["api", "/x", "--bogus"], ["nope"], []])
def test_usage_errors_exit_2(cli: Run, args: list[str]) -> None:
    result = cli(*args)

    assert result.returncode == 2
    assert "usage: genesys-auth" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_progress_goes_to_stderr_only_when_it_is_a_terminal(genesys_emulator: Emulator, tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "genesys_auth_adapter", "api", "/api/v2/users?pageSize=10", "--paginate"],
            env={**clean_environ(), **genesys_emulator.env()},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=follower,
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

    assert completed.returncode == 0
    assert len(json.loads(completed.stdout)["entities"]) == 57
    text = shown.decode()
    assert [f"page {n} of 6" in text for n in range(1, 7)] == [True] * 6
    assert "entities" not in text


def test_a_download_follows_the_redirect_and_writes_the_bytes_untouched(
    genesys_emulator: Emulator, tmp_path: Path
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "genesys_auth_adapter", "api", "/api/v2/downloads/rec-1"],
        env={**clean_environ(), **genesys_emulator.env()},
        cwd=tmp_path,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout) == 64 * 1024
    counters = genesys_emulator.counters()
    assert (counters["storage_requests"], counters["storage_authorization_headers"]) == (1, 0)
