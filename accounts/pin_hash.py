"""The payment PIN's stored hash: an HMAC under a pepper the database does not hold (docs/decisions/0042).

Stored as ``pin-hmac-sha256$<pepper id>$<salt>$<64 hex>``: the keyed digest of
``<user id>:<salt>:<pin>`` under the pepper ``settings.PAYMENT_PIN_PEPPERS[<pepper id>]`` (the
current pepper is the first). The salt is random per hash; the user id binds a hash to its
member, so a hash copied into another member's row does not verify there.

Its own scheme, not Django's PASSWORD_HASHERS: a 6-digit PIN has 10^6 values, so a slow hash
only costs CPU on every redemption (0.4 s with PBKDF2) without stopping anyone who holds the
table. Hashes written before (Django's hashers, PBKDF2) are still checked with
``check_password`` and reported outdated, like hashes under a pepper that is no longer the
current one: ``pin_verify`` rewrites them on the member's next correct PIN.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password

from pointsmall.kernel.keyed_hash import digests_match, keyed_digest

SCHEME = "pin-hmac-sha256"
_PURPOSE = "accounts.payment_pin"
_SALT_BYTES = 12  # 16 URL-safe characters; unique per hash is all a salt needs to be next to a pepper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinHashCheck:
    """``matches``: the PIN is the one hashed. ``outdated``: the hash is of an older scheme or
    pepper (whether or not it matches); rewrite it with ``pin_hash_make`` once the PIN matched."""

    matches: bool
    outdated: bool


def _digest(*, pepper: str, user_id: int, salt: str, pin: str) -> str:
    return keyed_digest(_PURPOSE, f"{user_id}:{salt}:{pin}", key=pepper)


def pin_hash_make(*, user_id: int, pin: str) -> str:
    """The value to store for the member's PIN: a fresh salt, under the current pepper (at most 114 characters)."""
    pepper_id, pepper = next(iter(settings.PAYMENT_PIN_PEPPERS.items()))
    salt = secrets.token_urlsafe(_SALT_BYTES)
    return f"{SCHEME}${pepper_id}${salt}${_digest(pepper=pepper, user_id=user_id, salt=salt, pin=pin)}"


def pin_hash_check(*, user_id: int, pin: str, stored: str) -> PinHashCheck:
    """Whether ``pin`` is the member's PIN hashed in ``stored``. Never raises on a malformed or
    unknown stored value: it does not match (fails closed)."""
    if stored.startswith(SCHEME + "$"):
        return _check_keyed(user_id=user_id, pin=pin, stored=stored)
    return PinHashCheck(matches=_check_django_hasher(pin, stored), outdated=True)


def _check_keyed(*, user_id: int, pin: str, stored: str) -> PinHashCheck:
    parts = stored.split("$")
    if len(parts) != 4:
        logger.warning("payment PIN hash of user %s is malformed: it matches no PIN", user_id)
        return PinHashCheck(matches=False, outdated=True)
    _scheme, pepper_id, salt, digest = parts
    peppers = settings.PAYMENT_PIN_PEPPERS
    pepper = peppers.get(pepper_id)
    if pepper is None:
        # A pepper removed while hashes under it remained: the member must set a new PIN
        # (pin_change asks for the account password, not the PIN). Say so to the operators.
        logger.warning(
            "payment PIN hash of user %s is under pepper %r, not configured: it matches no PIN", user_id, pepper_id
        )
        return PinHashCheck(matches=False, outdated=True)
    expected = _digest(pepper=pepper, user_id=user_id, salt=salt, pin=pin)
    return PinHashCheck(matches=digests_match(expected, digest), outdated=pepper_id != next(iter(peppers)))


def _check_django_hasher(pin: str, stored: str) -> bool:
    # Hashes from before this scheme: whatever PASSWORD_HASHERS wrote them (PBKDF2 by default).
    try:
        return check_password(pin, stored)
    except (ValueError, TypeError):
        # A hasher that recognises its prefix but cannot parse the rest (e.g. non-numeric iterations).
        logger.warning("payment PIN hash is malformed: it matches no PIN")
        return False
