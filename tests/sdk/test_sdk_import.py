"""Only ``genesys_auth_adapter.sdk`` imports the official SDK (about 3 s and 170 MB of modules)."""

from __future__ import annotations

import subprocess
import sys

import genesys_auth_adapter.sdk as sdk


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_the_library_and_its_other_front_ends_do_not_import_the_sdk() -> None:
    result = run(
        "import sys\n"
        "import genesys_auth_adapter, genesys_auth_adapter.httpx, genesys_auth_adapter.cli\n"
        "from genesys_auth_adapter import session\n"
        "loaded = sorted(name for name in sys.modules if name.startswith('PureCloudPlatformClientV2'))\n"
        "assert loaded == [], loaded[:5]\n"
    )
    assert result.returncode == 0, result.stderr


def test_without_the_sdk_the_error_says_which_extra_to_install() -> None:
    result = run(
        "import sys; sys.modules['PureCloudPlatformClientV2'] = None\n"
        "import genesys_auth_adapter as gaa\n"
        "gaa.GenesysAuth(gaa.ClientCredentials('c', 's', 'us-east-1'))\n"
        "import genesys_auth_adapter.sdk\n"
    )
    assert result.returncode == 1
    assert "PureCloudPlatformClientV2 227.0.0 or later" in result.stderr
    assert "pip install 'genesys-auth-adapter[sdk]'" in result.stderr


def test_all_is_sorted_and_resolves() -> None:
    assert list(sdk.__all__) == sorted(sdk.__all__) == ["GenesysSdkHttpClient", "api_client"]
    assert all(hasattr(sdk, name) for name in sdk.__all__)
