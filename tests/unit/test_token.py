"""Token values: refresh margins, monotonic deadlines, JWT claims and redacted reprs."""

from __future__ import annotations

import warnings
from email.utils import formatdate

import jwt
import pytest

from genesys_auth_adapter.engine.clock import ManualClock
from genesys_auth_adapter.engine.manager import TokenManager
from genesys_auth_adapter.engine.skew import ClockOffset
from genesys_auth_adapter.engine.token import Freshness, IssuedToken, build_token, jwt_claims, refresh_margin

from .fakes import FakeFetch

SECRET_TOKEN = "opaque-token-Zq9xK2"


def make_jwt(**claims: float) -> str:
    """A signed JWT; the key is irrelevant (claims are read unverified), so PyJWT's short-key warning is muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # InsecureKeyLengthWarning on PyJWT >= 2.10
        return jwt.encode(dict(claims), "k", algorithm="HS256")


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [(3.0, 1.5), (300.0, 30.0), (600.0, 60.0), (86400.0, 300.0), (172800.0, 300.0)],
)
def test_refresh_margin(lifetime: float, margin: float) -> None:
    """Pins the margin rule: a tenth of the lifetime, at least min(30 s, half), at most 5 minutes."""
    assert refresh_margin(lifetime) == pytest.approx(margin)


def test_opaque_token_deadlines_count_from_the_monotonic_send_time() -> None:
    """Pins: expiry = send time + expires_in; refresh = expiry - margin; header is 'Bearer <token>'."""
    token = build_token(
        IssuedToken(SECRET_TOKEN, expires_in=300.0, date=None),
        generation=1,
        sent_monotonic=50.0,
        sent_wall=1_700_000_000.0,
        received_wall=1_700_000_001.0,
        offset=ClockOffset(),
    )
    assert token.expires_at == 350.0
    assert token.refresh_at == 320.0
    assert token.obtained_at == 50.0
    assert token.header == f"Bearer {SECRET_TOKEN}"
    assert token.claims is None
    assert token.freshness(319.9) is Freshness.FRESH
    assert token.freshness(320.0) is Freshness.STALE
    assert token.freshness(350.0) is Freshness.INVALID
    assert token.remaining(100.0) == 250.0


@pytest.mark.parametrize(("token_type", "scheme"), [("bearer", "Bearer"), ("BEARER", "Bearer"), ("", "Bearer")])
def test_header_scheme_is_bearer(token_type: str, scheme: str) -> None:
    """Pins: Genesys' lower-case 'bearer' (or no type) becomes the conventional 'Bearer' scheme."""
    token = build_token(
        IssuedToken("t", token_type=token_type),
        generation=1,
        sent_monotonic=0.0,
        sent_wall=0.0,
        received_wall=0.0,
        offset=ClockOffset(),
    )
    assert token.header == f"{scheme} t"


def test_a_token_without_expiry_stays_fresh() -> None:
    """Pins: no expires_in and no JWT means 'valid until rejected', never a refresh loop."""
    token = build_token(
        IssuedToken("t"), generation=1, sent_monotonic=0.0, sent_wall=0.0, received_wall=0.0, offset=ClockOffset()
    )
    assert token.expires_at is None and token.refresh_at is None
    assert token.freshness(10.0**9) is Freshness.FRESH
    assert token.remaining(5.0) is None


def test_expiry_is_anchored_at_send_time_not_receive_time(clock: ManualClock) -> None:
    """Pins: a slow token response (7 s) does not make the token look valid longer than it is."""
    fetch = FakeFetch(clock, expires_in=300.0, round_trip=7.0)
    manager = TokenManager(fetch, clock=clock)
    sent = clock.monotonic()
    token = manager.token()
    assert clock.monotonic() == sent + 7.0
    assert token.obtained_at == sent
    assert token.expires_at == sent + 300.0


