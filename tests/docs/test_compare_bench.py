"""A smoke test of bench/compare.py: one real (library, workload) pair in its own process, and the table."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def compare() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        import compare as module

        yield module
    finally:
        # compare.py puts bench/ on the path itself; its generic module names must not outlive the test.
        sys.path[:] = [entry for entry in sys.path if entry != str(BENCH)]
        for name in ("compare", "compare_libs", "compare_report"):
            sys.modules.pop(name, None)


def test_revocation_pair_counts_one_token_request_and_no_errors(compare: Any) -> None:
    library = next(lib for lib in compare.LIBRARIES if lib.key == "gaa")
    result = compare.run_pair(library, "revocation", 1)
    assert result == {"token_requests": 1, "errors": 0, "api_401": result["api_401"], "error_kinds": []}
    assert 1 <= result["api_401"] <= compare.THREADS


def test_table_shows_na_with_its_reason_and_never_a_figure(compare: Any) -> None:
    import compare_report

    sdk = next(lib for lib in compare.LIBRARIES if lib.key == "sdk")
    data = {
        "machine": {"platform": "p", "cores": "2", "python": "3", "date": "d"},
        "versions": {},
        "results": {"sdk": {"body401": {"na": sdk.no_stream}}},
    }
    table = compare_report.markdown(data)
    assert f"| {sdk.label} | n/a: call_api sends json.dumps(body): no generator or file body |" in table
    gaa = next(lib for lib in compare.LIBRARIES if lib.key == "gaa")
    assert f"| {gaa.label} | not run |" in table


def test_a_row_measured_on_its_own_says_when_and_under_what_load(compare: Any) -> None:
    """Pins: a partial run (``--only``) stamping its date on rows it did not measure."""
    import compare_report

    data = {
        "machine": {"platform": "p", "cores": "2", "python": "3", "date": "first"},
        "reruns": {"sdk-gaa": {"platform": "p", "cores": "2", "python": "3", "date": "later", "load": "7.5"}},
        "versions": {},
        "results": {},
    }
    table = compare_report.markdown(data)
    assert "Measured on p, 2 cores, Python 3, first." in table
    assert (
        "official SDK + genesys-auth-adapter api_client(): measured on its own, on p, 2 cores, load average 7.5 over"
        " the last 5 minutes, Python 3, later."
    ) in table
