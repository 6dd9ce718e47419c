"""The pytest plugin, loaded at every pytest start of every project that installs the library, stays light."""

from __future__ import annotations

import subprocess
import sys

#: Modules that make up the emulator's servers; none may be imported by merely loading the plugin.
SERVER_MODULES = (
    "genesys_auth_adapter.emulator.emulator",
    "genesys_auth_adapter.emulator.server",
    "genesys_auth_adapter.emulator.api",
    "genesys_auth_adapter.emulator.login",
    "genesys_auth_adapter.emulator.state",
    "genesys_auth_adapter.emulator.run",
)

CHECK = f"""
import sys
from importlib.metadata import entry_points

found = [ep for ep in entry_points(group="pytest11") if ep.name == "genesys_emulator"]
assert found, "the pytest11 entry point genesys_emulator is not registered"
plugin = found[0].load()
assert callable(plugin.genesys_emulator)
loaded = [name for name in {SERVER_MODULES!r} if name in sys.modules]
assert loaded == [], loaded
assert "genesys_auth_adapter" not in sys.modules and "requests" not in sys.modules, "the library was imported"
from genesys_auth_adapter.emulator import Emulator  # the package's names still resolve, on first use
assert "genesys_auth_adapter.emulator.server" in sys.modules and Emulator.__name__ == "Emulator"
"""


def test_loading_the_plugin_through_its_entry_point_imports_none_of_the_emulator() -> None:
    if sys.version_info < (3, 10):
        script = CHECK.replace('entry_points(group="pytest11")', 'entry_points().get("pytest11", ())')
    else:
        script = CHECK

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)

    assert result.returncode == 0, result.stderr
