"""How often a payment PIN may be entered, per member and per client address (docs/decisions/0051).

The lock-out (``accounts.services.pin``: 5 wrong PINs in a row lock the PIN) stops guessing one
member's PIN; these rates stop a script that spreads its guesses over many members from one
address (``PIN_IP_RATE_LIMIT``) and one member's PIN form being hammered between lock-outs
(``PIN_RATE_LIMIT``). Every form that carries a PIN calls ``pin_rate_hit`` before the PIN is
checked; a refused entry checks nothing and writes nothing (not even a wrong attempt).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from pointsmall.kernel.ratelimit import rate_hit

GROUP = "accounts.pin"
IP_GROUP = "accounts.pin.ip"


def pin_rate_hit(*, request: HttpRequest) -> None:
    """Count one PIN entry by the signed-in member and from the request's address; raise
    ``RateLimitedError`` (429) past ``PIN_IP_RATE_LIMIT`` or ``PIN_RATE_LIMIT``. Writes only the
    counters in the cache. Not idempotent: each call counts one entry."""
    rate_hit(request, group=IP_GROUP, key="ip", rate=settings.PIN_IP_RATE_LIMIT)
    rate_hit(request, group=GROUP, key="user", rate=settings.PIN_RATE_LIMIT)
