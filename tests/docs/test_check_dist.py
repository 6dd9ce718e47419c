""".ci/check_dist.py, which CI runs on the built sdist and wheel, notices what a broken build leaves out."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFO = "genesys_auth_adapter-0.1.0.dist-info"
ENTRY_POINTS = "[console_scripts]\ngenesys-auth = genesys_auth_adapter.cli:main\n\n[pytest11]\ngenesys_emulator = x\n"
METADATA = "Name: genesys-auth-adapter\nDescription-Content-Type: text/markdown\n\n# genesys-auth-adapter\n"


@pytest.fixture(scope="module")
def check_dist() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_dist", ROOT / ".ci" / "check_dist.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(dist: Path, files: set[str], *, entry_points: str = ENTRY_POINTS, metadata: str = METADATA) -> None:
    dist.mkdir()
    with zipfile.ZipFile(dist / "genesys_auth_adapter-0.1.0-py3-none-any.whl", "w") as wheel:
        for name in sorted(files):
            wheel.writestr(name, "")
        wheel.writestr(f"{INFO}/METADATA", metadata)
        wheel.writestr(f"{INFO}/entry_points.txt", entry_points)
    with tarfile.open(dist / "genesys_auth_adapter-0.1.0.tar.gz", "w:gz") as sdist:
        for name in sorted(files | {"README.md", "pyproject.toml", "setup.cfg"}):
            member = tarfile.TarInfo(f"genesys_auth_adapter-0.1.0/{name}")
            sdist.addfile(member, io.BytesIO(b""))


def test_a_complete_build_passes(check_dist: ModuleType, tmp_path: Path) -> None:
    build(tmp_path / "dist", check_dist.package_files(ROOT))

    assert check_dist.main([str(tmp_path / "dist"), str(ROOT)]) == 0


def test_a_wheel_without_py_typed_fails(
    check_dist: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = check_dist.package_files(ROOT)
    assert "genesys_auth_adapter/py.typed" in files
    build(tmp_path / "dist", files - {"genesys_auth_adapter/py.typed"})

    assert check_dist.main([str(tmp_path / "dist"), str(ROOT)]) == 1
    assert "whl: missing genesys_auth_adapter/py.typed" in capsys.readouterr().err


def test_a_wheel_without_a_subpackage_or_the_plugin_entry_point_fails(
    check_dist: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {name for name in check_dist.package_files(ROOT) if "/emulator/" not in name}
    build(tmp_path / "dist", files, entry_points="[console_scripts]\ngenesys-auth = x\n")

    assert check_dist.main([str(tmp_path / "dist"), str(ROOT)]) == 1
    err = capsys.readouterr().err
    assert "missing genesys_auth_adapter/emulator/emulator.py" in err
    assert "no pytest11 entry point named genesys_emulator" in err


def test_a_description_that_is_not_the_markdown_readme_fails(
    check_dist: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(tmp_path / "dist", check_dist.package_files(ROOT), metadata="Name: genesys-auth-adapter\n\n")

    assert check_dist.main([str(tmp_path / "dist"), str(ROOT)]) == 1
    assert "not declared as Markdown" in capsys.readouterr().err
