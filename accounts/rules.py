"""Pure rules of the accounts app: phone numbers, postal codes, payment PINs, invite codes. No ORM, no clock."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from math import ceil

PIN_LENGTH = 6
PIN_MAX_FAILURES = 5
PIN_LOCK_DURATION = timedelta(minutes=15)
ADDRESS_LIMIT = 20

_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_INTERNATIONAL = re.compile(r"\+[0-9]{8,15}")
_POSTAL_CODE = re.compile(r"[0-9]{6}")
# [0-9], not \d: \d also matches full-width and other scripts' digits.
_PIN = re.compile(rf"[0-9]{{{PIN_LENGTH}}}")
# People type numbers the way they read them: "+86 138-1234 5678", "(010) 1234.5678".
_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000]")


def normalize_phone(raw: str) -> str | None:
    """The canonical form of a phone number, or None if it is not a plausible mobile number.

    A mainland-China mobile is stored as its 11 digits, with or without +86/0086 when typed,
    so the same phone typed two ways is one phone. Anything else must be international:
    ``+`` (or ``00``) and 8 to 15 digits, the E.164 length.
    """
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+86"):
        # A +86 number is a mainland one: it has to be a mainland mobile.
        return compact[3:] if _MAINLAND_MOBILE.fullmatch(compact[3:]) else None
    if _MAINLAND_MOBILE.fullmatch(compact) or _INTERNATIONAL.fullmatch(compact):
        return compact
    return None


def mask_phone(phone: str) -> str:
    """Hide the middle of a phone number for lists: 138****5678."""
    if len(phone) <= 7:
        return phone
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def is_postal_code(value: str) -> bool:
    return bool(_POSTAL_CODE.fullmatch(value))


def is_pin_format(pin: str) -> bool:
    return bool(_PIN.fullmatch(pin))


def is_weak_pin(pin: str) -> bool:
    """True for PINs anyone would try first: one digit six times, or a straight run up or down."""
    if len(set(pin)) == 1:
        return True
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    return steps in ({1}, {-1})


def minutes_left(seconds: float) -> int:
    """Whole minutes to wait, rounded up so "in 0 minutes" is never shown while still locked."""
    return max(1, ceil(seconds / 60))


# No 0/O, 1/I: a code read aloud or copied from a screenshot has one spelling.
INVITE_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 8
_INVITE_CODE = re.compile(rf"[{INVITE_CODE_ALPHABET}]{{{INVITE_CODE_LENGTH}}}")
_INVITE_SEPARATORS = re.compile(r"[\s\-\u00a0\u3000]")


def new_invite_code(choice: Callable[[str], str]) -> str:
    """A fresh invite code; ``choice`` is ``secrets.choice`` (a parameter so tests can pin it)."""
    return "".join(choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def normalize_invite_code(raw: str) -> str:
    """The code as stored: upper case, without the spaces or dashes people type or paste with it."""
    return _INVITE_SEPARATORS.sub("", raw).upper()


def is_invite_code(code: str) -> bool:
    return bool(_INVITE_CODE.fullmatch(code))


def mask_email(email: str) -> str:
    """Hide most of an e-mail address for lists other people see: al***@example.com."""
    local, _sep, domain = email.partition("@")
    return f"{local[:2]}***@{domain}" if domain else f"{local[:2]}***"


def identity_hash(value: str, secret: str) -> str:
    """A stable, non-reversible id for an e-mail address: trimmed, lower-cased, keyed with ``secret``."""
    return hmac.new(secret.encode(), value.strip().lower().encode(), hashlib.sha256).hexdigest()


def month_start(now: datetime, zone: tzinfo) -> datetime:
    """Midnight of the first day of ``now``'s month in the business time zone (for monthly limits)."""
    local = now.astimezone(zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


# Where the code from an invite link waits while the visitor signs up (and signs in with a social account).
INVITE_SESSION_KEY = "accounts.invite_code"
