"""Cross-process single flight: a token request made through a store, so a fleet shares one token.

The in-process flight (:mod:`..engine.state`) already makes every thread and task of one process wait
for one leader. Its leader's fetch goes through :class:`SharedFetch` (threads) or
:class:`AsyncSharedFetch` (asyncio), which does the same across processes and hosts:

1. tell the store to forget any token this process saw rejected (compare-and-delete: only if the store
   still holds that very token);
2. use the stored token if it is usable and not one that was rejected;
3. otherwise take the store's fetch lock (waiting at most ``wait_timeout``), look again (another
   process may have stored a token meanwhile), and only then make the token request and store its
   answer.

Ahead of expiry, only one process refreshes: the others find the lock taken and keep their valid
token (:class:`~..engine.state.RefreshDeferred`), then pick up the new one from the store.

Every store failure (unreachable, slow, corrupt, unsafe) is a miss: the process makes its own token
request, warns once per outage, and returns to the store when it answers again. A request never fails
because of the cache. No store I/O happens while the in-memory token is fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
from collections.abc import Awaitable, Iterator
from typing import Callable, TypeVar

from ..engine.clock import Clock
from ..engine.skew import ClockOffset
from ..engine.state import RefreshDeferred, TokenState, WaitTimeout
from ..engine.token import IssuedToken, refresh_margin
from ..errors import ConfigurationError
from ..oauth import TokenRequest
from .base import (
    AsyncLease,
    AsyncTokenStore,
    Lease,
    StoredToken,
    StoreError,
    TokenStore,
    secret_binding,
    store_key,
)

_log = logging.getLogger("genesys_auth_adapter.store")

T = TypeVar("T")

#: A stored token with less than this many seconds left is never handed out, whatever its lifetime.
MIN_REMAINING = 1.0
#: Before this process has read the server's clock (no Date sample yet), a stored token's remaining
#: lifetime cannot be known, only guessed from the local clock: it is trusted for this long at most, and
#: looked at again (with the server's clock by then) when that runs out. Such a token is never handed
#: out of the library as it is: ``token()`` first verifies it with one request (see
#: ``TokenManager.verified``).
PROVISIONAL = 60.0


class _Outage:
    """Warns once when a store starts failing and says when it answers again."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.down = False

    def failed(self, error: BaseException) -> None:
        if not self.down:
            self.down = True
            _log.warning(
                "The token store %r is not usable (%s); this process uses its own tokens until it answers again.",
                self._store,
                error,
            )

    def worked(self) -> None:
        if self.down:
            self.down = False
            _log.warning("The token store %r answers again; tokens are shared again.", self._store)


class _Conversions:
    """Between a store's entries (server-clock expiry) and the engine's tokens (lifetimes)."""

    def __init__(self, state: TokenState, key: str, binding: str) -> None:
        self.state = state
        self.key = key
        self.binding = binding

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def offset(self) -> ClockOffset:
        return self.state.offset

    def rejected_tokens(self) -> list[str]:
        return [header.split(" ", 1)[-1] for header in self.state.rejected]

    def usable(
        self, stored: StoredToken | None, *, later_than: float | None = None, not_token: str | None = None
    ) -> IssuedToken | None:
        """The stored token as the engine takes it, or None when it is missing, rejected or due for a refresh.

        A stored token is handed out only while it is fresh by its own schedule (before its refresh margin,
        the same margin each process refreshes its own token by): a token that is already due would only
        make every process that takes it refresh at once.
        """
        if stored is None or stored.access_token in self.rejected_tokens() or stored.access_token == not_token:
            return None
        if not hmac.compare_digest(stored.binding.encode(), self.binding.encode()):  # another secret's token
            return None
        try:
            if stored.expires_at is None:
                return IssuedToken(stored.access_token, token_type=stored.token_type, stored=True)
            left = stored.expires_at - self.offset.server_time(self.clock.wall())
            lifetime = stored.expires_at - stored.issued_at
            due = max(MIN_REMAINING, refresh_margin(lifetime)) if lifetime > 0 else MIN_REMAINING
            if left <= due or (later_than is not None and stored.expires_at <= later_than):
                return None
            provisional = self.offset.estimate is None
            if provisional:
                left = min(left, due + PROVISIONAL)
            return IssuedToken(
                stored.access_token,
                expires_in=left,
                token_type=stored.token_type,
                provisional=provisional,
                stored=True,
            )
        except ValueError as exc:  # a value no header can carry: the entry is unusable, never a crash
            _log.warning("The token store's entry for this client is unusable (%s); a new token replaces it.", exc)
            return None

    def current_token(self) -> str | None:
        """The token this process holds, unless its lifetime was only a guess (then taking it again from
        the store, with the server's clock known by now, is how it gets its true lifetime)."""
        token = self.state.current
        if token is None or token.provisional:
            return None
        return token.access_token

    def current_expiry(self) -> float | None:
        """When the token this process holds expires, on the server's clock (None: unknown or none)."""
        token = self.state.current
        if token is None or token.expires_at is None:
            return None
        left = token.expires_at - self.clock.monotonic()
        return self.offset.server_time(self.clock.wall()) + left

    def stored(self, issued: IssuedToken, sent_wall: float) -> StoredToken:
        """The entry for a token just obtained; its lifetime counts from when the request was sent."""
        issued_at = self.offset.server_time(sent_wall)
        expires_at = None if issued.expires_in is None else issued_at + issued.expires_in
        return StoredToken(issued.access_token, issued.token_type, expires_at, issued_at, self.binding)


