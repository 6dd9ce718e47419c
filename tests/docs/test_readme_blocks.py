"""Every ```python block of README.md and docs/**/*.md runs as written, against a local emulator.

Each block runs as its own script (``python block.py``) in a fresh temporary working directory, with the
``GENESYS_*`` variables of a running emulator in its environment (so ``gaa.session()`` and ``client()``
reach it) and its own cache directory. A block fails the test if it exits non-zero: an exception, a
``NameError`` for a name it never defined, an assertion.

A README block runs exactly as a reader would paste it into a fresh file: nothing is added to it (no
preamble, no ``asyncio.run`` wrapper), and its process's environment holds only the emulator's variables,
``PATH`` and a ``HOME`` of its own (see :func:`readme_env`). The README takes no ``uses:`` marker and at
most one ``skip:``.

Markers, each an HTML comment on the lines just above a block (invisible once rendered):

``<!-- uses: creds, s -->`` (docs/ only)
    The block continues an earlier one and takes these names as given. Each name is defined here, in
    :data:`PREAMBLE`, the way the README's prose introduces it; an unknown name fails the test.
``<!-- skip: why -->``
    The block cannot run here (it needs real credentials, a real region or another host); it is still
    compiled. A skip without a reason fails the test.

In docs/, a block with top-level ``await`` runs inside ``async def`` + ``asyncio.run``. A block that defines
``test_*`` functions is a test module: it is run with pytest (the library's pytest plugin included).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from genesys_auth_adapter.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("**/*.md"))]
TIMEOUT = 45
#: The README's size limit: a landing page, with the manual in docs/.
README_MAX_CHARS = 12_000

#: What ``<!-- uses: ... -->`` can ask for: the names the README introduces in its prose or earlier blocks.
PREAMBLE = {
    "gaa": "import genesys_auth_adapter as gaa",
    "client_id": "import os; client_id = os.environ['GENESYS_CLIENT_ID']",
    "client_secret": "import os; client_secret = os.environ['GENESYS_CLIENT_SECRET']",
    # The quickstart's credentials, from the environment (here: the emulator's).
    "creds": "import genesys_auth_adapter as _gaa; creds = _gaa.from_env()",
    # The quickstart's session.
    "s": "import genesys_auth_adapter as _gaa; s = _gaa.session()",
    # "A token you already have": one from the login service, and a callable that gets another.
    "token": "import genesys_auth_adapter as _gaa; token = _gaa.GenesysAuth(_gaa.from_env()).token().access_token",
    "get_new_token": (
        "import genesys_auth_adapter as _gaa\n"
        "def get_new_token() -> str:\n"
        "    return _gaa.GenesysAuth(_gaa.from_env()).token().access_token"
    ),
    # A details query body.
    "query": "query = {'interval': '2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z'}",
}

_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*(skip|uses):(.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    """One ```python block and the markers just above it."""

    path: Path
    line: int
    code: str
    skip: str | None
    uses: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The ```python blocks of a Markdown file, with their markers."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), None)
        if end is None:
            raise AssertionError(f"{path.name}:{index + 1}: a code block is never closed")
        if fence.group(1) == "python":
            skip, uses = _markers(lines, index)
            found.append(Block(path, index + 1, "\n".join(lines[index + 1 : end]) + "\n", skip, uses))
        index = end + 1
    return found


def _markers(lines: list[str], fence: int) -> tuple[str | None, tuple[str, ...]]:
    skip: str | None = None
    uses: tuple[str, ...] = ()
    above = fence - 1
    while above >= 0 and (marker := _MARKER.match(lines[above].strip())) is not None:
        kind, value = marker.group(1), marker.group(2).strip()
        if kind == "skip":
            skip = value
        else:
            uses = tuple(name.strip() for name in value.split(",") if name.strip())
        above -= 1
    return skip, uses


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks(document)]


def script(block: Block) -> str:
    """The block as a runnable script: the preamble it asked for, then the block (wrapped if async).

    A README block is returned as written: a reader pastes it alone into a fresh file.
    """
    if block.path == README:
        return block.code
    unknown = [name for name in block.uses if name not in PREAMBLE]
    assert not unknown, f"{block.name}: <!-- uses: --> names no preamble defines: {unknown} (see PREAMBLE)"
    preamble = "\n".join(PREAMBLE[name] for name in block.uses)
    code = block.code
    if _awaits_at_top_level(code):
        code = (
            "import asyncio\n\nasync def _block() -> None:\n"
            + textwrap.indent(code, "    ")
            + "\nasyncio.run(_block())\n"
        )
    return preamble + "\n" + code


