"""The command line reuses one token across runs through the file store (``--no-store`` opts out)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from genesys_auth_adapter.emulator import Emulator

from .conftest import Run, run_cli


def test_consecutive_runs_share_one_token(genesys_emulator: Emulator, cli: Run, tmp_path: Path) -> None:
    first = cli("token")
    second = cli("token")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert cli("api", "/api/v2/organizations/me").returncode == 0
    assert genesys_emulator.counters()["token_requests"] == 1
    # The token rests in the test's own cache directory, readable by this user only.
    files = list((tmp_path / ".cache").rglob("*.json"))
    entries = [f for f in files if not f.name.endswith(".pace.json")]  # the other: the client's rate budgets
    assert len(entries) == 1
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(os.stat(entries[0].parent).st_mode) == 0o700


def test_no_store_asks_for_a_new_token_every_run(genesys_emulator: Emulator, cli: Run) -> None:
    assert cli("token", "--no-store").returncode == 0
    assert cli("api", "/api/v2/organizations/me", "--no-store").returncode == 0
    assert genesys_emulator.counters()["token_requests"] == 2


def test_token_info_says_where_the_token_came_from_without_showing_it(genesys_emulator: Emulator, cli: Run) -> None:
    first = cli("token", "--info")
    second = cli("token", "--info")
    assert (first.returncode, second.returncode) == (0, 0)
    assert "source:     login" in first.stdout
    assert "source:     store" in second.stdout
    assert "expires in: " in second.stdout and " s" in second.stdout
    token = cli("token").stdout.strip()
    assert token and token not in first.stdout + second.stdout + first.stderr + second.stderr


def test_a_truncated_cache_file_is_replaced_with_one_warning(
    genesys_emulator: Emulator, cli: Run, tmp_path: Path
) -> None:
    assert cli("token").returncode == 0
    (entry,) = (tmp_path / ".cache").rglob("*.json")
    entry.write_bytes(entry.read_bytes()[:10])  # truncated mid-run
    result = cli("-v", "token")
    assert result.returncode == 0
    assert result.stderr.count("is unusable") == 1 and "treating it as missing" in result.stderr
    assert genesys_emulator.counters()["token_requests"] == 2
    assert cli("token").returncode == 0
    assert genesys_emulator.counters()["token_requests"] == 2  # the replaced entry is used again


def test_a_revoked_stored_token_is_replaced_and_renew_replaces_a_valid_one(
    genesys_emulator: Emulator, cli: Run
) -> None:
    """Pins: after a revocation, `token` kept printing the revoked stored token for the rest of its lifetime.

    A stored token is verified (HEAD /api/v2/tokens/me) before it is printed, so a revoked one is replaced
    without --renew; --renew still replaces a stored token that works.
    """
    old = cli("token").stdout.strip()
    genesys_emulator.revoke_all()
    new = cli("token").stdout.strip()
    assert new and new != old
    assert cli("token").stdout.strip() == new
    renewed = cli("token", "--renew").stdout.strip()
    assert renewed and renewed not in (old, new)
    assert cli("token").stdout.strip() == renewed
    assert cli("api", "/api/v2/organizations/me").returncode == 0
    assert genesys_emulator.counters()["token_requests"] == 3


def test_a_wrong_secret_is_refused_although_a_token_is_stored(
    genesys_emulator: Emulator, cli: Run, tmp_path: Path
) -> None:
    """Pins: `GENESYS_CLIENT_SECRET=wrong genesys-auth api ...` printed data and exited 0 with the token a
    run with the right secret had stored, for that token's whole lifetime."""
    assert cli("api", "/api/v2/organizations/me").returncode == 0
    env = {**genesys_emulator.env(), "GENESYS_CLIENT_SECRET": "not-the-secret"}
    wrong = run_cli("api", "/api/v2/organizations/me", env=env, cwd=tmp_path)
    assert (wrong.returncode, wrong.stdout) == (1, "")
    assert "invalid_client" in wrong.stderr and "not-the-secret" not in wrong.stderr
    assert cli("api", "/api/v2/organizations/me").returncode == 0  # the right secret still shares its stored token
    assert genesys_emulator.counters()["token_requests"] == 2
