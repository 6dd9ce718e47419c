"""The cross-process fetch, one form per package: ``_async`` is written by hand and ``_sync`` is generated
from it by ``scripts/make_sync.py`` (see the development guide)."""
