"""A token pool: the token state of one auth object holding several tokens of one OAuth client.

Genesys limits requests per token (``client.credentials.token.rate.per.minute``); its own Terraform
provider keeps a pool of tokens because "each token will have its own rate limit". A pool of ``size``
*slots* lets one client go faster than one token's budget without several auth objects or OAuth clients:

- slot 0 is the auth's own token (its :class:`~.manager.TokenManager` and :class:`~.aio.AsyncTokens`);
- slots 1 to ``size - 1`` are opened only by pacing (:mod:`.paced`), when a reservation on every open
  token would wait longer than ``PacingPolicy.pool_after``: a slot is a :class:`~.state.TokenState` of its
  own, with its thread and asyncio drivers, made by the front end's ``open_slot`` (its token requests go
  through the slot's own store key: one token per slot for a whole fleet, minted through the same single
  flight and login-throttle handling as the main token);
- each slot's token is used for its whole lifetime and refreshed ahead of expiry like the main token; a
  401 on slot ``k`` drops and replaces slot ``k``'s token only.

No I/O here: :meth:`TokenPool.held` is a lock-free read, and the token requests are the slot drivers'.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from .aio import AsyncTokens
from .manager import TokenManager
from .token import Token

#: The most slots a pool may have (Genesys' Terraform provider defaults to 10).
MAX_POOL = 32
_REMEMBERED = 64  # headers remembered for slot_of (a few per slot)


@dataclass(frozen=True)
class PoolSlot:
    """The drivers of one slot's token state: threads, and asyncio (None for a front end without it)."""

    manager: TokenManager
    tokens: AsyncTokens | None = None


OpenSlot = Callable[[int], PoolSlot]


class TokenPool:
    """Up to ``size`` tokens of one client: slot 0 the auth's own, the others opened on demand.

    Args:
        size: How many slots (1 to :data:`MAX_POOL`).
        main: Slot 0's drivers (the auth's own token).
        open_slot: Makes the drivers of slot ``k`` (no I/O: its first token is requested when it is asked for).
    """

    def __init__(self, size: int, main: PoolSlot, open_slot: OpenSlot) -> None:
        self.size = size
        self._open_slot = open_slot
        self._slots: list[PoolSlot | None] = [main] + [None] * (size - 1)
        self._lock = threading.Lock()
        self._owners: dict[str, int] = {}

    def held(self, slot: int) -> str | None:
        """The header of slot ``slot``'s token when it is open and fresh, with no I/O; else None."""
        drivers = self._slots[slot]
        if drivers is None:
            return None
        return drivers.manager.state.fresh_header()

    @property
    def opened(self) -> int:
        """How many slots this process has opened (slot 0 included)."""
        return sum(1 for drivers in self._slots if drivers is not None)

    def header(self, slot: int) -> str:
        """The header of a usable token of slot ``slot``, opening the slot (a token request) if needed."""
        header = self._drivers(slot).manager.header()
        self._remember(header, slot)
        return header

    async def aheader(self, slot: int) -> str:
        """As :meth:`header`, for asyncio tasks."""
        header = await self._async(slot).header()
        self._remember(header, slot)
        return header

    def rejected(self, slot: int, header: str, after: float | None = None) -> Token:
        """The API rejected slot ``slot``'s ``header``: its replacement (that slot only)."""
        token = self._drivers(slot).manager.rejected(header, after)
        self._remember(token.header, slot)
        return token

    async def arejected(self, slot: int, header: str, after: float | None = None) -> Token:
        """As :meth:`rejected`, for asyncio tasks."""
        token = await self._async(slot).rejected(header, after)
        self._remember(token.header, slot)
        return token

    def discard(self, slot: int, header: str) -> None:
        """Drop slot ``slot``'s token if it is still the one that carried ``header``."""
        self._drivers(slot).manager.discard(header)

    def slot_of(self, header: str) -> int:
        """The slot whose token carried ``header`` (0 when it is not a pool token this process knows)."""
        return self._owners.get(header, 0)

    def after_fork_in_child(self) -> None:
        """A forked child gets a fresh lock (the slots' token states reset themselves)."""
        self._lock = threading.Lock()

    def _drivers(self, slot: int) -> PoolSlot:
        if not 0 <= slot < self.size:
            raise IndexError(f"a pool of {self.size} has no slot {slot}")
        drivers = self._slots[slot]
        if drivers is None:
            with self._lock:
                drivers = self._slots[slot]
                if drivers is None:
                    drivers = self._slots[slot] = self._open_slot(slot)
        return drivers

    def _async(self, slot: int) -> AsyncTokens:
        tokens = self._drivers(slot).tokens
        if tokens is None:
            raise TypeError("this auth object's token pool has no asyncio drivers")
        return tokens

    def _remember(self, header: str, slot: int) -> None:
        if slot and header not in self._owners:
            if len(self._owners) >= _REMEMBERED:
                self._owners.clear()
            self._owners[header] = slot

    def __repr__(self) -> str:
        return f"TokenPool({self.opened} of {self.size} slots open)"
