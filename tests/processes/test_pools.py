"""Errors, sessions and auth objects crossing process pools (spawn and fork), end to end against the emulator."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from genesys_auth_adapter import ApiError, GenesysAuth, RetryExhaustedError, from_env, session
from genesys_auth_adapter.emulator import Emulator

from . import workers
from .conftest import CHILD_TIMEOUT

pytestmark = pytest.mark.usefixtures("fork_allowed")

METHODS = ["spawn", "fork"]


@pytest.mark.parametrize("method", METHODS)
def test_an_api_error_in_a_multiprocessing_pool_reaches_the_caller_with_its_fields(emu: Emulator, method: str) -> None:
    """Pins: one 403 in a Pool worker used to kill the pool's result thread (it could not unpickle
    ApiError) and hang the pool forever; now the caller gets the ApiError with its fields."""
    with multiprocessing.get_context(method).Pool(1) as pool:
        pending = pool.apply_async(workers.fetch_roles, (emu.env(),))
        with pytest.raises(ApiError) as caught:
            pending.get(timeout=CHILD_TIMEOUT)
    error = caught.value
    assert error.status == 403
    assert error.code == "missing.permissions"
    assert error.correlation_id
    assert error.correlation_id in str(error)
    assert isinstance(error.body, dict) and error.body["status"] == 403


@pytest.mark.parametrize("method", METHODS)
def test_retries_running_out_in_a_process_pool_executor_is_not_a_broken_pool(emu: Emulator, method: str) -> None:
    """Pins: ProcessPoolExecutor raised BrokenProcessPool instead of the worker's RetryExhaustedError."""
    emu.fail_api_requests(100, status=503)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        future = pool.submit(workers.fetch_until_exhausted, emu.env())
        with pytest.raises(RetryExhaustedError) as caught:
            future.result(timeout=CHILD_TIMEOUT)
    error = caught.value
    assert error.attempts == 2
    assert error.last_status == 503
    assert len(error.history) == 2
    assert [attempt.status for attempt in error.history] == [503, 503]
    assert all("HTTP 503" in str(attempt) for attempt in error.history)


def test_a_session_pickled_to_a_spawned_worker_works_there(emu: Emulator) -> None:
    """Pins: a GenesysSession used to unpickle without base_url and fail on its first request."""
    spawn = multiprocessing.get_context("spawn")
    with session(from_env(emu.env(), use_dotenv=False), timeout=(5.0, 15.0)) as s, spawn.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(workers.use_session, (s,))
    assert result["status"] == 200
    assert result["base_url"] == emu.api_url
    assert result["url"] == emu.api_url + "/api/v2/organizations/me"
    # The worker's auth fetched its own token: the parent never asked for one.
    assert emu.counters()["token_requests"] == 1


def test_an_auth_pickled_to_a_spawned_worker_gets_its_own_token(emu: Emulator) -> None:
    """Pins: a GenesysAuth pickles to an equivalent auth (same credentials), with no token inside."""
    auth = GenesysAuth(from_env(emu.env(), use_dotenv=False))
    parent_header = auth.header()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        status = pool.apply(workers.use_auth, (auth, emu.api_url + "/api/v2/organizations/me"))
    assert status == 200
    assert emu.counters()["token_requests"] == 2  # the parent's and the worker's own
    assert auth.header() == parent_header  # the parent's token is untouched
    auth.close()