@pytest.mark.parametrize("step", [86400.0, -86400.0])
def test_a_wall_clock_jump_changes_nothing(clock: ManualClock, step: float) -> None:
    """Pins: deadlines live on the monotonic clock, so an NTP step neither expires nor extends a token."""
    fetch = FakeFetch(clock, expires_in=300.0)
    manager = TokenManager(fetch, clock=clock)
    token = manager.token()
    clock.jump_wall(step)
    assert manager.header() == token.header
    assert token.freshness(clock.monotonic()) is Freshness.FRESH
    assert fetch.calls == 1
    clock.advance(271.0)  # past refresh_at = 300 - 30: only real elapsed time counts
    assert token.freshness(clock.monotonic()) is Freshness.STALE


def test_jwt_lifetime_uses_server_claims_under_a_skewed_local_clock() -> None:
    """Pins: exp is read in server time; a local clock 5000 s behind neither shortens nor extends it.

    Lifetime is min(expires_in, exp - iat), less at most the 1 s resolution of iat.
    """
    local_wall = 1_700_000_000.0
    iat = local_wall + 5000.0  # the server clock is 5000 s ahead
    offset = ClockOffset()
    token = build_token(
        IssuedToken(make_jwt(iat=iat, exp=iat + 600), expires_in=86400.0, minted_now=True),
        generation=1,
        sent_monotonic=10.0,
        sent_wall=local_wall,
        received_wall=local_wall + 0.05,
        offset=offset,
    )
    assert token.expires_at is not None
    lifetime = token.expires_at - 10.0
    assert 599.0 <= lifetime <= 600.0
    assert token.claims is not None and token.claims["exp"] == iat + 600


def test_jwt_lifetime_is_expires_in_when_that_is_shorter() -> None:
    """Pins: the shortest of expires_in and exp - iat wins."""
    local_wall = 1_700_000_000.0
    iat = local_wall - 7200.0  # the server clock is two hours behind
    token = build_token(
        IssuedToken(make_jwt(iat=iat, exp=iat + 3600), expires_in=300.0, minted_now=True),
        generation=1,
        sent_monotonic=10.0,
        sent_wall=local_wall,
        received_wall=local_wall,
        offset=ClockOffset(),
    )
    assert token.expires_at == 310.0
    assert token.refresh_at == 280.0


def test_jwt_iat_feeds_the_clock_offset() -> None:
    """Pins: a JWT's iat is a server-clock sample, even without a Date header."""
    local_wall = 1_700_000_000.0
    offset = ClockOffset()
    build_token(
        IssuedToken(make_jwt(iat=local_wall + 5000, exp=local_wall + 5600), minted_now=True),
        generation=1,
        sent_monotonic=10.0,
        sent_wall=local_wall,
        received_wall=local_wall + 0.1,
        offset=offset,
    )
    estimate = offset.estimate
    assert estimate is not None
    assert estimate.low <= 5000.0 <= estimate.high
    assert estimate.uncertainty <= 0.6


def test_an_old_jwt_iat_does_not_override_a_known_clock_offset() -> None:
    """Pins: a JWT minted 50 minutes before it was handed over (AccessToken) keeps its real 10 minutes.

    The Date header already says the clocks agree; the token's iat is old, not a clock reading, so it
    must not re-anchor the offset to -3000 s and stretch the remaining lifetime to about exp - iat.
    """
    wall = 1_700_000_000.0
    offset = ClockOffset()
    offset.observe_date_header(formatdate(wall, usegmt=True), wall - 0.1, wall + 0.1)
    token = build_token(
        IssuedToken(make_jwt(iat=wall - 3000, exp=wall + 600)),
        generation=1,
        sent_monotonic=10.0,
        sent_wall=wall,
        received_wall=wall,
        offset=offset,
    )
    assert token.expires_at is not None
    assert token.expires_at - 10.0 <= 601.0
    assert offset.estimate is not None
    assert offset.estimate.low <= 0.0 <= offset.estimate.high


def test_token_response_date_feeds_the_clock_offset() -> None:
    """Pins: the Date header of the token response is a clock sample too."""
    offset = ClockOffset()
    build_token(
        IssuedToken("t", date="Tue, 14 Nov 2023 22:13:20 GMT"),  # 1_700_000_000
        generation=1,
        sent_monotonic=0.0,
        sent_wall=1_700_000_000.0 - 42.0,
        received_wall=1_700_000_000.0 - 42.0,
        offset=offset,
    )
    assert offset.estimate is not None
    assert offset.estimate.low <= 42.0 <= offset.estimate.high


