"""Members a host system (the shop the mall belongs to) creates and keeps up to date.

The integration (pointsmall.integration) decides *which* member a host's id means; these
functions own the user row: they create one without a password, record what the host vouches
for (a verified e-mail, a verified phone) and apply later changes. Decision 0035.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import locks, rules, selectors
from accounts.exceptions import (
    EmailInUseError,
    InvalidEmailError,
    InvalidPhoneError,
    InvalidTextError,
    PhoneInUseError,
)

# "Not given": a field the host left out of the request keeps its value.
UNSET: Any = object()

_EMAIL_MAX = 254
_DISPLAY_NAME_MAX = 40  # User.display_name
_email_validator = EmailValidator()


def _is_language(value: str) -> bool:
    return value in {code for code, _label in settings.LANGUAGES}


def host_member_email_clean(raw: str) -> str:
    """The address as stored: member-text rule, trimmed, lower-cased. Raises InvalidEmailError
    (also for an address in the stand-in domain: nobody may claim one)."""
    try:
        email = rules.clean_member_text(raw)
    except rules.UnsafeTextError:
        raise InvalidEmailError() from None
    try:
        _email_validator(email)
    except ValidationError:
        raise InvalidEmailError() from None
    # allauth keeps addresses lower-case; the mall treats them case-insensitively anyway.
    email = email.lower()
    if len(email) > _EMAIL_MAX or rules.is_placeholder_email(email):
        raise InvalidEmailError()
    return email


def clean_display_name(raw: str) -> str:
    """Raises InvalidTextError (an unsafe character, or longer than 40 characters once cleaned)."""
    try:
        name = rules.clean_member_text(raw)
    except rules.UnsafeTextError:
        raise InvalidTextError() from None
    if len(name) > _DISPLAY_NAME_MAX:
        raise InvalidTextError()
    return name


def clean_phone(raw: str) -> str:
    """Raises InvalidPhoneError."""
    phone = rules.normalize_phone(raw)
    if phone is None:
        raise InvalidPhoneError()
    return phone


def _check_email_free(email: str, *, user_id: int | None) -> None:
    holder = selectors.email_holder(email=email)
    if holder is not None and holder.user_id != user_id:
        raise EmailInUseError()


def _phone_verified_elsewhere(phone: str, *, user_id: int | None) -> bool:
    others = get_user_model().objects.filter(phone=phone, phone_verified_at__isnull=False)
    if user_id is not None:
        others = others.exclude(pk=user_id)
    return others.exists()


def _set_primary_email(*, user_id: int, email: str, verified: bool) -> None:
    """Make ``email`` the member's primary allauth address; a verified one stays verified."""
    row = EmailAddress.objects.filter(user_id=user_id, email__iexact=email).first()
    EmailAddress.objects.filter(user_id=user_id, primary=True).exclude(pk=row.pk if row else None).update(primary=False)
    if row is None:
        EmailAddress.objects.create(user_id=user_id, email=email, verified=verified, primary=True)
    else:
        row.verified = row.verified or verified
        row.primary = True
        row.save(update_fields=["verified", "primary"])


@transaction.atomic
def host_member_create(
    *,
    placeholder: str,
    email: str | None = None,
    email_verified: bool = False,
    phone: str | None = None,
    phone_verified: bool = False,
    display_name: str = "",
    language: str = "",
) -> int:
    """Create a member for a host system; returns the user id.

    No password (they arrive through signed login links; they may set one later). ``email``
    becomes their primary allauth address, verified when ``email_verified``; without one the
    member gets the stand-in ``<placeholder>@members.invalid`` and no address row, so no mail
    is sent and the pages say "no e-mail address yet". A ``phone_verified`` phone is verified
    at once. No sign-up bonus is paid, now or when they confirm an address later (decision 0035).

    Raises InvalidEmailError, InvalidPhoneError, InvalidTextError (400), EmailInUseError,
    PhoneInUseError (409). The unique e-mail and verified-phone constraints decide a race: the
    loser gets IntegrityError (the caller re-reads). Not safe to call twice (two members).
    """
    name = clean_display_name(display_name) if display_name else ""
    address = host_member_email_clean(email) if email else None
    number = clean_phone(phone) if phone else None
    if language and not _is_language(language):
        raise InvalidTextError()
    if address is not None:
        _check_email_free(address, user_id=None)
    verified_now = number is not None and phone_verified
    if number is not None and phone_verified and _phone_verified_elsewhere(number, user_id=None):
        raise PhoneInUseError()
    user = get_user_model().objects.create_user(
        email=address or rules.placeholder_email(placeholder),
        password=None,
        display_name=name,
        phone=number,
        phone_verified_at=timezone.now() if verified_now else None,
        language=language,
    )
    if address is not None:
        EmailAddress.objects.create(user=user, email=address, verified=email_verified, primary=True)
    return user.pk


@transaction.atomic
def host_member_update(
    *,
    user_id: int,
    email: str | None = UNSET,
    email_verified: bool = False,
    phone: str | None = UNSET,
    phone_verified: bool = False,
    display_name: str = UNSET,
    language: str = UNSET,
) -> None:
    """Apply the fields a host sent (UNSET or None: keep). Locks the user row.

    A new e-mail becomes the primary address (verified if the host says so; the member's other
    addresses stay as secondary ones); the same e-mail with ``email_verified`` gets verified.
    A new phone replaces the old one, verified if ``phone_verified``; the same phone keeps a
    verification it has (a host cannot take one back). Raises as host_member_create. Safe to
    call twice.
    """
    name = clean_display_name(display_name) if display_name not in (UNSET, None) else UNSET
    address = host_member_email_clean(email) if email not in (UNSET, None, "") else None
    number = clean_phone(phone) if phone not in (UNSET, None, "") else None
    if language not in (UNSET, None, "") and not _is_language(language):
        raise InvalidTextError()
    user = locks.member_row_for_update(user_id=user_id)
    fields: list[str] = []
    if address is not None:
        if address.lower() != user.email.lower():
            _check_email_free(address, user_id=user_id)
            user.email = address
            fields.append("email")
        _set_primary_email(user_id=user_id, email=address, verified=email_verified)
    if number is not None:
        if number != user.phone:
            user.phone = number
            user.phone_verified_at = None
            fields += ["phone", "phone_verified_at"]
        if phone_verified and user.phone_verified_at is None:
            if _phone_verified_elsewhere(number, user_id=user_id):
                raise PhoneInUseError()
            user.phone_verified_at = timezone.now()
            fields.append("phone_verified_at")
    if name is not UNSET:
        user.display_name = name
        fields.append("display_name")
    if language not in (UNSET, None, ""):
        user.language = language
        fields.append("language")
    if fields:
        try:
            with transaction.atomic():
                user.save(update_fields=sorted(set(fields)))
        except IntegrityError:
            # Someone verified the number or took the address a moment ago.
            holder = selectors.email_holder(email=user.email) if "email" in fields else None
            if holder is not None and holder.user_id != user_id:
                raise EmailInUseError() from None
            raise PhoneInUseError() from None