class SharedFetch:
    """The token request of one auth object's leader, made through a store (threads).

    Args:
        store: The shared store.
        key: This client's entry (:func:`~.base.store_key`).
        state: The auth's token state (its clock, offset, wait timeout and rejected tokens).
        fetch: Makes the actual token request.
        fetch_ahead: Makes a quick one (ahead of expiry).
        binding: This process's :func:`~.base.secret_binding`: entries with another are not used.
    """

    def __init__(
        self,
        store: TokenStore,
        key: str,
        state: TokenState,
        fetch: Callable[[], IssuedToken],
        fetch_ahead: Callable[[], IssuedToken],
        *,
        binding: str = "",
    ) -> None:
        self.store = store
        self.key = key
        self.binding = binding
        self._at = _Conversions(state, key, binding)
        self._fetch = fetch
        self._fetch_ahead = fetch_ahead
        self._outage = _Outage(store)
        self._forgotten: set[str] = set()
        #: Where the last token this process installed came from: "store" or "login".
        self.source = "login"

    def _call(self, operation: Callable[[], T], fallback: T) -> T:
        try:
            result = operation()
        except StoreError as error:
            self._outage.failed(error)
            return fallback
        self._outage.worked()
        return result

    def _forget_rejected(self) -> None:
        for token in self._at.rejected_tokens():
            if token not in self._forgotten and not self._outage.down:
                self._forgotten.add(token)
                self._call(lambda token=token: self.store.delete_if(self._at.key, token), False)  # type: ignore[misc]

    def _own(self, fetch: Callable[[], IssuedToken], *, save: bool = True, lease: Lease | None = None) -> IssuedToken:
        sent_wall = self._at.clock.wall()
        with _renewing(lease):
            issued = fetch()
        if save:
            entry = self._at.stored(issued, sent_wall)
            self._call(lambda: self.store.save(self._at.key, entry), None)
        self.source = "login"
        return issued

    def _found(self, issued: IssuedToken) -> IssuedToken:
        self.source = "store"
        _log.debug("Using the token the store holds for this client.")
        return issued

    def fetch(self) -> IssuedToken:
        """A token for a caller that has none (missing, expired or rejected): from the store, or requested once."""
        at, key = self._at, self._at.key
        self._forget_rejected()
        found = at.usable(self._call(lambda: self.store.load(key), None))
        if found is not None:
            return self._found(found)
        if self._outage.down:
            return self._own(self._fetch)
        # Half the wait for the lock, so that this process's own waiters (who wait wait_timeout for this
        # leader) still see its token request, or its clear error.
        wait = at.state.wait_timeout / 2
        try:
            lease = self.store.acquire(key, wait=wait)
        except StoreError as error:
            self._outage.failed(error)
            return self._own(self._fetch, save=False)
        try:
            found = at.usable(self._call(lambda: self.store.load(key), None))
            if found is not None:
                return self._found(found)
            if lease is None:
                raise WaitTimeout(
                    f"Waited {wait:.0f} s for a token request made by another process through the token store; "
                    "the login service may be slow, or that process stuck. Raise wait_timeout or check the "
                    "other processes."
                )
            return self._own(self._fetch, lease=lease)
        finally:
            if lease is not None:
                self._call(lease.release, None)

    def fetch_fresh(self) -> IssuedToken:
        """A token of this process's own token request, never a stored one (a re-send's token was rejected too).

        The stored token may have been minted just before the revocation that the request's first 401 told
        of, and stored just after it. Rejected tokens are still forgotten (compare-and-delete), and the token
        request is made under the fetch lock when it can be had within half of ``wait_timeout`` (else
        without it): processes waiting for the lock then take this token.
        """
        at, key = self._at, self._at.key
        self._forget_rejected()
        if self._outage.down:
            return self._own(self._fetch)
        try:
            lease = self.store.acquire(key, wait=at.state.wait_timeout / 2)
        except StoreError as error:
            self._outage.failed(error)
            return self._own(self._fetch, save=False)
        try:
            return self._own(self._fetch, lease=lease)
        finally:
            if lease is not None:
                self._call(lease.release, None)

    def fetch_ahead(self) -> IssuedToken:
        """A newer token while the current one still works: another process's, or one quick request if
        no other process is making one (else :class:`RefreshDeferred`)."""
        at, key = self._at, self._at.key
        later_than, mine = at.current_expiry(), at.current_token()
        found = at.usable(self._call(lambda: self.store.load(key), None), later_than=later_than, not_token=mine)
        if found is not None:
            return self._found(found)
        if self._outage.down:
            return self._own(self._fetch_ahead)
        try:
            lease = self.store.acquire(key, wait=0)
        except StoreError as error:
            self._outage.failed(error)
            return self._own(self._fetch_ahead, save=False)
        if lease is None:
            raise RefreshDeferred("another process is refreshing the shared token")
        try:
            found = at.usable(self._call(lambda: self.store.load(key), None), later_than=later_than, not_token=mine)
            if found is not None:
                return self._found(found)
            return self._own(self._fetch_ahead, lease=lease)
        finally:
            self._call(lease.release, None)


