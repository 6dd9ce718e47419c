"""Global options in either place (before or after the subcommand), and ``-X`` checked as a method of the API."""

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


@pytest.mark.parametrize(
    "method", ["GE T", "", "GET\r\nX-Injected: 1", "GÉT", "GET/1", "(GET)", "FOO", "PUST", "PROPFIND"]
)
def test_a_method_the_api_does_not_have_is_a_usage_error(genesys_emulator: Emulator, cli: Run, method: str) -> None:
    """Pins: -X FOO (a valid token) sent to the API and answered 501, where the docs promise a usage error."""
    result = cli("api", "/api/v2/organizations/me", "-X", method)

    assert result.returncode == 2
    assert "not an HTTP method of the API" in result.stderr
    assert "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS" in result.stderr
    assert "usage: genesys-auth api" in result.stderr
    assert "Traceback" not in result.stderr
    assert genesys_emulator.counters()["api_requests"] == 0


@pytest.mark.parametrize(("text", "expected"), [("get", "GET"), ("Patch", "PATCH"), ("OPTIONS", "OPTIONS")])
def test_a_method_of_the_api_is_taken_in_any_case(text: str, expected: str) -> None:
    assert http_method(text) == expected
