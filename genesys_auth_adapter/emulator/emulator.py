"""The :class:`Emulator`: three local origins (login, API, storage) sharing one :class:`EmulatorState`."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from . import data
from .api import ApiApp
from .clients import DEFAULT_REDIRECT_URIS, grant_config, grant_env
from .control import ControlApp
from .faults import TOKEN_STATUSES, FaultStatus, make_fault
from .hold import TokenHold
from .login import LoginApp
from .server import Origin
from .state import EmulatorState
from .storage import StorageApp

#: Seconds stop() waits for each origin's threads.
_STOP_TIMEOUT = 2.0


class Emulator:
    """A local emulator of Genesys Cloud CX, for tests and manual runs.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. Faults, clock skew, token lifetime
    and delays can be changed while it runs, from Python or through ``/_emulator/`` on the API origin.

    Args:
        client_id: The one OAuth client id the login origin accepts.
        client_secret: Its secret.
        token_lifetime: ``expires_in`` of issued tokens, 1 to 172800 seconds; the server enforces it by its
            own clock.
        skew: Server clock minus local clock, in seconds, at most ten years either way (Date headers, JWT
            claims, expiry, Retry-After dates).
        jwt: Issue HS256 JWTs (claims in server time) instead of opaque tokens.
        rate_limit: API requests per window per token before a 429; 0 disables the per-token limit.
        rate_window: The rate-limit window, in seconds (above 0, at most 3600): Genesys' limits are per
            minute (60); tests shorten it. See :mod:`.ratelimit` for the model.
        endpoint_limits: Requests per window for every request under a path prefix, counted for the whole
            organization (all tokens together), e.g. ``{"/api/v2/analytics/conversations/details/query": 10}``.
        rate_limit_details: Put the ``limit`` object (``key``, ``namespace``, ``value``) in the body of a
            429 from these limits, as Genesys may; False leaves it out, as Genesys may too.
        users: How many synthetic users exist (at most 100000).
        host: The address to listen on.
        port: 0 for three ephemeral ports; N for login on N, API on N+1, storage on N+2.
        redirect_uris: The redirect URIs registered for the code and PKCE clients.
        consent: How ``/oauth/authorize`` answers: ``auto`` (consent at once), ``form`` (an HTML form with
            Allow and Deny) or ``deny`` (``error=access_denied``).
        loopback_any_port: A registered loopback redirect URI matches the same URI on any port (RFC 8252);
            False: exact match only.
        pkce_refresh_tokens: Give the PKCE client refresh tokens too (off: as Genesys is taken to do).
        idle_timeout: Seconds a user token may stay unused before it gets 401; None (default) leaves idle
            expiry off. Any value above 0 up to 28800 here (short ones for tests); the API's ``PUT
            /api/v2/tokens/timeout`` keeps Genesys' 300 to 28800.
        login_user: The synthetic user (index) the code, PKCE and SAML2 clients act for.

    Raises:
        ValueError: On a setting outside its range (a NaN or infinite number included) or a bad port; the
            message names the setting and its range.
    """

    def __init__(
        self,
        client_id: str = "emulator-client",
        client_secret: str = "emulator-secret",
        token_lifetime: int = 86399,
        skew: float = 0.0,
        jwt: bool = False,
        rate_limit: int = 300,
        users: int = 57,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_window: float = 60.0,
        endpoint_limits: Mapping[str, int] | None = None,
        rate_limit_details: bool = True,
        redirect_uris: Sequence[str] = DEFAULT_REDIRECT_URIS,
        consent: str = "auto",
        loopback_any_port: bool = True,
        pkce_refresh_tokens: bool = False,
        idle_timeout: float | None = None,
        login_user: int = 0,
    ) -> None:
        if not 0 <= port <= 65535 - 2:
            raise ValueError(f"port must be 0 or a port with two free ports above it, not {port}")
        self._grants = grant_config(redirect_uris, consent, loopback_any_port, pkce_refresh_tokens, login_user)
        self._state = EmulatorState(
            client_id=client_id,
            client_secret=client_secret,
            token_lifetime=token_lifetime,
            skew=skew,
            use_jwt=jwt,
            rate_limit=rate_limit,
            users=users,
            rate_window=rate_window,
            endpoint_limits=endpoint_limits,
            rate_limit_details=rate_limit_details,
            idle_timeout=idle_timeout,
        )
        self._host = host
        self._port = port
        self._url_key = secrets.token_bytes(32)
        # Guards start/stop only; the emulated service's state has its own lock in EmulatorState.
        self._lifecycle = threading.Lock()
        self._origins: tuple[Origin, Origin, Origin] | None = None
        self._urls: tuple[str, str, str] | None = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    def __repr__(self) -> str:
        where = f"api_url={self.api_url!r}" if self.running else "stopped"
        return f"Emulator(client_id={self._state.client_id!r}, client_secret='***', {where})"

    # Lifecycle.

    def start(self) -> Emulator:
        """Binds the three ports and starts serving; does nothing when already running.

        Returns:
            The emulator itself.

        Raises:
            OSError: When a port cannot be bound (nothing is left listening then).
        """
        with self._lifecycle:
            if self._origins is not None:
                return self
            stopping = threading.Event()
            origins = self._build_origins(stopping)
            try:
                for offset, origin in enumerate(origins):
                    origin.bind(self._host, self._port + offset if self._port else 0)
            except OSError:
                for origin in origins:
                    origin.stop(0.0)
                raise
            for origin in origins:
                origin.start()
            self._origins, self._stopping = origins, stopping
            # Kept after stop(), so that a test can still aim a client at a stopped emulator.
            self._urls = (origins[0].url, origins[1].url, origins[2].url)
            self._stopped.clear()
        return self

    def _build_origins(self, stopping: threading.Event) -> tuple[Origin, Origin, Origin]:
        """Wires the apps to the state and to each other's URLs (read at request time, once bound)."""
        state = self._state
        storage = StorageApp(state, self._url_key)
        login_app = LoginApp(state, lambda: login.url, stopping, self._grants)
        login = Origin("login", login_app, state.now, self._counter("login"))
        storage_origin = Origin("storage", storage, state.now, self._counter("storage"))
        api = Origin(
            "api",
            ApiApp(
                state,
                lambda download: storage.signed_url(storage_origin.url, download),
                ControlApp(state),
                self._grants,
            ),
            state.now,
            self._counter("api"),
        )
        return login, api, storage_origin

    def _counter(self, origin: str) -> Callable[[], None]:
        name = f"{origin}_connections"
        return lambda: self._state.count(name)

    def stop(self) -> None:
        """Stops serving: ends open connections, frees the ports, joins the threads. Idempotent, bounded."""
        with self._lifecycle:
            origins, self._origins = self._origins, None
            if origins is None:
                return
            # Wakes any token request sleeping in a token delay.
            self._stopping.set()
            # In parallel: each origin's serve loop takes up to one poll interval to notice.
            stoppers = [
                threading.Thread(target=origin.stop, args=(_STOP_TIMEOUT,), name=f"genesys-emulator-stop-{origin.name}")
                for origin in origins
            ]
            for stopper in stoppers:
                stopper.start()
            for stopper in stoppers:
                stopper.join()
            self._stopped.set()

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._origins is not None

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Blocks until the emulator is stopped (by another thread) or ``timeout`` passes.

        Returns:
            Whether it is stopped.
        """
        return self._stopped.wait(timeout)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Where it listens.

    def _url(self, index: int) -> str:
        urls = self._urls
        if urls is None:
            raise RuntimeError("the emulator has not been started: call start() or use it in a with block")
        return urls[index]

    @property
    def login_url(self) -> str:
        """The login origin, ``http://host:port`` without a trailing slash (kept after stop())."""
        return self._url(0)

    @property
    def api_url(self) -> str:
        """The API origin, ``http://host:port`` without a trailing slash (kept after stop())."""
        return self._url(1)

    @property
    def storage_url(self) -> str:
        """The storage origin, ``http://host:port`` without a trailing slash (kept after stop())."""
        return self._url(2)

    def env(self, grant: str | None = None) -> dict[str, str]:
        """Returns the environment variables that point a client at this emulator.

        Args:
            grant: None for the client-credentials client (``GENESYS_CLIENT_ID``, ``GENESYS_CLIENT_SECRET``,
                ``GENESYS_LOGIN_URL``, ``GENESYS_API_URL``); ``"code"``, ``"pkce"`` or ``"saml2"`` for the
                user client of that grant: its id, its secret (not for PKCE), the URLs, ``GENESYS_GRANT``,
                ``GENESYS_REDIRECT_URI`` (code, PKCE), ``GENESYS_ORG_NAME`` and ``GENESYS_SAML2_ASSERTION``
                (SAML2).

        Raises:
            ValueError: On another grant.
        """
        urls = {"GENESYS_LOGIN_URL": self.login_url, "GENESYS_API_URL": self.api_url}
        if grant is None:
            return {
                "GENESYS_CLIENT_ID": self._state.client_id,
                "GENESYS_CLIENT_SECRET": self._state.client_secret,
                **urls,
            }
        return {**grant_env(self._grants, grant), **urls}

    def saml_assertion(self) -> str:
        """The one SAML2 assertion (base64) the SAML2 bearer grant accepts: it names :attr:`login_user`."""
        return self._grants.saml_assertion

    @property
    def login_user(self) -> dict[str, Any]:
        """The synthetic user the code, PKCE and SAML2 clients act for (what ``/api/v2/users/me`` answers)."""
        return data.user(self._grants.clients["code"].user)

    # Tokens, faults and clocks.

    def revoke_all(self) -> None:
        """Invalidates every access token issued so far: each gets 401 on its next use.

        Refresh tokens stay valid, so a user client recovers by refreshing (see
        :meth:`revoke_refresh_tokens`).
        """
        self._state.revoke_all()

    def revoke(self, token: str) -> None:
        """Invalidates one token (the bare token, or its ``Authorization`` value): it gets 401 on its next use."""
        self._state.revoke(token.split(" ", 1)[-1])

    def revoke_refresh_tokens(self) -> None:
        """Invalidates every refresh token issued so far: each gets ``invalid_grant`` (a logout everywhere).

        Access tokens keep working until they expire or :meth:`revoke_all`.
        """
        self._state.grants.revoke_refresh_tokens()

    def hold_next_refresh(self) -> TokenHold:
        """Holds the answer to the next ``refresh_token`` request, after its rotation, until ``release()``.

        When ``wait_minted(timeout)`` returns True the presented refresh token has already been retired and
        the new access and refresh tokens exist; the client has not received them. An answer never
        released goes out after 30 s. Set before the refresh is sent; it does not hold other grants.
        """
        return self._state.grants.hold_next_refresh()

    def set_idle_timeout(self, seconds: float | None) -> None:
        """Sets the organization's idle timeout for user tokens (None: off), above 0 and at most 28800 s.

        Raises:
            ValueError: When ``seconds`` is out of range.
        """
        self._state.grants.set_idle_timeout(seconds)

    def reject_all_tokens(self, reject: bool = True) -> None:
        """Makes every token, including newly issued ones, get 401 (a revoked grant); False undoes it."""
        self._state.reject_all_tokens(reject)

    def fail_token_requests(
        self,
        n: int,
        status: FaultStatus = 429,
        retry_after: float | None = 1,
        *,
        retry_after_date: bool = False,
        error: str | None = None,
        description: str | None = None,
    ) -> None:
        """Makes the next ``n`` ``POST /oauth/token`` requests fail (0 clears a pending fault).

        ``status=400`` is how Genesys' login service throttles: ``{"error": "invalid_request",
        "description": "rate limit exceeded; ..."}`` (``error_description`` too), with Retry-After
        unless ``retry_after`` is None. Give ``error`` and ``description`` for any other OAuth error,
        e.g. ``error="invalid_client"``.

        Args:
            n: How many requests fail.
            status: 400, 429, 500, 502, 503, 504, or ``"drop"`` (read the request, close without answering).
            retry_after: Retry-After seconds, 0 to 86400 (rounded up); None omits the header.
            retry_after_date: Send Retry-After as an HTTP-date in server time.
            error: The OAuth error of a 400; ``invalid_request`` (the throttle) by default.
            description: The description of a 400; "rate limit exceeded; ..." by default.

        Raises:
            ValueError: On another status, a negative ``n``, a ``retry_after`` out of range, or an
                ``error``/``description`` with a status other than 400.
        """
        fault = make_fault(
            status,
            retry_after,
            retry_after_date=retry_after_date,
            allowed=TOKEN_STATUSES,
            error=error,
            description=description,
        )
        self._state.set_token_fault(n, fault)

    def fail_api_requests(
        self,
        n: int,
        status: FaultStatus = 503,
        retry_after: float | None = None,
        paths: Iterable[str] | None = None,
        *,
        retry_after_date: bool = False,
    ) -> None:
        """Makes the next ``n`` API requests (those under one of ``paths``, if given) fail.

        Args:
            n: How many requests fail (0 clears a pending fault).
            status: 429, a 5xx code, or ``"drop"``: the request is read in full and counted, then the
                connection is closed without an answer.
            retry_after: Retry-After seconds, 0 to 86400 (rounded up); None omits the header.
            paths: Path prefixes, e.g. ``["/api/v2/users"]``; None hits every API request.
            retry_after_date: Send Retry-After as an HTTP-date in server time.

        Raises:
            ValueError: On another status, a negative ``n`` or a ``retry_after`` out of range.
        """
        fault = make_fault(status, retry_after, retry_after_date=retry_after_date, paths=paths)
        self._state.set_api_fault(n, fault)

    def hold_next_token(self) -> TokenHold:
        """Holds the answer to the next token request, once its token is minted, until ``release()``.

        A revocation meanwhile (:meth:`revoke_all`) revokes that token too: the client receives a token
        minted just before the revocation, just after it. ``wait_minted(timeout)`` says when the token
        exists. An answer never released goes out after 30 s.
        """
        return self._state.hold_next_token()

    def rotate_secret(self, secret: str) -> None:
        """Replaces the client secret: the old one is refused from now on; issued tokens keep working."""
        self._state.client_secret = secret

    def set_token_delay(self, seconds: float) -> None:
        """Makes the login service wait ``seconds`` (0 to 600) before answering each token request.

        Raises:
            ValueError: When ``seconds`` is not a finite number in that range.
        """
        self._state.set_token_delay(seconds)

    def set_skew(self, seconds: float) -> None:
        """Sets the server clock to local time plus ``seconds`` (jump it forward to expire tokens).

        Raises:
            ValueError: When ``seconds`` is not a finite number within ten years (315360000 s) either way.
        """
        self._state.set_skew(seconds)

    def set_token_lifetime(self, seconds: int) -> None:
        """Sets ``expires_in`` for tokens issued from now on.

        Raises:
            ValueError: When ``seconds`` is not a whole number from 1 to 172800 (Genesys' maximum).
        """
        self._state.set_token_lifetime(seconds)

    def set_rate_limit(self, requests: int) -> None:
        """Sets the per-token limit: ``requests`` per window (0: none). Every window starts afresh.

        Raises:
            ValueError: When ``requests`` is not a whole number from 0 to 10**9.
        """
        self._state.set_rate_limits(per_token=requests)

    def set_rate_window(self, seconds: float) -> None:
        """Sets the window of every rate limit, in seconds (Genesys': 60). Every window starts afresh.

        Raises:
            ValueError: When ``seconds`` is not a finite number above 0 and at most 3600.
        """
        self._state.set_rate_limits(window=seconds)

    def set_endpoint_limits(self, limits: Mapping[str, int]) -> None:
        """Replaces the endpoint limits (``{}`` removes them): requests per window per organization, by prefix.

        Raises:
            ValueError: On a prefix not under ``/api/v2/`` or a count that is not a whole number from 1.
        """
        self._state.set_rate_limits(endpoints=limits)

    def set_rate_limit_details(self, include: bool) -> None:
        """Puts the ``limit`` object in rate-limit 429 bodies (True, the default) or leaves it out."""
        self._state.set_rate_limit_details(include)

    def server_time(self) -> float:
        """Returns the server clock: ``time.time()`` plus the skew."""
        return self._state.now()

    # Observation.

    def counters(self) -> dict[str, Any]:
        """Returns a JSON-serialisable snapshot of the counters."""
        return self._state.counters()

    def requests(self) -> list[dict[str, Any]]:
        """Returns the last 1000 API-origin requests (control requests excluded), oldest first."""
        return self._state.requests()

    def reset_counters(self) -> None:
        """Zeroes the counters and empties the request log."""
        self._state.reset_counters()
