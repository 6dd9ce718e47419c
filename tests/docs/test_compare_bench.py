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


def test_each_body_case_meets_a_real_401_and_the_file_is_re_sent_whole(compare: Any) -> None:
    """Pins: the file case sharing the generator case's client, which had dropped its token there, so the
    file's POST fetched a new token first and never met the 401 (1 send, no 401 in the table)."""
    library = next(lib for lib in compare.LIBRARIES if lib.key == "gaa")
    result = compare.run_pair(library, "body401", 1)
    stream, on_file = result["stream"], result["file"]
    assert (stream["sends"], stream["api_401"], stream["caller_error"]) == (1, 1, "UnreplayableBodyError")
    assert (on_file["sends"], on_file["api_401"], on_file["final_status"]) == (2, 1, 200)
    assert on_file["final_bytes"] == result["expected"] and on_file["caller_error"] is None


def test_the_httpx_front_end_is_timed_against_a_static_header_httpx_client(compare: Any) -> None:
    import compare_report

    library = next(lib for lib in compare.LIBRARIES if lib.key == "gaa-httpx")
    assert compare.BASELINES[library.baseline].setup.__name__ == "static_header_httpx"
    cost = {"wall_us": 2.0, "baseline_wall_us": 1.0, "wall_ratio": 2.0, "cpu_us": 2.0, "baseline_cpu_us": 1.0}
    data = {
        "machine": {"platform": "p", "cores": "2", "python": "3", "date": "d"},
        "reruns": {"gaa-httpx": {"platform": "p", "cores": "2", "python": "3", "date": "e", "workloads": "cost"}},
        "versions": {},
        "results": {"gaa-httpx": {"cost": {**cost, "cpu_ratio": 2.0, "baseline": library.baseline}}},
        "instructions": {
            "gaa-httpx": {
                "baseline": "httpx-static",
                "per_request": 2_000_000,
                "baseline_per_request": 1_000_000,
                "ratio": 2.0,
                "measured": {"date": "e"},
            }
        },
    }
    table = compare_report.markdown(data)
    assert f"| {library.label} | httpx.Client + static header | 2.0 | 1.0 | 2.00 |" in table
    assert f"| {library.label} | 2,000,000 | 1,000,000 (httpx-static) | 2.0000 | e |" in table
    assert f"{library.label} (per-request cost): measured on its own" in table
