"""Erasing a member's personal data when they delete their account (docs/decisions/0052).

The user row stays: orders, ledger entries and referrals point at it and the books must still
add up. Everything on it that names or reaches a person goes; what other apps keep is theirs to
anonymise (the deletion service in ``pointsmall.privacy`` calls each of them).
"""

from __future__ import annotations

from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts import locks, rules
from accounts.exceptions import AccountDeletedError
from accounts.models import (
    Address,
    InviteCode,
    MemberDevice,
    Notification,
    NotificationPreference,
    PaymentPin,
    PhoneVerification,
    Referral,
)
from accounts.services.profile import _delete_files
from pointsmall.kernel.transactions import after_commit


def tombstone_email(user_id: int) -> str:
    """The address a deleted member's row keeps: unique, never deliverable, never shown as theirs
    (a stand-in address, ``accounts.rules.is_placeholder_email``)."""
    return rules.placeholder_email(f"deleted-{user_id}")


@transaction.atomic
def member_erase(*, user_id: int, now: datetime | None = None) -> None:
    """Erase the member's personal data and close the account for good.

    The user row keeps its id and gets: a tombstone e-mail (the member's address is free to sign
    up again), no username, names, phone, language or avatar (the files are deleted after
    commit), an unusable password and ``is_active`` off (every open session fails Django's
    session check at its next request: the password hash it was made with is gone), and
    ``deleted_at``. Deleted with it: addresses, payment PIN, phone codes, inbox messages (and their
    pending e-mails and texts), notification preferences, the invite code, allauth's e-mail
    addresses, social accounts, two-factor authenticators and the devices signed in on. Referrals
    stay (the inviter's rewards are booked against them) without the sign-up IP address and
    network. Identity claims of the once-per-person rewards are kept: they hold only keyed hashes
    (decision 0008).

    Raises AccountDeletedError when the account was deleted before (nothing is written).
    Locks: the member's row. Not safe to call twice: the second call is refused.
    """
    user = locks.member_row_for_update(user_id=user_id)
    if user.deleted_at is not None:
        raise AccountDeletedError()
    storage = user.avatar.storage
    files = [user.avatar.name, user.avatar_thumbnail.name]
    # A queryset update, not save(): the post_save receivers would hand the row a new invite code.
    type(user).objects.filter(pk=user_id).update(
        email=tombstone_email(user_id),
        username=None,
        first_name="",
        last_name="",
        display_name="",
        phone=None,
        phone_verified_at=None,
        avatar="",
        avatar_thumbnail="",
        language="",
        password=make_password(None),
        is_active=False,
        deleted_at=now or timezone.now(),
    )
    Address.objects.filter(user_id=user_id).delete()
    PaymentPin.objects.filter(user_id=user_id).delete()
    PhoneVerification.objects.filter(user_id=user_id).delete()
    Notification.objects.filter(user_id=user_id).delete()
    NotificationPreference.objects.filter(user_id=user_id).delete()
    InviteCode.objects.filter(user_id=user_id).delete()
    # The network goes with the address; the device stays a keyed hash (like the identity claims, 0056).
    Referral.objects.filter(invitee_id=user_id).update(signup_ip=None, signup_network="")
    MemberDevice.objects.filter(user_id=user_id).delete()
    EmailAddress.objects.filter(user_id=user_id).delete()
    SocialAccount.objects.filter(user_id=user_id).delete()
    Authenticator.objects.filter(user_id=user_id).delete()
    if any(files):
        after_commit(lambda: _delete_files(storage, files))
