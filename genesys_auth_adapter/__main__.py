"""``python -m genesys_auth_adapter``: the ``genesys-auth`` command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