class AsyncSharedFetch:
    """The asyncio form of :class:`SharedFetch` (an :class:`AsyncTokenStore`; the event loop never blocks)."""

    def __init__(
        self,
        store: AsyncTokenStore,
        key: str,
        state: TokenState,
        fetch: Callable[[], Awaitable[IssuedToken]],
        fetch_ahead: Callable[[], Awaitable[IssuedToken]],
        *,
        binding: str = "",
    ) -> None:
        self.store = store
        self._at = _Conversions(state, key, binding)
        self._fetch = fetch
        self._fetch_ahead = fetch_ahead
        self._outage = _Outage(store)
        self._forgotten: set[str] = set()
        self.source = "login"

    async def _call(self, operation: Callable[[], Awaitable[T]], fallback: T) -> T:
        try:
            result = await operation()
        except StoreError as error:
            self._outage.failed(error)
            return fallback
        self._outage.worked()
        return result

    async def _own(
        self, fetch: Callable[[], Awaitable[IssuedToken]], *, save: bool = True, lease: AsyncLease | None = None
    ) -> IssuedToken:
        sent_wall = self._at.clock.wall()
        renewal = _renew_async(lease)
        try:
            issued = await fetch()
        finally:
            if renewal is not None:
                renewal.cancel()
        if save:
            entry = self._at.stored(issued, sent_wall)
            await self._call(lambda: self.store.save(self._at.key, entry), None)
        self.source = "login"
        return issued

    def _found(self, issued: IssuedToken) -> IssuedToken:
        self.source = "store"
        return issued

    async def _forget_rejected(self) -> None:
        for token in self._at.rejected_tokens():
            if token not in self._forgotten and not self._outage.down:
                self._forgotten.add(token)
                await self._call(lambda token=token: self.store.delete_if(self._at.key, token), False)  # type: ignore[misc]

    async def fetch(self) -> IssuedToken:
        """See :meth:`SharedFetch.fetch`."""
        at, key = self._at, self._at.key
        await self._forget_rejected()
        found = at.usable(await self._call(lambda: self.store.load(key), None))
        if found is not None:
            return self._found(found)
        if self._outage.down:
            return await self._own(self._fetch)
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
                    f"Waited {wait:.0f} s for a token request made by another process through the token "
                    "store; the login service may be slow, or that process stuck. Raise wait_timeout."
                )
            return await self._own(self._fetch, lease=lease)
        finally:
            if lease is not None:
                await self._call(lease.release, None)

    async def fetch_fresh(self) -> IssuedToken:
        """See :meth:`SharedFetch.fetch_fresh`."""
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
        """See :meth:`SharedFetch.fetch_ahead`."""
        at, key = self._at, self._at.key
        later_than, mine = at.current_expiry(), at.current_token()
        found = at.usable(await self._call(lambda: self.store.load(key), None), later_than=later_than, not_token=mine)
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
            found = at.usable(
                await self._call(lambda: self.store.load(key), None), later_than=later_than, not_token=mine
            )
            if found is not None:
                return self._found(found)
            return await self._own(self._fetch_ahead, lease=lease)
        finally:
            await self._call(lease.release, None)


