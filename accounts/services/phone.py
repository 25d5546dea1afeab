"""Verifying the member's phone number with a code sent by SMS.

A number typed in the profile proves nothing and is not unique: anyone may type any number,
and nobody learns from the profile whether someone else uses it. A number counts (as unique,
and as the member's identity for once-per-person rewards) only once its holder entered the
code sent to it; that is where uniqueness is enforced, by a partial unique constraint.

A wrong code must be counted even though the call then raises, so ``phone_code_confirm``
commits the count before raising: call it outside any transaction of your own (its
transaction is durable: ``RuntimeError`` inside another one).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import locks, notices, rules, selectors, signals, sms
from accounts.exceptions import (
    PhoneAlreadyVerifiedError,
    PhoneCodeExpiredError,
    PhoneCodeIncorrectError,
    PhoneCodeLimitReachedError,
    PhoneCodeTooSoonError,
    PhoneNotSetError,
    PhoneNotVerifiableError,
)
from accounts.models import PhoneVerification
from points import services as points_services
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.keyed_hash import digests_match, keyed_digest
from pointsmall.kernel.masking import mask_phone
from pointsmall.kernel.transactions import after_commit

DAY = timedelta(hours=24)


def _code_hash(*, user_id: int, phone: str, code: str) -> str:
    # Keyed with the secret key and bound to member and number: a leaked table gives nothing to reuse.
    return keyed_digest("accounts.phone_code", f"{user_id}:{phone}:{code}", key=settings.SECRET_KEY)


@dataclass(frozen=True)
class PhoneCodeSent:
    phone_masked: str
    expires_at: datetime


@transaction.atomic
def phone_code_send(*, user_id: int) -> PhoneCodeSent:
    """Send a fresh 6-digit code by SMS to the member's profile phone (after this transaction commits).

    The same answer whoever else has typed or verified that number: nothing here tells
    members apart. Raises PhoneNotSetError, PhoneAlreadyVerifiedError, PhoneCodeTooSoonError (one code a
    minute) or PhoneCodeLimitReachedError (5 codes in 24 hours), writing nothing. Locks the
    member's user row, so two requests at once send one code. Not idempotent: each call
    that succeeds sends a new code and the newest one counts.
    """
    user = locks.member_row_for_update(user_id=user_id)
    if not user.phone:
        raise PhoneNotSetError()
    if user.phone_verified_at is not None:
        raise PhoneAlreadyVerifiedError()
    now = timezone.now()
    recent = PhoneVerification.objects.filter(user_id=user_id, created_at__gt=now - DAY)
    last_sent = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    if last_sent is not None and last_sent + rules.PHONE_CODE_RESEND_AFTER > now:
        raise PhoneCodeTooSoonError(seconds=ceil((last_sent + rules.PHONE_CODE_RESEND_AFTER - now).total_seconds()))
    if recent.count() >= rules.PHONE_CODES_PER_DAY:
        raise PhoneCodeLimitReachedError(limit=rules.PHONE_CODES_PER_DAY)
    code = rules.new_phone_code(secrets.choice)
    expires_at = now + rules.PHONE_CODE_LIFETIME
    PhoneVerification.objects.create(
        user_id=user_id,
        phone=user.phone,
        code_hash=_code_hash(user_id=user_id, phone=user.phone, code=code),
        created_at=now,
        expires_at=expires_at,
    )
    minutes = int(rules.PHONE_CODE_LIFETIME.total_seconds() // 60)
    text = notices.phone_code_sms(code=code, minutes=minutes, language=selectors.member_language(user_id=user_id))
    phone = user.phone
    after_commit(lambda: sms.sms_send(phone=phone, text=text))
    return PhoneCodeSent(phone_masked=mask_phone(phone), expires_at=expires_at)


def phone_code_confirm(*, user_id: int, code: str) -> None:
    """The member entered the code sent to their profile phone: the number is verified.

    Only the newest code for the current number counts, for 10 minutes and 5 wrong entries.
    Uniqueness is enforced here: a number verified on another account raises
    PhoneNotVerifiableError (only the number's holder, who has the code, gets that far). A phone
    verified after the sign-up bonus was paid is claimed against it, so it cannot earn the
    bonus on another account. Raises PhoneNotSetError, PhoneCodeExpiredError, PhoneCodeIncorrectError
    (``attempts_left``; the count is committed) or PhoneNotVerifiableError. Locks the member's
    user row. Safe to call twice: a verified number stays verified and nothing is sent.
    Call it outside any transaction (see the module docstring).
    """
    failure: DomainError
    with transaction.atomic(durable=True):
        user = locks.member_row_for_update(user_id=user_id)
        if not user.phone:
            raise PhoneNotSetError()
        if user.phone_verified_at is not None:
            return
        now = timezone.now()
        row = (
            PhoneVerification.objects.filter(user_id=user_id, phone=user.phone, used_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None or row.expires_at <= now or row.failed_attempts >= rules.PHONE_CODE_MAX_FAILURES:
            raise PhoneCodeExpiredError()
        expected = _code_hash(user_id=user_id, phone=user.phone, code=code)
        if not (rules.is_phone_code_format(code) and digests_match(expected, row.code_hash)):
            attempts = row.failed_attempts + 1
            PhoneVerification.objects.filter(pk=row.pk).update(failed_attempts=attempts)
            failure = PhoneCodeIncorrectError(attempts_left=rules.PHONE_CODE_MAX_FAILURES - attempts)
        else:
            PhoneVerification.objects.filter(pk=row.pk).update(used_at=now)
            failure = _verify(user_id=user_id, phone=user.phone, now=now)
            if failure is None:
                _announce_if_profile_complete(user_id)
                return
    raise failure


def _announce_if_profile_complete(user_id: int) -> None:
    """A verified phone may be the last thing the profile lacked (tasks listen)."""
    if selectors.member_facts(user_id=user_id).profile_complete:
        signals.profile_completed.send(sender=get_user_model(), user_id=user_id, reference="accounts.profile")


def _verify(*, user_id: int, phone: str, now: datetime) -> DomainError | None:
    User = get_user_model()
    if User.objects.filter(phone=phone, phone_verified_at__isnull=False).exclude(pk=user_id).exists():
        return PhoneNotVerifiableError()
    try:
        with transaction.atomic():
            User.objects.filter(pk=user_id, phone=phone).update(phone_verified_at=now)
    except IntegrityError:
        # Another member verified the same number a moment ago (the partial unique constraint).
        return PhoneNotVerifiableError()
    points_services.claim_identities(user_id=user_id, identities=[f"phone:{phone}"])
    return None
