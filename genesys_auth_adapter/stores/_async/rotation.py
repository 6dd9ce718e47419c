"""Refresh-token rotation: the refresh token read, used and replaced in the store, under its fetch lock.

The asyncio form is the source; ``_sync/rotation.py`` is generated from it by ``python scripts/make_sync.py``.
:class:`AsyncRotation` is what a user grant's fetch does. It takes the store's fetch lock of the login's
refresh entry itself (the :class:`~..base.Lease` of :attr:`~..base.StoreIdentity.refresh_key`, renewed while a
refresh goes on), so a refresh is exclusive whoever calls it: the cross-process fetch holding the access
token's lock (so the processes waiting there find the new token and make no request), or a path that could
not have that lock. Across threads, tasks, processes and hosts one refresh happens at a time, it presents the
newest refresh token the store holds (see :mod:`..lineage`), and it stores the one that replaces it before
the lock is given back. Without the lock (a store that does not answer) no refresh token is presented. A
refused refresh token leaves a tombstone and raises :class:`~...errors.LoginRequiredError`, so no process
tries it again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from ...engine.state import RefreshDeferred, TokenState, WaitTimeout
from ...engine.token import IssuedToken, refresh_margin
from ...errors import LoginRequiredError, TokenRequestError
from .. import lineage
from ..base import AsyncTokenStore, StoredToken, StoreError, StoreIdentity
from ..lineage import AsyncInfo, AsyncPost, Ended, Presented
from ..renewal import renewing_async

_log = logging.getLogger("genesys_auth_adapter.store")

#: A token that idles out in no more than this many seconds is refreshed rather than kept (a refresh takes
#: a moment, and the callers holding the token go on using it meanwhile).
IDLE_KEEP = 30.0


class AsyncRotation:
    """One user grant's refresh tokens in one store.

    Args:
        store: The store; its fetch lock of the refresh entry is taken around every read-use-replace.
        source: The token source: ``refresh_request()``, ``initial_refresh_token()``, ``token_request()`` and
            optionally ``login_at``.
        identity: The source's :class:`~..base.StoreIdentity`.
        state: The auth's token state (its current token, for an idle check ahead of a refresh).
        post: Sends a token request and parses the answer; ``post_ahead`` the quick one.
        info: Reads ``GET /api/v2/tokens/me?preserveIdleTTL=true`` for an access token (idle deadline).
    """

    def __init__(
        self,
        store: AsyncTokenStore,
        source: Any,
        identity: StoreIdentity,
        state: TokenState,
        post: AsyncPost,
        post_ahead: AsyncPost,
        info: AsyncInfo | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.identity = identity
        self.key = identity.refresh_key
        self.binding = identity.binding()
        self.state = state
        self._post = post
        self._post_ahead = post_ahead
        self._info = info
        # A refresh token the store failed to take, and the one it replaced (see _successor).
        self._unsaved: tuple[str, str] | None = None

    async def grant(self) -> IssuedToken:
        """A new access token from the lineage's refresh token (or the source's own grant), under the lock.

        Raises:
            LoginRequiredError: No login is stored, it ended, or its refresh token was refused.
            TokenRequestError: The token request failed, or the store cannot be used.
            WaitTimeout: Another process's refresh held the lock for half of ``wait_timeout``.
        """
        async with self._locked(self.state.wait_timeout / 2):
            return await self._grant(self._post)

    async def grant_ahead(self) -> IssuedToken:
        """A newer token ahead of expiry, or ahead of idling out: under the lock, one quick attempt.

        A token that is due only because it would idle out is first looked at (``preserveIdleTTL``): if
        its requests have kept it alive, it is handed back with its new idle deadline, and nothing is
        refreshed. If another process is refreshing, :class:`~...engine.state.RefreshDeferred`.
        """
        current = self.state.current
        if current is not None and self._info is not None:
            now = self.state.clock.monotonic()
            left = None if current.expires_at is None else current.expires_at - now
            lifetime = None if current.expires_at is None else current.expires_at - current.obtained_at
            if left is None or lifetime is None or left > refresh_margin(lifetime):
                info = await self._info(current.access_token)
                if info.alive and info.idles_in is not None and info.idles_in > IDLE_KEEP:
                    return IssuedToken(
                        current.access_token,
                        expires_in=left,
                        token_type=current.header.split(" ", 1)[0].lower(),
                        stored=True,  # not minted now: a re-send after a 401 must not take it as new
                        idles_in=info.idles_in,
                    )
        async with self._locked(0.0):
            return await self._grant(self._post_ahead)

    @contextlib.asynccontextmanager
    async def _locked(self, wait: float) -> AsyncIterator[None]:
        """Hold the refresh entry's fetch lock (renewed while the block runs), or raise."""
        try:
            lease = await self.store.acquire(self.key, wait=wait)
        except StoreError as error:
            raise TokenRequestError(
                f"The token store keeps this login's refresh token and cannot be locked ({error}); no refresh is "
                "attempted, so that no process presents a refresh token another has already replaced."
            ) from None
        if lease is None:
            if wait <= 0:
                raise RefreshDeferred("another process is refreshing the login")
            raise WaitTimeout(
                f"Waited {wait:.0f} s for another process's refresh of this login (it holds the token store's "
                "lock); the login service may be slow, or that process stuck. Raise wait_timeout."
            )
        try:
            async with renewing_async(lease):
                yield
        finally:
            try:
                await lease.release()
            except StoreError as error:  # a lease runs out on its own; a file lock dies with its descriptor
                _log.debug("Releasing the refresh lock failed (%s).", error)

    async def _grant(self, post: AsyncPost) -> IssuedToken:
        choice = lineage.choose(
            await self._load(),
            self.binding,
            self.source.initial_refresh_token(),
            float(getattr(self.source, "login_at", 0.0)),
        )
        if isinstance(choice, Ended):
            raise self._ended(choice)
        if isinstance(choice, Presented):
            presented = self._successor(choice)
            try:
                issued = await post(self.source.refresh_request(presented.refresh_token))
            except TokenRequestError as error:
                if error.error != "invalid_grant":
                    raise
                await self._save(lineage.tombstone(lineage.REFUSED, presented.login_at, self.binding), None)
                fallback = self.source.token_request()
                if fallback is None:
                    raise self._refused(error) from None
                _log.info("The refresh token was refused; getting a token with the grant itself.")
                return await self._own_grant(post, fallback)
            new = issued.refresh_token or presented.refresh_token
            await self._save(lineage.refresh_entry(new, presented.login_at, self.binding), presented.refresh_token)
            return await self._with_idle(replace(issued, refresh_token=None))
        request = self.source.token_request()
        if request is None:
            raise LoginRequiredError(
                f"No login is stored for the OAuth client {self.identity.client_id}: run `genesys-auth login` "
                "(or login_with_browser()), with the same token store."
            )
        return await self._own_grant(post, request)

    async def _own_grant(self, post: AsyncPost, request: Any) -> IssuedToken:
        """The source's own grant (a SAML2 assertion); a refresh token in its answer starts a lineage."""
        login_at = time.time()
        issued = await post(request)
        if issued.refresh_token:
            await self._save(lineage.refresh_entry(issued.refresh_token, login_at, self.binding), None)
        return await self._with_idle(replace(issued, refresh_token=None))

    async def _with_idle(self, issued: IssuedToken) -> IssuedToken:
        if self._info is None:
            return issued
        info = await self._info(issued.access_token)
        return issued if info.idles_in is None else replace(issued, idles_in=info.idles_in)

    def _successor(self, presented: Presented) -> Presented:
        """The refresh token that replaced ``presented`` when the store failed to take it (this process's
        own last refresh); otherwise ``presented`` itself."""
        unsaved = self._unsaved
        if unsaved is not None and presented.stored and presented.refresh_token == unsaved[0]:
            return replace(presented, refresh_token=unsaved[1])
        return presented

    async def _load(self) -> StoredToken | None:
        try:
            return await self.store.load(self.key)
        except StoreError as error:
            # Not a miss: presenting a refresh token the store may already have replaced would end the login.
            raise TokenRequestError(
                f"The token store keeps this login's refresh token and cannot be read ({error}); no refresh is "
                "attempted, so that no process presents a refresh token another has already replaced."
            ) from None

    async def _save(self, entry: StoredToken, replaced: str | None) -> None:
        try:
            await self.store.save(self.key, entry)
        except StoreError as error:
            _log.warning(
                "The token store did not take the new refresh token (%s); this process keeps it and uses it "
                "next, but other processes will be asked to log in again if the store stays out.",
                error,
            )
            if replaced is not None:
                self._unsaved = (replaced, entry.access_token)
            return
        self._unsaved = None

    async def seed(self, initial: IssuedToken | None, server_now: float) -> bool:
        """Put the source's own login into the store unless the store holds one as recent (under the lock).

        A login without a refresh token (PKCE, where the login service gives none) still ends an older
        lineage: its access token is stored, and the older refresh token is not used again.

        Args:
            initial: The login's access token (stored too, so other processes start with it).
            server_now: The time on the server's clock now (for the access token's expiry).

        Returns:
            True when the login was stored; False when the store's is as recent or later (or ended).
        """
        async with self._locked(self.state.wait_timeout / 2):
            return await self._seed(initial, server_now)

    async def _seed(self, initial: IssuedToken | None, server_now: float) -> bool:
        login_at = float(getattr(self.source, "login_at", 0.0))
        choice = lineage.choose(await self._load(), self.binding, self.source.initial_refresh_token(), login_at)
        if isinstance(choice, Ended) or (isinstance(choice, Presented) and choice.stored):
            return False
        if isinstance(choice, Presented):
            await self._save(lineage.refresh_entry(choice.refresh_token, login_at, self.binding), None)
        elif initial is not None:
            await self._save(lineage.tombstone(lineage.NO_REFRESH, login_at, self.binding), None)
        else:
            return False
        if initial is not None:
            expires_at = None if initial.expires_in is None else server_now + initial.expires_in
            entry = StoredToken(initial.access_token, initial.token_type, expires_at, server_now, self.binding)
            try:
                await self.store.save(self.identity.key, entry)
            except StoreError as error:
                _log.warning("The token store did not take the login's access token (%s).", error)
        return True

    async def forget(self, access_token: str | None) -> None:
        """End the login in the store (a logout): a tombstone for the refresh token, the access token dropped."""
        async with self._locked(self.state.wait_timeout / 2):
            await self._save(lineage.tombstone(lineage.LOGGED_OUT, time.time(), self.binding), None)
        if access_token is not None:
            try:
                await self.store.delete_if(self.identity.key, access_token)
            except StoreError as error:
                _log.warning("The token store did not drop the logged-out access token (%s).", error)

    def _ended(self, ended: Ended) -> LoginRequiredError:
        what = {
            lineage.LOGGED_OUT: "was logged out",
            lineage.REFUSED: "was refused by the login service (its refresh token expired or was revoked)",
            lineage.NO_REFRESH: "came without a refresh token (the login service gives none to this client) and its "
            "access token has expired",
        }.get(ended.kind, "has ended")
        return LoginRequiredError(
            f"The login for the OAuth client {self.identity.client_id} {what}: run `genesys-auth login` "
            "(or login_with_browser()) again."
        )

    def _refused(self, error: TokenRequestError) -> LoginRequiredError:
        return LoginRequiredError(
            f"The refresh token of the OAuth client {self.identity.client_id} was refused (invalid_grant: it "
            "expired, was revoked, or the user logged out or changed their password): run `genesys-auth login` "
            "(or login_with_browser()) again.",
            status=error.status,
            error=error.error,
            description=error.description,
            correlation_id=error.correlation_id,
        )
