"""Print pip constraints that pin every declared dependency (and the test extra) to its ``>=`` floor.

CI installs the package with these constraints into a separate venv and runs the suite there, so the
floors in pyproject.toml are tested rather than assumed. Usage: ``python3 .ci/floors.py > floors.txt``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    try:
        import tomli as tomllib
    except ImportError:
        sys.exit("floors.py reads pyproject.toml with tomllib: run it with Python 3.11+ or install tomli.")

# "name>=1.2" or "name[extra]>=1.2"; anything else (markers, upper bounds, exclusions) is refused below
# so that a new kind of requirement gets a deliberate decision here instead of an untested floor.
_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)\s*$")


def floors(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = []
    for requirement in requirements:
        match = _FLOOR.match(requirement)
        if match is None:
            sys.exit(f"floors.py: {requirement!r} is not 'name>=version'; give it a floor or teach floors.py.")
        pins.append(f"{match.group(1)}=={match.group(3)}")
    return pins


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("\n".join(floors(root / "pyproject.toml")))
