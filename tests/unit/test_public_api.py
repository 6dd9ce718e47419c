"""The public surface: one sorted __all__, and one exception tree under requests.RequestException."""

from __future__ import annotations

import inspect
import types

import pytest
import requests

import genesys_auth_adapter
from genesys_auth_adapter import engine, errors


def test_all_is_sorted_unique_and_resolves() -> None:
    """Pins: every exported name exists, is listed once, and the list is kept in sorted() order."""
    names = list(genesys_auth_adapter.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert [name for name in names if not hasattr(genesys_auth_adapter, name)] == []


def test_public_names_are_exported_once() -> None:
    """Pins: the engine re-exporting names the package exports too (STYLE: exported once)."""
    assert not hasattr(engine, "__all__")
    assert [
        name
        for name, value in vars(engine).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    ] == []
    assert {"Token", "LoginClient", "RetryPolicy", "IssuedToken"} <= set(genesys_auth_adapter.__all__)


def test_every_public_class_and_function_of_the_package_is_exported() -> None:
    """Pins: nothing imported into the package namespace for users is left out of __all__."""
    package = genesys_auth_adapter
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", "").startswith("genesys_auth_adapter")
    }
    assert public <= set(package.__all__)


def _exception_classes() -> list[type[BaseException]]:
    return [
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, BaseException) and value.__module__ == errors.__name__
    ]


def test_the_errors_module_defines_exceptions() -> None:
    """Pins: the introspection below is not vacuous."""
    assert {cls.__name__ for cls in _exception_classes()} >= {
        "GenesysError",
        "ConfigurationError",
        "TokenRequestError",
        "TokenWaitTimeout",
        "ApiError",
        "RateLimitedError",
        "UnreplayableBodyError",
        "RetryExhaustedError",
    }


@pytest.mark.parametrize("cls", _exception_classes(), ids=lambda cls: cls.__name__)
def test_every_exception_subclasses_requests_exception(cls: type[BaseException]) -> None:
    """Pins: one `except requests.RequestException` catches everything the library raises on purpose."""
    assert issubclass(cls, requests.RequestException)
    assert issubclass(cls, errors.GenesysError)
    assert cls.__name__ in (errors.__doc__ or ""), "the tree in the module docstring is out of date"


def test_exception_tree_shape() -> None:
    """Pins the documented tree: the specific parents each error promises."""
    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.TokenWaitTimeout, errors.TokenRequestError)
    assert issubclass(errors.RateLimitedError, errors.ApiError)
    assert issubclass(errors.UnreplayableBodyError, requests.exceptions.UnrewindableBodyError)


def test_exceptions_do_not_shadow_builtins() -> None:
    """Pins: no library error is named like a builtin (TimeoutError, ConnectionError...)."""
    import builtins

    assert [cls.__name__ for cls in _exception_classes() if hasattr(builtins, cls.__name__)] == []
