"""The token request of one auth object's leader, made through a store (see :mod:`..shared`).

The asyncio form (``stores/_async/fetch.py``) is the source: ``stores/_sync/fetch.py`` is generated from it
by ``python scripts/make_sync.py``, which drops ``async``/``await`` and renames the asyncio names to their
thread forms (``AsyncTokenStore`` to ``TokenStore``, ``renewing_async`` to ``renewing``, ...).
"""

from __future__ import annotations

import logging

from ...engine.state import RefreshDeferred, TokenState, WaitTimeout
from ...engine.token import IssuedToken
from ..base import AsyncLease, AsyncTokenStore, StoreError
from ..renewal import renewing_async
from ..sharing import AsyncCall, AsyncFetch, Conversions, Outage, T

_log = logging.getLogger("genesys_auth_adapter.store")


class AsyncSharedFetch:
    """The token request of one auth object's leader, made through a store.

    Args:
        store: The shared store.
        key: This client's entry (:func:`~..base.store_key`).
        state: The auth's token state (its clock, offset, wait timeout and rejected tokens).
        fetch: Makes the actual token request.
        fetch_ahead: Makes a quick one (ahead of expiry).
        binding: This process's :func:`~..base.secret_binding`: entries with another are not used.
    """

    def __init__(
        self,
        store: AsyncTokenStore,
        key: str,
        state: TokenState,
        fetch: AsyncFetch,
        fetch_ahead: AsyncFetch,
        *,
        binding: str = "",
    ) -> None:
        self.store = store
        self.key = key
        self.binding = binding
        self._at = Conversions(state, key, binding)
        self._fetch = fetch
        self._fetch_ahead = fetch_ahead
        self._outage = Outage(store)
        self._forgotten: set[str] = set()
        #: Where the last token this process installed came from: "store" or "login".
        self.source = "login"

    async def _call(self, operation: AsyncCall[T], fallback: T) -> T:
        try:
            result = await operation()
        except StoreError as error:
            self._outage.failed(error)
            return fallback
        self._outage.worked()
        return result

    async def _forget_rejected(self) -> None:
        for token in self._at.rejected_tokens():
            if token not in self._forgotten and not self._outage.down:
                self._forgotten.add(token)
                await self._call(lambda token=token: self.store.delete_if(self._at.key, token), False)  # type: ignore[misc]

    async def _own(self, fetch: AsyncFetch, *, save: bool = True, lease: AsyncLease | None = None) -> IssuedToken:
        sent_wall = self._at.clock.wall()
        async with renewing_async(lease):
            issued = await fetch()
        if save:
            entry = self._at.stored(issued, sent_wall)
            await self._call(lambda: self.store.save(self._at.key, entry), None)
        self.source = "login"
        return issued

    def _found(self, issued: IssuedToken) -> IssuedToken:
        self.source = "store"
        _log.debug("Using the token the store holds for this client.")
        return issued

    async def fetch(self) -> IssuedToken:
        """A token for a caller that has none (missing, expired or rejected): from the store, or requested once."""
        at, key = self._at, self._at.key
        await self._forget_rejected()
        found = at.usable(await self._call(lambda: self.store.load(key), None))
        if found is not None:
            return self._found(found)
        if self._outage.down:
            return await self._own(self._fetch)
        # Half the wait for the lock, so that this process's own waiters (who wait wait_timeout for this
        # leader) still see its token request, or its clear error.
        wait = at.state.wait_timeout / 2
        try:
            lease = await self.store.acquire(key, wait=wait)
        except StoreError as error:
            self._outage.failed(error)
            return await self._own(self._fetch, save=False)
        try:
            found = at.usable(await self._call(lambda: self.store.load(key), None))
            if found is not None:
                return self._found(found)
            if lease is None:
                raise WaitTimeout(
                    f"Waited {wait:.0f} s for a token request made by another process through the token store; "
                    "the login service may be slow, or that process stuck. Raise wait_timeout or check the "
                    "other processes."
                )
            return await self._own(self._fetch, lease=lease)
        finally:
            if lease is not None:
                await self._call(lease.release, None)

    async def fetch_fresh(self) -> IssuedToken:
        """A token of this process's own token request, never a stored one (a re-send's token was rejected too).

        The stored token may have been minted just before the revocation that the request's first 401 told
        of, and stored just after it. Rejected tokens are still forgotten (compare-and-delete), and the token
        request is made under the fetch lock when it can be had within half of ``wait_timeout`` (else
        without it): processes waiting for the lock then take this token.
        """
        at, key = self._at, self._at.key
        await self._forget_rejected()
        if self._outage.down:
            return await self._own(self._fetch)
        try:
            lease = await self.store.acquire(key, wait=at.state.wait_timeout / 2)
        except StoreError as error:
            self._outage.failed(error)
            return await self._own(self._fetch, save=False)
        try:
            return await self._own(self._fetch, lease=lease)
        finally:
            if lease is not None:
                await self._call(lease.release, None)

    async def fetch_ahead(self) -> IssuedToken:
        """A newer token while the current one still works: another process's, or one quick request if
        no other process is making one (else :class:`~...engine.state.RefreshDeferred`)."""
        at, key = self._at, self._at.key
        later_than, mine = at.current_expiry(), at.current_token()
        stored = await self._call(lambda: self.store.load(key), None)
        found = at.usable(stored, later_than=later_than, not_token=mine)
        if found is not None:
            return self._found(found)
        if self._outage.down:
            return await self._own(self._fetch_ahead)
        try:
            lease = await self.store.acquire(key, wait=0)
        except StoreError as error:
            self._outage.failed(error)
            return await self._own(self._fetch_ahead, save=False)
        if lease is None:
            raise RefreshDeferred("another process is refreshing the shared token")
        try:
            stored = await self._call(lambda: self.store.load(key), None)
            found = at.usable(stored, later_than=later_than, not_token=mine)
            if found is not None:
                return self._found(found)
            return await self._own(self._fetch_ahead, lease=lease)
        finally:
            await self._call(lease.release, None)
