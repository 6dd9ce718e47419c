"""Check that the built sdist and wheel hold the whole package, beyond what ``twine check`` looks at.

Every module and package file of the source tree (``py.typed`` included), the ``genesys-auth`` console
script and the ``genesys_emulator`` pytest plugin entry point, and the README as the Markdown description.
Usage: ``python3 .ci/check_dist.py DIST_DIR [SOURCE_ROOT]``; exits 1 listing every problem found.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

PACKAGE = "genesys_auth_adapter"
#: Every top-level package the distribution ships (the pytest plugin lives beside the library).
PACKAGES = (PACKAGE, "genesys_auth_adapter_pytest")
ENTRY_POINTS = {"console_scripts": "genesys-auth", "pytest11": "genesys_emulator"}


def package_files(root: Path) -> set[str]:
    """The package's files as paths relative to ``root``: modules and data, no caches."""
    return {
        path.relative_to(root).as_posix()
        for package in PACKAGES
        for path in (root / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
    }


def check_wheel(wheel: Path, expected: set[str]) -> list[str]:
    """What is wrong with one wheel (empty when nothing)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next((name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA")), None)
        if info is None:
            return [f"{wheel.name}: no .dist-info/METADATA"]
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode("utf-8"))
        entry_points = (
            archive.read(f"{info}/entry_points.txt").decode("utf-8") if f"{info}/entry_points.txt" in names else ""
        )
    problems = [f"{wheel.name}: missing {name}" for name in sorted(expected - names)]
    problems += [
        f"{wheel.name}: no {group} entry point named {name}"
        for group, name in ENTRY_POINTS.items()
        if not _has_entry_point(entry_points, group, name)
    ]
    if metadata.get("Description-Content-Type", "").split(";")[0].strip() != "text/markdown":
        problems.append(f"{wheel.name}: the description is not declared as Markdown")
    if "genesys-auth-adapter" not in (metadata.get_payload() or ""):
        problems.append(f"{wheel.name}: the description is not the README")
    return problems


def check_sdist(sdist: Path, expected: set[str]) -> list[str]:
    """What is wrong with one sdist (empty when nothing)."""
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = expected | {"README.md", "pyproject.toml", "setup.cfg"}
    return [f"{sdist.name}: missing {name}" for name in sorted(wanted - names)]


def _has_entry_point(text: str, group: str, name: str) -> bool:
    current = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == group and line.split("=")[0].strip() == name:
            return True
    return False


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    dist = Path(argv[0])
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    expected = package_files(root)
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    problems = [] if len(wheels) == 1 and len(sdists) == 1 else [f"{dist}: want one wheel and one sdist"]
    for wheel in wheels:
        problems += check_wheel(wheel, expected)
    for sdist in sdists:
        problems += check_sdist(sdist, expected)
    if f"{PACKAGE}/py.typed" not in expected:
        problems.append(f"{root}: the source tree has no {PACKAGE}/py.typed")
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_dist: {', '.join(p.name for p in wheels + sdists)}: {len(expected)} package files each, OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