@contextlib.contextmanager
def _renewing(lease: Lease | None) -> Iterator[None]:
    """Keep a lease that runs out on its own (Redis) alive while a token request goes on."""
    every = None if lease is None else lease.renew_every
    if lease is None or every is None:
        yield
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(every):
            try:
                lease.renew()
            except StoreError:  # the lease then runs out on its own; the fetch goes on
                return

    renewer = threading.Thread(target=renew, name="genesys-lease-renewal", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join(5)


def _renew_async(lease: AsyncLease | None) -> asyncio.Task[None] | None:
    """The asyncio form of :func:`_renewing`: a task, cancelled when the token request ends."""
    every = None if lease is None else lease.renew_every
    if lease is None or every is None:
        return None

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await lease.renew()
            except StoreError:
                return

    return asyncio.ensure_future(renew())


class ThreadedAsyncStore:
    """Any sync :class:`TokenStore` for asyncio code: each call runs in a worker thread."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    async def load(self, key: str) -> StoredToken | None:
        return await asyncio.to_thread(self.store.load, key)

    async def save(self, key: str, token: StoredToken) -> None:
        await asyncio.to_thread(self.store.save, key, token)

    async def delete_if(self, key: str, access_token: str) -> bool:
        return await asyncio.to_thread(self.store.delete_if, key, access_token)

    async def acquire(self, key: str, *, wait: float) -> _ThreadedLease | None:
        pending = asyncio.ensure_future(asyncio.to_thread(self.store.acquire, key, wait=wait))
        try:
            lease = await asyncio.shield(pending)
        except asyncio.CancelledError:
            # The worker thread may still take the lock: give it back then, or every process would wait.
            pending.add_done_callback(_release_late)
            raise
        return None if lease is None else _ThreadedLease(lease)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.store.close)

    def __repr__(self) -> str:
        return repr(self.store)


def _release_late(done: asyncio.Future[Lease | None]) -> None:
    if not done.cancelled() and done.exception() is None:
        lease = done.result()
        if lease is not None:
            lease.release()


class _ThreadedLease:
    def __init__(self, lease: Lease) -> None:
        self._lease = lease
        self.renew_every = lease.renew_every

    async def renew(self) -> None:
        await asyncio.to_thread(self._lease.renew)

    async def release(self) -> None:
        await asyncio.to_thread(self._lease.release)


def _request_of(source: object) -> TokenRequest | None:
    request_of = getattr(type(source), "token_request", None)
    request: TokenRequest | None = request_of(source) if callable(request_of) else None
    return request


def _identity(request: TokenRequest) -> tuple[str, str, str, str]:
    """(login URL, client id, grant, secret) of a token request."""
    form = dict(request.form)
    client_id, secret = request.basic if request.basic else (form.get("client_id", ""), request.secret)
    return request.url, client_id, form.get("grant_type", ""), secret


def source_key(source: object) -> str | None:
    """The store key of a token source, or None for one that makes no token request (an AccessToken)."""
    request = _request_of(source)
    if request is None:
        return None
    url, client_id, grant, _ = _identity(request)
    return store_key(url, client_id, grant)


def source_binding(source: object) -> str:
    """The :func:`~.base.secret_binding` of a token source's secret ("" for a source without one)."""
    request = _request_of(source)
    if request is None:
        return ""
    url, client_id, grant, secret = _identity(request)
    return secret_binding(url, client_id, grant, secret=secret)


def shared_fetch(
    store: TokenStore | None,
    source: object,
    state: TokenState,
    fetch: Callable[[], IssuedToken],
    fetch_ahead: Callable[[], IssuedToken],
) -> SharedFetch | None:
    """The cross-process fetch for ``source`` through ``store``, or None without a store.

    Raises:
        ConfigurationError: ``source`` makes no token request (an AccessToken): there is nothing to share.
    """
    if store is None:
        return None
    key = source_key(source)
    if key is None:
        raise ConfigurationError(
            "A token store shares tokens that the library requests (ClientCredentials); a token you supply "
            "yourself (AccessToken) is not stored. Drop store=, or use ClientCredentials."
        )
    return SharedFetch(store, key, state, fetch, fetch_ahead, binding=source_binding(source))