def _awaits_at_top_level(code: str) -> bool:
    try:
        compile(code, "<block>", "exec")
    except SyntaxError as exc:
        if "outside" in str(exc.msg) and ("await" in str(exc.msg) or "async" in str(exc.msg)):
            return True
        raise
    return False


def _defines_tests(code: str) -> bool:
    tree = ast.parse(code)
    return any(isinstance(node, ast.FunctionDef) and node.name.startswith("test_") for node in tree.body)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def readme_env(emulator: Emulator, home: Path) -> dict[str, str]:
    """A fresh shell's environment with only the emulator's variables exported (plus PATH and a HOME)."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home)}
    if "SYSTEMROOT" in os.environ:  # Windows cannot start Python without it
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    env.update(emulator.env())
    return env


README_BLOCKS = [block for block in ALL_BLOCKS if block.path == README]


def test_the_readme_is_a_landing_page_with_runnable_blocks() -> None:
    assert len(README.read_text(encoding="utf-8")) <= README_MAX_CHARS, "README.md: move details into docs/"
    assert len(README_BLOCKS) >= 4
    assert [block.name for block in README_BLOCKS if block.uses] == [], "README blocks must run alone"
    assert len([block for block in README_BLOCKS if block.skip is not None]) <= 1


def test_the_readme_keeps_the_two_commands_ci_runs() -> None:
    """.ci/run runs these two lines verbatim: the README must show them exactly."""
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in (
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && genesys-auth demo",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest",
    ):
        assert f"\n{command}\n" in readme, command
        assert f'bash -c "{command}"' in ci, command


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda block: block.name)
def test_block_runs_as_written(block: Block, emulator: Emulator, tmp_path: Path) -> None:
    if block.skip is not None:
        assert block.skip, f"{block.name}: a skipped block must say why (<!-- skip: why -->)"
        compile(script(block), block.name, "exec")  # still valid Python, with the names it says it uses
        return
    source = script(block)
    tests = _defines_tests(block.code)
    target = tmp_path / ("test_block.py" if tests else "block.py")
    target.write_text(source, encoding="utf-8")
    if block.path == README:
        (tmp_path / "home").mkdir()
        env = readme_env(emulator, tmp_path / "home")
    else:
        env = {name: value for name, value in os.environ.items() if not name.startswith("GENESYS_")}
        env.update(emulator.env())
        env.update({"XDG_CACHE_HOME": str(tmp_path / ".cache"), "PYTHONDONTWRITEBYTECODE": "1"})
    command = (
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target.name]
        if tests
        else [
            sys.executable,
            target.name,
        ]
    )

    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )

    assert result.returncode == 0, (
        f"{block.name} failed:\n{source}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def test_a_block_that_raises_fails(emulator: Emulator, tmp_path: Path) -> None:
    """The runner itself: a block with an undefined name must not pass."""
    block = Block(README, 0, "print(undefined_name)\n", None, ())
    with pytest.raises(AssertionError, match="NameError: name 'undefined_name'"):
        test_block_runs_as_written(block, emulator, tmp_path)


def test_a_readme_block_with_top_level_await_fails(emulator: Emulator, tmp_path: Path) -> None:
    """The runner itself: a README block is not wrapped in asyncio.run, as a reader's file would not be."""
    block = Block(README, 0, "import asyncio\nawait asyncio.sleep(0)\n", None, ())
    with pytest.raises(AssertionError, match="SyntaxError"):
        test_block_runs_as_written(block, emulator, tmp_path)


def test_a_readme_block_sees_only_the_emulators_environment(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner itself: a variable of the test's own environment does not reach a README block."""
    monkeypatch.setenv("GAA_README_PROBE", "1")
    code = "import os\nassert 'GAA_README_PROBE' not in os.environ, 'leaked'\nassert os.environ['GENESYS_API_URL']\n"
    test_block_runs_as_written(Block(README, 0, code, None, ()), emulator, tmp_path)
