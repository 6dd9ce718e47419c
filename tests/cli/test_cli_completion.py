"""``genesys-auth completion bash|zsh|fish``: scripts generated from the parser, checked by the shells themselves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from genesys_auth_adapter.cli import build_parser
from genesys_auth_adapter.cli.completion import commands_of, script

from .conftest import TIMEOUT, Run

SUBCOMMANDS = {"api", "login", "logout", "token", "skew", "emulator", "demo", "completion"}


def shell(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([name, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def test_the_subcommands_and_options_come_from_the_parser() -> None:
    """Pins: a script listing commands by hand, which falls behind the parser when a command is added."""
    root, commands = commands_of(build_parser())
    assert {c.name for c in commands} == SUBCOMMANDS
    assert {"--version", "--verbose"} <= {flag for option in root.options for flag in option.flags}
    api = next(c for c in commands if c.name == "api")
    method = next(option for option in api.options if "-X" in option.flags)
    assert method.choices == ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    assert {"-i", "--output", "-f", "-F", "--paginate"} <= {flag for option in api.options for flag in option.flags}


@pytest.mark.parametrize("name", ["bash", "zsh", "fish"])
def test_each_script_names_every_subcommand(cli: Run, name: str) -> None:
    result = cli("completion", name)

    assert result.returncode == 0, result.stderr
    assert result.stdout == script(build_parser(), name)
    for command in SUBCOMMANDS:
        assert command in result.stdout


def test_an_unknown_shell_is_a_usage_error(cli: Run) -> None:
    result = cli("completion", "tcsh")

    assert result.returncode == 2
    assert "invalid choice: 'tcsh'" in result.stderr


def complete_in_bash(tmp_path: Path, *words: str) -> list[str]:
    """What the bash script offers for the last of ``words`` (COMPREPLY), the way bash calls it."""
    path = tmp_path / "genesys-auth.bash"
    path.write_text(script(build_parser(), "bash"), encoding="utf-8")
    array = " ".join(f"'{word}'" for word in ("genesys-auth", *words))
    program = (
        f"source {path}; COMP_WORDS=({array}); COMP_CWORD={len(words)}; _genesys_auth; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = shell("bash", "-c", program, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_the_bash_script_parses_and_completes_commands_options_and_choices(tmp_path: Path) -> None:
    path = tmp_path / "genesys-auth.bash"
    path.write_text(script(build_parser(), "bash"), encoding="utf-8")
    assert shell("bash", "-n", str(path), cwd=tmp_path).returncode == 0

    assert set(complete_in_bash(tmp_path, "")) == SUBCOMMANDS
    assert complete_in_bash(tmp_path, "-v", "co") == ["completion"]
    assert complete_in_bash(tmp_path, "api", "-X", "P") == ["POST", "PUT", "PATCH"]
    assert complete_in_bash(tmp_path, "api", "/api/v2/users", "--out") == ["--output"]
    assert complete_in_bash(tmp_path, "completion", "") == ["bash", "zsh", "fish"]
    # A value with no fixed choices gets nothing from the script: `complete -o default` offers file names.
    assert complete_in_bash(tmp_path, "api", "/x", "--output", "") == []
    assert set(complete_in_bash(tmp_path, "login", "--")) >= {"--no-browser", "--port", "--timeout"}


def test_a_number_completes_to_nothing_not_to_file_names() -> None:
    """Pins: `login --port <TAB>` offering the files of the working directory."""
    _, commands = commands_of(build_parser())
    login = next(c for c in commands if c.name == "login")
    numbers = {flag for option in login.options if option.number for flag in option.flags}
    assert numbers == {"--port", "--timeout"}
    assert "--port) compopt +o default" in script(build_parser(), "bash")
    assert "'(--port)--port[" in script(build_parser(), "zsh") and ":number: '" in script(build_parser(), "zsh")
    assert "-l port -x -d" in script(build_parser(), "fish")


def needs(program: str) -> None:
    """Skip without ``program`` on a developer's machine; in CI (``CI`` set, .ci/run installs it) fail."""
    if shutil.which(program) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is not installed: .ci/run installs it (apt-get install {program})")
        pytest.skip(f"{program} is not installed (apt-get install {program} to run this test)")


def test_the_fish_script_parses_and_completes(tmp_path: Path) -> None:
    needs("fish")
    path = tmp_path / "genesys-auth.fish"
    path.write_text(script(build_parser(), "fish"), encoding="utf-8")
    assert shell("fish", "-n", str(path), cwd=tmp_path).returncode == 0

    def complete(line: str) -> list[str]:
        result = shell("fish", "--no-config", "-c", f"source {path}; complete -C '{line}'", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return [row.split("\t")[0] for row in result.stdout.splitlines()]

    assert set(complete("genesys-auth ")) == SUBCOMMANDS
    assert complete("genesys-auth api -X PO") == ["POST"]
    assert "--include" in complete("genesys-auth api /x --inc")


def test_the_zsh_script_parses_and_registers_its_function(tmp_path: Path) -> None:
    needs("zsh")
    path = tmp_path / "_genesys-auth"
    path.write_text(script(build_parser(), "zsh"), encoding="utf-8")
    assert shell("zsh", "-n", str(path), cwd=tmp_path).returncode == 0

    program = (
        f"autoload -U compinit; compinit -u -d {tmp_path / 'zcompdump'}; source {path}; "
        "print -r -- $_comps[genesys-auth]"
    )
    result = shell("zsh", "-f", "-c", program, cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "_genesys_auth"), result.stderr
