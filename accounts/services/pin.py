"""The payment PIN (支付密码): set, change, verify, with a lockout after repeated failures.

A failed attempt must be counted even though the call then raises, so the counting
transaction commits before the error is raised. Callers must therefore call
``pin_verify`` and ``pin_change`` outside any transaction of their own: if an outer
transaction rolled back, the failed attempt would be forgotten and guessing would be free.
Both enforce it: their transaction is durable (``RuntimeError`` inside another one).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import locks, notices, rules, signals
from accounts.enums import NotificationKind
from accounts.exceptions import (
    PasswordIncorrectError,
    PinAlreadySetError,
    PinIncorrectError,
    PinInvalidError,
    PinLockedError,
    PinNotSetError,
    PinTooWeakError,
)
from accounts.models import PaymentPin
from accounts.pin_hash import pin_hash_check, pin_hash_make
from accounts.services.notifications import notification_send
from pointsmall.kernel.errors import DomainError


def _check_new_pin(pin: str) -> None:
    if not rules.is_pin_format(pin):
        raise PinInvalidError()
    if rules.is_weak_pin(pin):
        raise PinTooWeakError()


def _now_holding_the_lock():
    """The time of an attempt: read once the PIN row is locked, never before.

    An attempt that waited for the lock while another one locked PIN use must not measure
    the lock from the moment it started waiting: that made the 15-minute lock read as
    "16 minutes" (15 min plus the wait, rounded up), and counted the failure at a stale time.
    """
    return timezone.now()


def _failures_so_far(row: PaymentPin, now: datetime) -> int:
    # A lock that has run out is forgiven: the member gets a fresh set of attempts.
    if row.locked_until is not None and row.locked_until <= now:
        return 0
    return row.failed_attempts


def _locked_pin(user_id: int) -> tuple[PaymentPin, datetime]:
    """Lock the member's PIN row and return it with the time of this attempt (read holding the lock).

    Raises PinNotSetError when there is no PIN, PinLockedError while PIN use is locked out.
    Call it inside the caller's durable transaction: the row stays locked until it ends.
    """
    row = locks.pin_for_update(user_id=user_id)
    if row is None:
        raise PinNotSetError()
    now = _now_holding_the_lock()
    if row.locked_until is not None and row.locked_until > now:
        raise PinLockedError(locked_until=row.locked_until, now=now)
    return row, now


def _record_failure(row: PaymentPin, now: datetime) -> DomainError:
    """Count one failed attempt on the locked row; return the error to raise once it is committed."""
    # Plain values, not F(): the row is locked, so nothing else changed it since we read it.
    attempts = _failures_so_far(row, now) + 1
    if attempts >= rules.PIN_MAX_FAILURES:
        locked_until = now + rules.PIN_LOCK_DURATION
        PaymentPin.objects.filter(pk=row.pk).update(failed_attempts=attempts, locked_until=locked_until)
        _tell_locked(row, attempts=attempts, locked_until=locked_until)
        return PinLockedError(locked_until=locked_until, now=now)
    PaymentPin.objects.filter(pk=row.pk).update(failed_attempts=attempts, locked_until=None)
    return PinIncorrectError(attempts_left=rules.PIN_MAX_FAILURES - attempts)


def _tell_locked(row: PaymentPin, *, attempts: int, locked_until: datetime) -> None:
    """A security notice (issue #17): in the inbox and by e-mail as the member's preferences for
    account messages say. Written in the attempt's own transaction, so it is committed with the
    lock; keyed by the lock's end, so one lock sends one notice however the attempts race."""
    notification_send(
        user_id=row.user_id,
        kind=NotificationKind.ACCOUNT,
        **notices.pin_locked(attempts=attempts, locked_until=locked_until).message,
        link=reverse("pin_manage"),
        dedupe_key=f"accounts.pin_locked:{row.user_id}:{locked_until.isoformat()}",
    )


def _reset(row: PaymentPin, **changes: object) -> None:
    if row.failed_attempts or row.locked_until is not None or changes:
        PaymentPin.objects.filter(pk=row.pk).update(
            failed_attempts=0, locked_until=None, updated_at=timezone.now(), **changes
        )


@transaction.atomic
def pin_set(*, user_id: int, pin: str) -> None:
    """Set the member's first payment PIN. Raises PinInvalidError, PinTooWeakError, or PinAlreadySetError if one exists.

    Locks nothing (the one-to-one unique constraint settles a race). Safe to call twice:
    the second call raises PinAlreadySetError and changes nothing.
    """
    _check_new_pin(pin)
    if PaymentPin.objects.filter(user_id=user_id).exists():
        raise PinAlreadySetError()
    try:
        with transaction.atomic():
            PaymentPin.objects.create(user_id=user_id, pin_hash=pin_hash_make(user_id=user_id, pin=pin))
    except IntegrityError:
        raise PinAlreadySetError() from None
    signals.payment_pin_set.send(sender=PaymentPin, user_id=user_id, reference="accounts.pin")


def pin_change(*, user_id: int, password: str, new_pin: str) -> None:
    """Replace the member's PIN after checking their account password; clears any failures and lock.

    A wrong password counts as a failed attempt, like a wrong PIN, so this form cannot be
    used to guess the password either. Raises PinInvalidError, PinTooWeakError (nothing counted),
    PinNotSetError, PinLockedError, PasswordIncorrectError. Locks the PIN row. Safe to call twice.
    Call it outside any transaction (see the module docstring).
    """
    _check_new_pin(new_pin)
    with transaction.atomic(durable=True):
        row, now = _locked_pin(user_id)
        password_hash = get_user_model().objects.filter(pk=user_id).values_list("password", flat=True).get()
        if check_password(password, password_hash):
            _reset(row, pin_hash=pin_hash_make(user_id=user_id, pin=new_pin))
            return
        failure = _record_failure(row, now)
    if isinstance(failure, PinIncorrectError):
        raise PasswordIncorrectError(attempts_left=failure.attempts_left)
    raise failure


def pin_verify(*, user_id: int, pin: str) -> None:
    """Check the member's payment PIN. Returns None when it is right; a right PIN clears the failure count.

    Raises PinNotSetError, PinLockedError (``remaining``/``minutes`` until it unlocks) or PinIncorrectError
    (``attempts_left``); the fifth wrong PIN in a row raises PinLockedError and locks PIN use for
    15 minutes. Locks the member's PIN row (select_for_update), so concurrent attempts are
    counted one after the other. A right PIN whose hash is of an older scheme or pepper is
    rewritten under the current one (accounts/pin_hash.py). Call it outside any transaction
    (see the module docstring).
    """
    with transaction.atomic(durable=True):
        row, now = _locked_pin(user_id)
        if (
            rules.is_pin_format(pin)
            and (check := pin_hash_check(user_id=user_id, pin=pin, stored=row.pin_hash)).matches
        ):
            # An older scheme or pepper is rewritten now, under the row lock: only the right PIN can.
            upgrade = {"pin_hash": pin_hash_make(user_id=user_id, pin=pin)} if check.outdated else {}
            _reset(row, **upgrade)
            return
        failure = _record_failure(row, now)
    raise failure
