"""``api --paginate`` against a tiny loopback API whose ``nextUri`` leaves the listing's origin or loops."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from genesys_auth_adapter.emulator import Emulator

from .conftest import run_cli


class Pages:
    """A loopback HTTP server answering each path with a canned JSON page, and the paths it was asked for."""

    def __init__(self, pages: dict[str, dict[str, Any]]) -> None:
        self.pages = pages
        self.asked: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.asked.append(self.path)
                page = owner.pages.get(self.path)
                body = json.dumps(page if page is not None else {"message": "no such page"}).encode()
                self.send_response(200 if page is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Pages:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def foreign() -> Iterator[Pages]:
    with Pages({"/api/v2/users?pageNumber=2": {"entities": [{"id": "from-elsewhere"}], "pageNumber": 2}}) as server:
        yield server


def test_paginate_refuses_a_next_uri_to_another_host_with_exit_1(
    genesys_emulator: Emulator, foreign: Pages, tmp_path: Path
) -> None:
    first = {
        "entities": [{"id": "u1"}],
        "pageNumber": 1,
        "pageCount": 2,
        "nextUri": foreign.url + "/api/v2/users?pageNumber=2",
    }
    with Pages({"/api/v2/users": first}) as api:
        result = run_cli(
            "api",
            "/api/v2/users",
            "--paginate",
            env={**genesys_emulator.env(), "GENESYS_API_URL": api.url},
            cwd=tmp_path,
        )

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""  # nothing merged, least of all the foreign page
    assert f"to {foreign.url}, another origin than the listing's ({api.url})" in result.stderr
    assert "Traceback" not in result.stderr
    assert foreign.asked == []


def test_paginate_stops_a_looping_next_uri_with_exit_1_without_repeating_a_page(
    genesys_emulator: Emulator, tmp_path: Path
) -> None:
    pages = {
        "/api/v2/users": {"entities": [{"id": "u1"}], "pageNumber": 1, "nextUri": "/api/v2/users?pageNumber=2"},
        "/api/v2/users?pageNumber=2": {
            "entities": [{"id": "u2"}],
            "pageNumber": 2,
            "nextUri": "/api/v2/users?pageNumber=1",
        },
        "/api/v2/users?pageNumber=1": {
            "entities": [{"id": "u1"}],
            "pageNumber": 1,
            "nextUri": "/api/v2/users?pageNumber=2",
        },
    }
    with Pages(pages) as api:
        result = run_cli(
            "api",
            "/api/v2/users",
            "--paginate",
            "--jsonl",
            env={**genesys_emulator.env(), "GENESYS_API_URL": api.url},
            cwd=tmp_path,
        )

    assert result.returncode == 1, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["u1", "u2"]
    assert "the listing loops" in result.stderr
    assert "Traceback" not in result.stderr
