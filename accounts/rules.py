"""Pure rules of the accounts app: phone numbers, postal codes, payment PINs, invite codes,
member-entered text and the e-mail identity of a person. No ORM, no clock."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from math import ceil

from accounts.exceptions import UnsafeTextError
from points.validators import WHITESPACE_CONTROLS, unsafe_char

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

PHONE_CODE_LENGTH = 6
PHONE_CODE_LIFETIME = timedelta(minutes=10)
PHONE_CODE_MAX_FAILURES = 5
PHONE_CODE_RESEND_AFTER = timedelta(seconds=60)
PHONE_CODES_PER_DAY = 5
_PHONE_CODE = re.compile(rf"[0-9]{{{PHONE_CODE_LENGTH}}}")


def normalize_phone(raw: str) -> str | None:
    """The canonical form of a phone number, or None if it is not a plausible mobile number.

    A mainland-China mobile is stored as its 11 digits, with or without +86/0086 when typed,
    so the same phone typed two ways is one phone. Anything else must be international:
    ``+`` (or ``00``) and 8 to 15 digits, the E.164 length.
    """
    # Contacts apps wrap copied numbers in invisible direction marks: they are not part of the number.
    compact = _SEPARATORS.sub("", strip_invisible(raw).strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+86"):
        # A +86 number is a mainland one: it has to be a mainland mobile.
        return compact[3:] if _MAINLAND_MOBILE.fullmatch(compact[3:]) else None
    if _MAINLAND_MOBILE.fullmatch(compact) or _INTERNATIONAL.fullmatch(compact):
        return compact
    return None


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


def lock_minutes_left(remaining: timedelta, lock: timedelta = PIN_LOCK_DURATION) -> int:
    """Whole minutes until a lock of length ``lock`` ends, ``remaining`` from now.

    Rounded up, and never more than the lock itself: a lock of 15 minutes reads "15 minutes"
    at its start even when the clock that set it ran a few milliseconds ahead of this one
    (another web host), instead of rounding 15 min + 2 ms up to "16 minutes".
    """
    return minutes_left(min(remaining, lock).total_seconds())


def new_phone_code(choice: Callable[[str], str]) -> str:
    """A fresh SMS verification code; ``choice`` is ``secrets.choice``."""
    return "".join(choice("0123456789") for _ in range(PHONE_CODE_LENGTH))


def is_phone_code_format(code: str) -> bool:
    return bool(_PHONE_CODE.fullmatch(code))


# No 0/O, 1/I: a code read aloud or copied from a screenshot has one spelling.
INVITE_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 8
_INVITE_CODE = re.compile(rf"[{INVITE_CODE_ALPHABET}]{{{INVITE_CODE_LENGTH}}}")
_INVITE_SEPARATORS = re.compile(r"[\s\-\u00a0\u3000]")


def new_invite_code(choice: Callable[[str], str]) -> str:
    """A fresh invite code; ``choice`` is ``secrets.choice`` (a parameter so tests can pin it)."""
    return "".join(choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def normalize_invite_code(raw: str) -> str:
    """The code as stored: upper case, without the spaces, dashes or invisible characters people
    type or paste with it."""
    return _INVITE_SEPARATORS.sub("", strip_invisible(raw)).upper()


def is_invite_code(code: str) -> bool:
    return bool(_INVITE_CODE.fullmatch(code))


# Where the code from an invite link waits while the visitor signs up (and signs in with a social account).
INVITE_SESSION_KEY = "accounts.invite_code"


# --- Referral rules (邀请好友) -------------------------------------------------------------

# How long a burst of sign-ups from one IP address is looked for, and a sign-up reward stays pending.
REFERRAL_IP_WINDOW = timedelta(hours=1)


def is_referral_burst(*, recent_signups: int, limit: int) -> bool:
    """Whether a sign-up through an invite, after ``recent_signups`` from its IP address within
    ``REFERRAL_IP_WINDOW``, makes a burst of ``limit`` or more (it and they are then held)."""
    return recent_signups + 1 >= limit


def signup_reward_available_at(
    *,
    created_at: datetime,
    signup_ip: str | None,
    reviewed: bool,
    now: datetime,
    window: timedelta = REFERRAL_IP_WINDOW,
) -> datetime | None:
    """When the inviter's sign-up reward becomes spendable, or None: at once.

    Pending while a burst could still turn up (the first ``window`` after the sign-up:
    ``referral_hold_window``); an operator's approval is final.
    """
    if signup_ip and not reviewed and created_at + window > now:
        return created_at + window
    return None


def referral_hold_window(*, burst_minutes: int) -> timedelta:
    """How long after a sign-up a burst can still hold its referral: the longer of the IP window
    and the invite-link burst window (``REFERRAL_BURST_MINUTES``)."""
    return max(REFERRAL_IP_WINDOW, timedelta(minutes=max(burst_minutes, 0)))


def is_redeem_cancel_loop(*, cancels: int, limit: int) -> bool:
    """Whether ``cancels`` redemptions given back within the look-back window make a loop (0: rule off)."""
    return limit > 0 and cancels >= limit


def is_same_person(friend: set[str], inviter: set[str]) -> bool:
    """Whether a friend is the inviter: they share an identity (normalised mailbox or verified phone)."""
    return not friend.isdisjoint(inviter)


def referral_key(*, referral_id: int, what: str, reward_round: int) -> str:
    """The idempotency key of a referral's reward or inbox message ``what``; rewards paid again
    after a hold (a later ``reward_round``) get fresh ones."""
    key = f"referral:{referral_id}:{what}"
    return f"{key}:{reward_round}" if reward_round else key


# --- Text members type -------------------------------------------------------------------
#
# One rule for every field a member types that is stored or shown to someone (names,
# addresses, reviews, codes). Characters that change how the text around them is *displayed*
# are refused, so that what a member, an operator or a courier reads is what was typed:
# direction overrides, embeddings and isolates (an RLO turns "gpj.exe" into "exe.jpg") and
# control characters. Characters that are invisible and carry no meaning in our languages
# (zero-width spaces, byte-order marks, soft hyphens, fillers) are removed, since pasted text
# often brings them along; they stay only where they shape a visible character (the joiner
# inside an emoji family, a variation selector after its base, a flag's tag sequence).

# Embeddings, overrides (U+202A..U+202E) and isolates (U+2066..U+2069): refused.
# The characters refused in any text people read are one rule for members and operators:
# points.validators.unsafe_char (direction controls, non-whitespace controls, surrogates).
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
_BLANK_LINES = re.compile(r"\n{3,}")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), as ranges.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_ZWJ = "\u200d"
_BLACK_FLAG = "\U0001f3f4"


def _is_ignorable(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _is_variation_selector(ch: str) -> bool:
    return 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF


def _is_tag(ch: str) -> bool:
    return 0xE0020 <= ord(ch) <= 0xE007F


def _is_emoji_part(ch: str) -> bool:
    # Pictographs are "So"; skin tones are "Sk"; U+FE0F asks for emoji presentation.
    return unicodedata.category(ch) in ("So", "Sk") or ch == "\ufe0f"


def _drop_invisible(text: str) -> str:
    kept: list[str] = []
    for index, ch in enumerate(text):
        if not _is_ignorable(ch):
            kept.append(ch)
            continue
        previous = kept[-1] if kept else ""
        following = text[index + 1] if index + 1 < len(text) else ""
        if _is_variation_selector(ch):
            keep = bool(previous) and not previous.isspace() and not _is_variation_selector(previous)
        elif ch == _ZWJ:
            keep = bool(previous) and _is_emoji_part(previous) and bool(following) and _is_emoji_part(following)
        elif _is_tag(ch):
            keep = previous == _BLACK_FLAG or (bool(previous) and _is_tag(previous))
        else:
            keep = False
        if keep:
            kept.append(ch)
    return "".join(kept)


def clean_member_text(raw: str, *, multiline: bool = False) -> str:
    """The text a member typed, as it is stored and shown: the one rule for every member field.

    Raises UnsafeTextError for a direction override/embedding/isolate (U+202A..U+202E,
    U+2066..U+2069), a control character other than whitespace, or a lone surrogate.
    Otherwise returns the text in NFC with invisible characters removed (zero-width space,
    joiner and non-joiner, word joiner, BOM, soft hyphen, direction marks, Hangul fillers...;
    a joiner between emoji and a variation selector after a visible character are kept),
    each run of whitespace (tabs, full-width and no-break spaces) as one space, and trimmed.
    ``multiline`` keeps line breaks (as ``\\n``, at most one blank line in a row); otherwise
    a line break is a space.
    """
    bad = unsafe_char(raw)
    if bad is not None:
        raise UnsafeTextError(bad)
    text = _drop_invisible(unicodedata.normalize("NFC", raw))
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in _LINE_BREAKS.split(text)]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def strip_invisible(raw: str) -> str:
    """``raw`` without any invisible or control character: for values checked against a strict
    format afterwards (phone numbers, codes, e-mail addresses, search queries)."""
    return "".join(
        ch
        for ch in raw
        if not _is_ignorable(ch) and (unicodedata.category(ch) not in ("Cc", "Cs") or ch in WHITESPACE_CONTROLS)
    )


# --- The person behind an e-mail address (once-per-person rewards) -----------------------


@dataclass(frozen=True)
class EmailIdentityRules:
    """How addresses that reach one mailbox are told to be one person (operators edit these
    in admin: accounts.IdentityPolicy and its e-mail provider rows).

    ``ignore_plus_tags``: ``alice+shop@x`` is ``alice@x``. ``dotless_domains``: providers where
    dots in the name do not count (``a.lice@gmail.com`` is ``alice@gmail.com``).
    ``domain_aliases``: domains that are another one's mailboxes (googlemail.com → gmail.com).
    """

    ignore_plus_tags: bool = True
    dotless_domains: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})
    domain_aliases: Mapping[str, str] = field(default_factory=lambda: {"googlemail.com": "gmail.com"})


def normalize_domain(domain: str) -> str:
    """A domain as DNS sees it: lower case, no trailing dot, international names in punycode
    (so ``Exämple.com`` and ``xn--exmple-cua.com`` are one domain)."""
    domain = strip_invisible(domain).strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain


def normalize_email_identity(address: str, rules: EmailIdentityRules) -> str:
    """The mailbox behind ``address``, for telling whether two addresses are one person.

    Trimmed and lower-cased, invisible characters removed, the domain in punycode and mapped
    through ``rules.domain_aliases``; then a ``+tag`` is dropped (if ``ignore_plus_tags``)
    and dots are dropped for ``rules.dotless_domains``. Never used to send mail: only for
    the identity claim of once-per-person rewards.
    """
    text = strip_invisible(address).strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    domain = normalize_domain(domain)
    domain = rules.domain_aliases.get(domain, domain)
    local = local.lower()
    if rules.ignore_plus_tags:
        local = local.split("+", 1)[0] or local
    if domain in rules.dotless_domains:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


# ---------------------------------------------------------------------------
# Members brought in by a host system (docs/decisions/0035)

# RFC 2606 reserves ".invalid": an address there can never receive mail, so a member the host
# sent without an e-mail gets one to fill the required, unique column, and it is never shown.
PLACEHOLDER_EMAIL_DOMAIN = "members.invalid"


def placeholder_email(local_part: str) -> str:
    """The stand-in address ``<local_part>@members.invalid`` of a member without an e-mail."""
    return f"{local_part}@{PLACEHOLDER_EMAIL_DOMAIN}"


def is_placeholder_email(email: str | None) -> bool:
    """True for a stand-in address (never the member's own; never shown as theirs)."""
    return email is not None and email.lower().endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)
