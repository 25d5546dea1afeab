"""Check-in rates: per member, and per client address with scripted runs flagged (docs/decisions/0051).

Both check-in POSTs (today's check-in and a make-up) count. ``CHECKIN_RATE_LIMIT`` bounds one
member; ``CHECKIN_IP_RATE_LIMIT`` bounds one client address (a script cycling through many
accounts from one machine: the issue's "1,000 check-ins from one IP in a minute"). Past the
address's rate the request is refused (429) AND every member who checked in from that address
in the window, plus the one refused, gets an open ``checkin_burst`` risk flag for an operator
(``accounts.services.risk_flag_raise``). A shared address (an office, a carrier's NAT) that
merely passes the rate with real members flags them too: the flag is for review, it takes
nothing away.

The members seen per address are a short list in the cache (at most ``SEEN_MAX`` ids, for one
window); while Redis is down it is kept per process like the counters (docs/decisions/0036).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from accounts import services as accounts_services
from accounts.enums import RiskReason
from pointsmall.kernel.ratelimit import RateLimitedError, client_network, rate_hit, rate_seconds

GROUP = "tasks.checkin"
IP_GROUP = "tasks.checkin.ip"
# Members remembered per address and window: enough to flag a script's accounts, bounded per key.
SEEN_MAX = 200


def _seen_key(network: str) -> str:
    return f"pm:checkin:ip-members:{network}"


def _flagged_key(network: str) -> str:
    return f"pm:checkin:ip-flagged:{network}"


def checkin_rate_hit(*, request: HttpRequest, user_id: int) -> None:
    """Count one check-in POST by ``user_id``, then (if the member is within their own rate) from
    the request's address; raise RateLimitedError (429) past either rate, before anything is
    written. Past the address's rate, flag the members checking in from it (one open flag per
    member; repeated refusals write nothing more). Writes the counters and the seen list in the
    cache, and risk flags in the database."""
    # The member's own rate first: one account repeating its click is refused here and never
    # counts against its address, so it cannot get the neighbours on a shared address (an office,
    # a campus, a carrier's NAT) refused and flagged (found by review, docs/decisions/0051).
    rate_hit(request, group=GROUP, key="user", rate=settings.CHECKIN_RATE_LIMIT)
    rate = settings.CHECKIN_IP_RATE_LIMIT
    network = client_network(request)
    if rate and network:
        window = rate_seconds(rate)
        try:
            rate_hit(request, group=IP_GROUP, key="ip", rate=rate)
        except RateLimitedError:
            _flag(network=network, user_id=user_id, rate=rate, window=window)
            raise
        seen = cache.get(_seen_key(network)) or []
        if user_id not in seen and len(seen) < SEEN_MAX:
            cache.set(_seen_key(network), [*seen, user_id], timeout=window)


def _flag(*, network: str, user_id: int, rate: str, window: int) -> None:
    involved = {user_id, *(cache.get(_seen_key(network)) or [])}
    flagged = set(cache.get(_flagged_key(network)) or [])
    new = involved - flagged
    if not new:
        return
    accounts_services.risk_flag_raise(
        user_ids=new,
        reason=RiskReason.CHECKIN_BURST,
        evidence={"ip": network, "rate": rate, "members_from_ip": len(involved)},
    )
    cache.set(_flagged_key(network), sorted(flagged | new), timeout=window)