@pytest.mark.parametrize("value", [SECRET_TOKEN, "eyJhbGciOi.not-base64.x", "a.b.c", "eyJ.only-two"])
def test_opaque_or_malformed_tokens_have_no_claims(value: str) -> None:
    """Pins: Genesys tokens are opaque; anything that is not a decodable JWT gives None, not an error."""
    assert jwt_claims(value) is None


def test_jwt_claims_decodes_without_verifying() -> None:
    """Pins: the signature key is unknown to the client; claims are read anyway."""
    claims = jwt_claims(make_jwt(iat=1.0, exp=2.0))
    assert claims == {"iat": 1.0, "exp": 2.0}


def test_reprs_never_contain_the_token() -> None:
    """Pins: logging a token value (repr) must not leak the bearer token or its header."""
    issued = IssuedToken(SECRET_TOKEN, expires_in=300.0)
    token = build_token(
        issued, generation=3, sent_monotonic=0.0, sent_wall=0.0, received_wall=0.0, offset=ClockOffset()
    )
    for text in (repr(issued), str(issued), repr(token), str(token)):
        assert SECRET_TOKEN not in text
    assert "generation=3" in repr(token)


def test_a_jwt_token_repr_hides_the_claims_too() -> None:
    """Pins: JWT claims (often the subject and org) stay out of repr along with the token."""
    value = make_jwt(iat=1.0, exp=2.0, sub=1234567.0)
    token = build_token(
        IssuedToken(value), generation=1, sent_monotonic=0.0, sent_wall=0.0, received_wall=0.0, offset=ClockOffset()
    )
    assert value not in repr(token)
    assert "1234567" not in repr(token)


@pytest.mark.parametrize(("access_token", "expires_in"), [("", 300.0), ("   ", 300.0), ("t", 0.0), ("t", -1.0)])
def test_issued_token_rejects_empty_tokens_and_non_positive_lifetimes(access_token: str, expires_in: float) -> None:
    """Pins: a broken token answer fails where it is parsed, not later as a mystery 401."""
    with pytest.raises(ValueError):
        IssuedToken(access_token, expires_in=expires_in)


def test_jwt_exp_is_ignored_until_the_server_clock_is_known() -> None:
    """Pins: exp compared with a local clock 10 minutes fast, killing a token with 5 minutes left.

    With no clock sample yet (a token handed over, no Date header), exp cannot be placed on the local
    clock, so it sets no deadline; expires_in, when given, still does.
    """
    local_wall = 1_700_000_000.0
    server_now = local_wall - 600.0  # the local clock is 10 minutes fast
    jwt_token = make_jwt(iat=server_now - 3300, exp=server_now + 300)
    unknown = build_token(
        IssuedToken(jwt_token),
        generation=1,
        sent_monotonic=10.0,
        sent_wall=local_wall,
        received_wall=local_wall,
        offset=ClockOffset(),
    )
    assert unknown.expires_at is None
    assert unknown.freshness(10.0) is Freshness.FRESH
    known = ClockOffset()
    known.observe(server_now, 1.0, local_wall - 0.1, local_wall + 0.1)
    placed = build_token(
        IssuedToken(jwt_token),
        generation=1,
        sent_monotonic=10.0,
        sent_wall=local_wall,
        received_wall=local_wall,
        offset=known,
    )
    assert placed.expires_at is not None
    assert 298.0 <= placed.expires_at - 10.0 <= 300.0


@pytest.mark.parametrize("bad", ["two\nlines", "with space", "tab\there", "", "caf\u00e9"])
def test_tokens_that_cannot_be_a_header_value_are_refused_without_being_quoted(bad: str) -> None:
    """Pins: http.client's ValueError quoting the whole Authorization header, token included."""
    with pytest.raises(ValueError) as caught:
        IssuedToken(bad)
    assert bad not in str(caught.value) or bad == ""
