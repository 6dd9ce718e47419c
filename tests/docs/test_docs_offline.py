"""The documentation site builds and reads without a network: no script from a CDN, a site_url set.

mkdocs-material fetches mermaid from unpkg.com for a page with a diagram unless a ``mermaid`` script is
already loaded, so every diagram needs the vendored copy named in ``extra_javascript``. mkdocs.yml is read
as text: its ``!ENV`` and ``!!python/name`` tags need mkdocs, which the test extra does not install.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def _list(key: str) -> list[str]:
    """The items of a top-level YAML list in mkdocs.yml (``key:`` then ``  - item`` lines)."""
    match = re.search(rf"^{key}:\n((?:  - .*\n)+)", CONFIG, re.MULTILINE)
    return [] if match is None else [line[4:].strip() for line in match.group(1).splitlines()]


def test_diagrams_use_the_vendored_mermaid() -> None:
    diagrams = [path.name for path in (ROOT / "docs").glob("**/*.md") if "```mermaid" in path.read_text("utf-8")]
    scripts = _list("extra_javascript")
    vendored = [script for script in scripts if "mermaid" in script and (ROOT / "docs" / script).is_file()]
    assert not diagrams or vendored, f"{diagrams} have diagrams but no vendored mermaid in extra_javascript"
    assert (ROOT / "docs" / "assets" / "javascripts" / "mermaid-LICENSE.txt").is_file()


def test_no_script_or_style_comes_from_another_host() -> None:
    for key in ("extra_javascript", "extra_css"):
        remote = [item for item in _list(key) if re.match(r"(https?:)?//", item)]
        assert remote == [], f"mkdocs.yml {key} loads {remote} from the network: vendor it under docs/assets/"


def test_site_url_is_set_without_a_placeholder() -> None:
    match = re.search(r"^site_url: (.+)$", CONFIG, re.MULTILINE)
    assert match is not None, "mkdocs.yml: set site_url"
    assert "<" not in match.group(1) and "example" not in match.group(1), match.group(1)
