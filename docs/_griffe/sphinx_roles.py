"""A griffe extension for the docs build: Sphinx roles in the library's docstrings become cross-references.

The docstrings are Google style but name other objects the Sphinx way (``:class:`~genesys_auth_adapter.GenesysAuth```,
``:meth:`obtain```, ``:mod:`.shared```), which mkdocstrings would print literally. Once the package is loaded,
each role is rewritten:

- a target that resolves to an object the API reference shows becomes a link (``[`GenesysAuth`][path]``);
- a target that resolves to an internal object (not in the reference) or to another library becomes code;
- a target that resolves to nothing stays a link to the name as written, so ``mkdocs build --strict`` fails on
  it as a broken reference.

Options (``mkdocs.yml``): ``documented``, the modules whose pages render their public members, and ``extra``,
further objects a page renders by their own path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|data|mod|attr|exc|obj):`(?P<tilde>~?)(?P<target>[\w.]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in docstrings as autorefs cross-references or code."""

    def __init__(self, documented: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
        super().__init__()
        self._documented = tuple(documented)
        self._extra = tuple(extra)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """griffe 1.14 and later."""
        self._rewrite(pkg)

    def on_package_loaded(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """griffe before 1.14 (the rewrite is idempotent, so a griffe that calls both does no harm)."""
        self._rewrite(pkg)

    def _rewrite(self, pkg: griffe.Module) -> None:
        collection = pkg.modules_collection
        linkable = self._linkable(collection)
        everything = list(_walk(pkg))
        for obj in everything:
            docstring = obj.docstring
            if docstring is None or ":`" not in docstring.value:
                continue

            def replace(match: re.Match[str], obj: griffe.Object = obj) -> str:
                target = match.group("target")
                shown = target.lstrip(".").rsplit(".", 1)[-1] if match.group("tilde") else target.lstrip(".")
                found = _resolve(obj, target, collection, everything)
                if found is None:
                    return f"[`{shown}`][{target}]"  # broken: autorefs reports it, --strict fails
                path = _canonical(found)
                if path is not None and path in linkable:
                    return f"[`{shown}`][{path}]"
                return f"`{shown}`"

            docstring.value = _ROLE.sub(replace, docstring.value)

    def _linkable(self, collection: Any) -> set[str]:
        """Canonical paths of every object the API reference pages render."""
        paths: set[str] = set()
        for name in self._extra:
            paths.update(_with_members(collection[name]))
        for name in self._documented:
            module = collection[name]
            paths.add(module.path)
            exports = module.exports
            for member_name, member in module.members.items():
                public = member_name in exports if exports is not None else member.is_public
                if not public or member.is_module:
                    continue
                paths.update(_with_members(member))
        return paths


def _with_members(obj: griffe.Object | griffe.Alias) -> Iterator[str]:
    """An object's canonical path and those of its documented public members (a class's methods)."""
    target = _final(obj)
    if target is None or not target.has_docstring:
        return
    yield target.path
    if target.is_class:
        for name, member in target.members.items():
            member_target = _final(member)
            if not name.startswith("_") and member_target is not None and member_target.has_docstring:
                yield member_target.path


def _walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _final(obj: griffe.Object | griffe.Alias) -> griffe.Object | None:
    if not obj.is_alias:
        return obj  # type: ignore[return-value]
    try:
        return obj.final_target  # type: ignore[union-attr]
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None  # an import from another library


def _canonical(obj: griffe.Object | griffe.Alias) -> str | None:
    target = _final(obj)
    return None if target is None else target.path


def _lookup(scope: griffe.Object | Any, name: str) -> griffe.Object | griffe.Alias | None:
    try:
        found: griffe.Object | griffe.Alias = scope[name]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return found


def _resolve(
    obj: griffe.Object, target: str, collection: Any, everything: list[griffe.Object]
) -> griffe.Object | griffe.Alias | None:
    """Find ``target`` as Sphinx would from a docstring of ``obj``."""
    if target.startswith("."):
        # Relative, as in an import: one dot is the current package, each further dot one level up.
        module = obj.module
        base: griffe.Object | None = module if module.is_init_module else module.parent
        dots = len(target) - len(target.lstrip("."))
        for _ in range(dots - 1):
            base = base.parent if base is not None else None
        if base is not None:
            found = _lookup(base, target.lstrip("."))
            if found is not None:
                return found
        suffix = "." + target.lstrip(".")
        matches = {o.path for o in everything if o.path.endswith(suffix)}
        return collection[matches.pop()] if len(matches) == 1 else None
    # The object's own members, then its class, module and packages, then the name as an absolute path.
    scope: griffe.Object | None = obj
    while scope is not None:
        found = _lookup(scope, target)
        if found is not None:
            return found
        scope = scope.parent
    return _lookup(collection, target)
