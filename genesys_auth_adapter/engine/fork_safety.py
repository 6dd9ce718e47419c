"""Resetting live objects in a child process made by ``os.fork``.

A forked child starts with a copy of the parent's memory but only the thread that forked. A lock
that another parent thread held stays locked forever in the child, a token request that was in
flight never ends there, and pooled keep-alive sockets are shared with the parent (two processes
reading answers from one connection). Objects that hold such things register here; in the child,
``os.register_at_fork`` calls their ``after_fork_in_child()`` before any user code runs.

Registration holds only weak references, so it never keeps an object alive.
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Protocol

_log = logging.getLogger("genesys_auth_adapter.fork")


class ForkAware(Protocol):
    """An object with per-process state to reset in a forked child."""

    def after_fork_in_child(self) -> None:
        """Replace locks, drop in-flight work and pooled connections inherited from the parent."""


_live: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(obj: ForkAware) -> None:
    """Have ``obj.after_fork_in_child()`` called in every child forked from now on."""
    _live.add(obj)


def _reset_in_child() -> None:
    for obj in list(_live):
        try:
            obj.after_fork_in_child()
        except Exception:  # one object's failure must not leave the others unreset
            _log.exception("Resetting %s after fork failed.", type(obj).__name__)


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_reset_in_child)
