"""Loyalty-fraud signals that are not a sign-up's (docs/decisions/0056): the devices a member uses,
and redeem-and-cancel loops. The sign-up's signals (device, link burst, network burst) are decided
where the referral is bound (accounts.services.referrals)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import rules, selectors
from accounts.enums import HoldReason, ReferralStatus, RiskReason
from accounts.models import MemberDevice, Referral
from accounts.services.referrals import referral_hold
from accounts.services.risk import risk_flag_raise
from points import selectors as points_selectors


@transaction.atomic
def member_device_record(*, user_id: int, device_hash: str) -> None:
    """Remember that the member signed up or signed in on this device (``device_hash``, the keyed
    hash of the device cookie; "" does nothing). Locks nothing: one upsert-like pair of statements;
    safe to call twice and concurrently (the unique member-and-device constraint)."""
    if not device_hash:
        return
    now = timezone.now()
    if not MemberDevice.objects.filter(user_id=user_id, device_hash=device_hash).update(last_seen=now):
        MemberDevice.objects.bulk_create(
            [MemberDevice(user_id=user_id, device_hash=device_hash, first_seen=now, last_seen=now)],
            ignore_conflicts=True,
        )


@transaction.atomic
def redeem_cancel_check(*, user_id: int) -> bool:
    """A redemption of the member's was given back: when that makes ``REDEEM_CANCEL_LOOP_COUNT`` within
    ``REDEEM_CANCEL_LOOP_DAYS``, flag the member (``redeem_cancel_loop``, the orders as evidence) and,
    if they are an invited friend whose inviter's reward is still pending, hold that referral.
    Returns whether it was a loop. Blocks nothing else: an operator decides (freezing stays manual).

    Runs inside the refund's transaction (the member's points account locked), then locks the
    inviter's account and the referral (the referral lock order). Safe to call twice: an open flag
    is kept, a held referral stays held.
    """
    limit, days = selectors.redeem_cancel_loop_limit()
    if limit <= 0:
        return False
    orders = points_selectors.spends_refunded_since(user_id=user_id, since=timezone.now() - timedelta(days=days))
    if not rules.is_redeem_cancel_loop(cancels=len(orders), limit=limit):
        return False
    evidence = {"orders": orders[:50], "cancelled": len(orders), "days": days, "limit": limit}
    risk_flag_raise(user_ids=[user_id], reason=RiskReason.REDEEM_CANCEL_LOOP, evidence=evidence)
    referral_id = (
        Referral.objects.filter(invitee_id=user_id, status__in=[ReferralStatus.PENDING, ReferralStatus.APPROVED])
        .values_list("pk", flat=True)
        .first()
    )
    if referral_id is not None:
        referral_hold(referral_id=referral_id, reason=HoldReason.REDEEM_CANCEL, evidence=evidence)
    return True
