"""Building an auth object's pacing from its options and token store (the front ends share this)."""

from __future__ import annotations

import dataclasses
from typing import Union

from ..engine.clock import Clock
from ..engine.pacer import Pacer
from ..engine.pacing import PacingPolicy
from ..engine.slots import Pacing
from ..errors import ConfigurationError
from .base import TokenStore
from .budget import FallbackBudgetStore, ThreadedAsyncBudgetStore

#: What ``pacing=`` accepts: True (learn budgets from 429s, the default), False (never pace), or a policy.
PacingSpec = Union[bool, PacingPolicy, None]


def pacing_policy(pacing: PacingSpec, rate_limit: int | None) -> PacingPolicy | None:
    """The policy for ``pacing=`` and ``rate_limit=`` (requests per minute per token), or None for no pacing.

    Raises:
        ConfigurationError: A rate limit that is not a whole number >= 1, or one given with ``pacing=False``.
    """
    if rate_limit is not None and (isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or rate_limit < 1):
        raise ConfigurationError(
            f"rate_limit is the requests per minute one token may send (a whole number >= 1, such as 300), "
            f"not {rate_limit!r}"
        )
    if pacing is False:
        if rate_limit is not None:
            raise ConfigurationError("rate_limit= needs pacing: leave pacing= at its default (True)")
        return None
    if pacing is None or pacing is True:
        policy = PacingPolicy()
    elif isinstance(pacing, PacingPolicy):
        policy = pacing
    else:
        raise ConfigurationError(f"pacing= takes True, False or a PacingPolicy, not {type(pacing).__name__}")
    if rate_limit is not None:
        policy = dataclasses.replace(policy, budget=rate_limit, window=60.0)
    return policy


def build_pacing(policy: PacingPolicy, store: TokenStore | None, scope: str, clock: Clock, *, pool: int = 1) -> Pacing:
    """The pacer of one auth object, and its budget store: the token store's when it has one, shared by the fleet.

    A shared budget store that fails paces this process on its own, with one warning (see
    :class:`~.budget.FallbackBudgetStore`). ``pool`` is the size of the auth's token pool (the front end
    sets :attr:`~..engine.slots.Pacing.pool` when it is more than 1).
    """
    opener = getattr(store, "budgets", None)
    pacer = Pacer(clock, policy, scope=scope, shared=callable(opener), pool=pool)
    if not callable(opener):
        return Pacing(pacer, pacer.local, ThreadedAsyncBudgetStore(pacer.local))
    shared = FallbackBudgetStore(opener(), pacer.local, clock=clock)
    return Pacing(pacer, shared, ThreadedAsyncBudgetStore(shared))
