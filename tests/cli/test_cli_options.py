"""Global options in either place (before or after the subcommand), and ``-X`` checked as an HTTP method."""

from __future__ import annotations

import pytest

from genesys_auth_adapter.cli import build_parser
from genesys_auth_adapter.cli.api import http_method
from genesys_auth_adapter.emulator import Emulator

from .conftest import Run

COMMANDS = ("api", "token", "skew", "emulator", "demo")


@pytest.mark.parametrize(
    "args",
    [
        ["-v", "api", "/api/v2/organizations/me"],
        ["api", "/api/v2/organizations/me", "-v"],
        ["api", "-v", "/api/v2/organizations/me"],
    ],
)
def test_verbose_works_before_and_after_the_subcommand(cli: Run, args: list[str]) -> None:
    result = cli(*args)

    assert result.returncode == 0, result.stderr
    assert "genesys_auth_adapter.token: Obtained token #1" in result.stderr
    assert '"id"' in result.stdout


def test_verbose_counts_add_up_across_both_places() -> None:
    parser = build_parser()

    args = parser.parse_args(["-v", "api", "/x", "-v"])

    assert args.verbose + args.sub_verbose == 2


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_takes_the_global_options(command: str) -> None:
    parser = build_parser()
    extra = ["/x"] if command == "api" else []

    args = parser.parse_args([command, *extra, "--verbose", "-v"])

    assert args.sub_verbose == 2


def test_version_works_after_the_subcommand(cli: Run) -> None:
    result = cli("token", "--version")

    assert result.returncode == 0
    assert result.stdout.split()[0] == "genesys-auth"


@pytest.mark.parametrize("method", ["GE T", "", "GET\r\nX-Injected: 1", "GÉT", "GET/1", "(GET)"])
def test_a_method_that_is_not_an_http_token_is_a_usage_error(genesys_emulator: Emulator, cli: Run, method: str) -> None:
    result = cli("api", "/api/v2/organizations/me", "-X", method)

    assert result.returncode == 2
    assert "not an HTTP method" in result.stderr
    assert "usage: genesys-auth api" in result.stderr
    assert "Traceback" not in result.stderr
    assert genesys_emulator.counters()["api_requests"] == 0


@pytest.mark.parametrize(("text", "expected"), [("get", "GET"), ("PROPFIND", "PROPFIND"), ("M-SEARCH", "M-SEARCH")])
def test_a_method_that_is_a_token_is_upper_cased(text: str, expected: str) -> None:
    assert http_method(text) == expected
