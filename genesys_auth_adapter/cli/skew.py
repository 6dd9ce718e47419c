"""``genesys-auth skew``: measure the offset between this machine's clock and the Genesys servers'."""

from __future__ import annotations

import argparse
import math
import sys
import time

from ..engine.skew import ClockOffset, OffsetEstimate, parse_http_date
from ..errors import GenesysError, error_from_response
from ..session import GenesysSession
from . import common
from .common import EXIT_OK, REQUEST_TIMEOUT

#: A cheap authenticated request whose answer carries a Date header.
PROBE = "/api/v2/tokens/me"
#: Offsets below this many seconds need no action.
FINE = 1.0
#: Offsets above this many seconds deserve fixing the local clock.
FIX = 5.0
# Time left to get ready before an aimed send.
_LEAD = 0.05

DESCRIPTION = f"""\
Send HEAD {PROBE} a few times and read the server's Date header against this machine's clock. Date has
whole seconds only, so each send is timed to land where the server's second should change: every sample
halves the interval the offset lies in, down to about the round-trip time."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``skew`` subcommand."""
    parser = subcommands.add_parser(
        "skew",
        help="measure the clock offset between this machine and the Genesys servers",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--samples",
        type=common.bounded(int, 1, 64, "a whole number"),
        default=8,
        metavar="N",
        help="requests to send, 1 to 64 (default: 8)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth skew``."""
    # The library warns about large offsets on its own; here the report says it, with advice.
    with common.quiet("genesys_auth_adapter.skew"), common.api_session() as s:
        estimate = measure(s, args.samples)
    print(describe(estimate, args.samples))
    print(advice(estimate))
    sys.stdout.flush()
    return EXIT_OK


def measure(s: GenesysSession, samples: int) -> OffsetEstimate:
    """Take ``samples`` Date samples through ``s`` and return the ``server - local`` estimate.

    Raises:
        ApiError: The probe was answered with an error status.
        GenesysError: A response had no usable Date header.
    """
    # Get the token first, so that no sample's round trip includes a token request.
    s.genesys_auth.token()
    offset = ClockOffset()
    round_trip = 0.0
    for _ in range(samples):
        estimate = offset.estimate
        if estimate is not None:
            _sleep_until(_aim(estimate.offset, round_trip))
        sent = time.time()
        response = s.head(PROBE, timeout=REQUEST_TIMEOUT)
        received = time.time()
        if response.status_code >= 400:
            raise error_from_response(response)
        date = response.headers.get("Date")
        if date is None or parse_http_date(date) is None:
            raise GenesysError(f"HEAD {PROBE} answered without a usable Date header ({date!r}).", response=response)
        offset.observe_date_header(date, sent, received)
        round_trip = received - sent
    estimate = offset.estimate
    assert estimate is not None
    return estimate


def _aim(offset: float, round_trip: float) -> float:
    """The local time to send at so that the server stamps its Date where its second should change.

    If the true offset is above the current estimate, the Date shows the new second and raises the
    lower bound to about the estimate; otherwise it lowers the upper bound: a bisection.
    """
    now = time.time()
    boundary = math.ceil(now + _LEAD + round_trip / 2 + offset)
    return boundary - offset - round_trip / 2


def _sleep_until(moment: float) -> None:
    # One second at most: a wall-clock step while waiting must not stall the command.
    time.sleep(min(1.0 + _LEAD, max(0.0, moment - time.time())))


def describe(estimate: OffsetEstimate, samples: int) -> str:
    """``server clock is 1.234 s ahead of this machine (±0.005 s, 8 samples)``."""
    direction = "ahead of" if estimate.offset >= 0 else "behind"
    return (
        f"server clock is {abs(estimate.offset):.3f} s {direction} this machine "
        f"(±{estimate.uncertainty:.3f} s, {samples} sample{'s' if samples != 1 else ''})"
    )


def advice(estimate: OffsetEstimate) -> str:
    """What to do about the offset."""
    size = abs(estimate.offset)
    if size < FINE:
        text = "That is fine: nothing to do."
    elif size <= FIX:
        text = "Token expiry is unaffected (monotonic); a clock this far off is worth checking (NTP)."
    else:
        text = "Token expiry is unaffected (monotonic), but fix NTP: timestamps in your exports will be off."
    if estimate.uncertainty > FINE:
        text += " The network is slow, so the measurement is coarse: more --samples narrow it."
    return text
