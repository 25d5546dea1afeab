"""Invite codes and referrals (邀请好友): binding a new member to the inviter, and the inviter's rewards.

This module holds the writes; the pure rules (burst, pending window, self-referral, keys) are
in ``accounts.rules`` and the texts of every message in ``accounts.notices``.

Lock order: the inviter's points account, then the referral row. A referral's rewards are
also paid from inside the friend's own ledger operations (a first purchase holds the
friend's account), so two accounts are then locked friend first, inviter second. That
order never reverses: a member is bound once, at sign-up, to someone who already existed,
so following "invited by" from any member never comes back to them. A service that
acts for several inviters (a sign-up that reveals a burst) locks one at a time.

A sign-up reward stays pending for the first hour after the friend signed up: a burst of
sign-ups from the friend's IP address found within that hour can still cancel it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import locks, notices, rules, selectors, signals
from accounts.enums import HoldReason, NoRewardReason, NotificationKind, ReferralStatus, RiskReason
from accounts.exceptions import (
    InviteCodeUnknownError,
    ReferralAlreadyBoundError,
    ReferralNotDeniableError,
    ReferralNotFoundError,
    ReferralNotHeldError,
    ReferralSelfError,
)
from accounts.models import InviteCode, Referral
from accounts.services.notifications import notification_send
from accounts.services.risk import risk_flag_raise
from points import selectors as points_selectors
from points import services as points_services
from points.enums import EarningSource
from points.notices import Notice
from pointsmall.kernel import clock
from pointsmall.kernel.masking import mask_email
from pointsmall.kernel.ratelimit import ip_network_key

CODE_ATTEMPTS = 5


@transaction.atomic
def invite_code_ensure(*, user_id: int) -> str:
    """The member's invite code, made now if they have none yet (members get one when created).

    Locks nothing. Safe to call twice, also concurrently: the unique member column makes
    the second caller read the first one's code.
    """
    if existing := selectors.invite_code_of(user_id=user_id):
        return existing
    for _attempt in range(CODE_ATTEMPTS):
        code = rules.new_invite_code(secrets.choice)
        try:
            with transaction.atomic():
                InviteCode.objects.create(user_id=user_id, code=code)
        except IntegrityError:
            # The member got a code concurrently, or (about 1 in 10^12 per member) the code is taken.
            if existing := selectors.invite_code_of(user_id=user_id):
                return existing
            continue
        return code
    raise RuntimeError(f"no free invite code for member {user_id} after {CODE_ATTEMPTS} attempts")


def _friend(referral: Referral) -> str:
    return mask_email(referral.invitee.email)


def _tell_inviter(referral: Referral, event: str, notice: Notice) -> None:
    """Send the inviter ``notice`` (composed by accounts.notices, rendered in the inviter's
    language when read); once per event (and round: rewards paid again after a hold are
    announced again)."""
    notification_send(
        user_id=referral.inviter_id,
        kind=NotificationKind.POINTS,
        **notice.message,
        link=reverse("invite"),
        dedupe_key=_key(referral, event),
    )


def referral_bind(*, invitee_id: int, code: str, signup_ip: str | None = None, device_hash: str = "") -> str:
    """Bind a member who is signing up to the member whose invite code they used; returns the status.

    Once per member, never to oneself, never changed: raises InviteCodeUnknownError, ReferralSelfError
    or ReferralAlreadyBoundError and writes nothing. The sign-up is held for review, with the
    others of its kind whose rewards are not final yet (their pending rewards are cancelled), and
    the inviters flagged (``RiskFlag``, docs/decisions/0056), when:

    - ``device_hash`` (accounts.devices) is one the inviter signed up or signed in on, or one
      another friend of this inviter signed up on (``SAME_DEVICE``);
    - it makes ``REFERRAL_IP_HOURLY_LIMIT`` sign-ups through invites from one network (an IPv4
      address, an IPv6 /64) within an hour (``SAME_IP``);
    - it makes ``REFERRAL_BURST_COUNT`` sign-ups through this inviter's link within
      ``REFERRAL_BURST_MINUTES`` (``INVITE_BURST``), from anywhere.

    The binding is one transaction of its own (durable: RuntimeError inside another one);
    each earlier referral held is another, which locks that inviter's points account and
    then the referral, so one inviter is locked at a time. Call it outside a transaction
    (the sign-up does). Not repeatable: a second call for the same member raises
    ReferralAlreadyBoundError.
    """
    status, hold = _bind(invitee_id=invitee_id, code=code, signup_ip=signup_ip, device_hash=device_hash)
    if hold is not None:
        for referral_id in hold.others:
            referral_hold(referral_id=referral_id, reason=hold.reason, evidence=hold.evidence)
        risk_flag_raise(user_ids=hold.flagged, reason=hold.flag, evidence=hold.evidence)
    return status


@dataclass(frozen=True)
class _Hold:
    """A sign-up that a fraud signal holds: why, what the rule saw, the earlier referrals held with it,
    and whom to flag for what."""

    reason: HoldReason
    evidence: dict[str, Any]
    others: list[int]
    flag: RiskReason
    flagged: list[int]


def _not_final(referrals: QuerySet[Referral]) -> list[int]:
    return list(
        referrals.filter(status__in=[ReferralStatus.PENDING, ReferralStatus.APPROVED], reviewed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _ids(referrals: QuerySet[Referral]) -> list[int]:
    """The evidence's referrals: every one the rule counted (held already or not), at most 50."""
    return list(referrals.order_by("pk").values_list("pk", flat=True)[:50])


def _hold_signal(*, inviter_id: int, network: str, device_hash: str, now: datetime) -> _Hold | None:
    """The first fraud signal this sign-up shows (device, then network burst, then link burst), or None."""
    if device_hash:
        same_device = Referral.objects.filter(inviter_id=inviter_id, signup_device=device_hash)
        on_inviter_device = selectors.member_has_device(user_id=inviter_id, device_hash=device_hash)
        if on_inviter_device or same_device.exists():
            others = _not_final(same_device)
            evidence = {
                "device": device_hash[:12],
                "inviter_device": on_inviter_device,
                "referrals": _ids(same_device),
            }
            return _Hold(HoldReason.SAME_DEVICE, evidence, others, RiskReason.REFERRAL_DEVICE, [inviter_id])
    if network:
        by_network = Referral.objects.filter(signup_network=network, created_at__gt=now - rules.REFERRAL_IP_WINDOW)
        if rules.is_referral_burst(recent_signups=by_network.count(), limit=selectors.referral_ip_hourly_limit()):
            others = _not_final(by_network)
            inviters = {inviter_id, *by_network.values_list("inviter_id", flat=True)}
            evidence = {"network": network, "window_minutes": 60, "referrals": _ids(by_network)}
            return _Hold(HoldReason.SAME_IP, evidence, others, RiskReason.REFERRAL_BURST, sorted(inviters))
    count, minutes = selectors.referral_burst_limit()
    if count > 0:
        by_link = Referral.objects.filter(inviter_id=inviter_id, created_at__gt=now - timedelta(minutes=minutes))
        if rules.is_referral_burst(recent_signups=by_link.count(), limit=count):
            others = _not_final(by_link)
            evidence = {"window_minutes": minutes, "limit": count, "referrals": _ids(by_link)}
            return _Hold(HoldReason.INVITE_BURST, evidence, others, RiskReason.REFERRAL_BURST, [inviter_id])
    return None


@transaction.atomic(durable=True)
def _bind(*, invitee_id: int, code: str, signup_ip: str | None, device_hash: str) -> tuple[str, _Hold | None]:
    inviter = selectors.invite_code_owner(code=code)
    if inviter is None:
        raise InviteCodeUnknownError()
    if inviter.user_id == invitee_id:
        raise ReferralSelfError()
    if Referral.objects.filter(invitee_id=invitee_id).exists():
        raise ReferralAlreadyBoundError()
    now = timezone.now()
    network = ip_network_key(signup_ip)
    hold = _hold_signal(inviter_id=inviter.user_id, network=network, device_hash=device_hash, now=now)
    status = ReferralStatus.HELD if hold else ReferralStatus.PENDING
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                invitee_id=invitee_id,
                inviter_id=inviter.user_id,
                created_at=now,
                signup_ip=signup_ip or None,
                signup_network=network,
                signup_device=device_hash,
                status=status,
                held_reason=hold.reason if hold else "",
                hold_evidence=hold.evidence if hold else {},
            )
    except IntegrityError:
        # The same member bound concurrently (a double-submitted sign-up).
        raise ReferralAlreadyBoundError() from None
    if hold is not None:
        hold.evidence["referrals"] = [*hold.evidence["referrals"], referral.pk]
        _save(referral, "hold_evidence")
        _tell_inviter(referral, "held", notices.referral_held(friend=_friend(referral)))
    return status, hold


@transaction.atomic
def referral_hold(
    *, referral_id: int, reason: HoldReason = HoldReason.SAME_IP, evidence: dict[str, Any] | None = None
) -> bool:
    """Hold a referral for review for ``reason`` (with ``evidence``, what the rule saw): its
    rewards that are still pending are cancelled (paid again, in full, if an operator
    approves). Returns whether it was held.

    Nothing changes for a referral an operator reviewed, one denied or held already, one
    that earns nothing anyway (over the cap, a known e-mail), or one whose sign-up reward is
    already available. Locks: the inviter's points account, then the referral. Safe to call twice.
    """
    referral = _locked_referral(referral_id)
    now = timezone.now()
    if referral.reviewed_at is not None or referral.no_reward_reason:
        return False
    if referral.status == ReferralStatus.APPROVED:
        if referral.signup_available_at is not None and referral.signup_available_at <= now:
            return False
        _cancel_pending(referral, referral.signup_entry_id, "signup")
        if (
            referral.first_order_available_at is not None
            and referral.first_order_available_at > now
            # A first order undone took its reward back already (referral_first_order_withdraw).
            and referral.first_order_withdrawn_at is None
        ):
            _cancel_pending(referral, referral.first_order_entry_id, "first_order")
            referral.first_order_rewarded_at = None
            referral.first_order_points = 0
            referral.first_order_entry_id = None
        referral.rewarded_at = None
        referral.signup_points = 0
        referral.signup_available_at = None
        referral.signup_entry_id = None
        referral.reward_round += 1
    elif referral.status != ReferralStatus.PENDING:
        return False
    referral.status = ReferralStatus.HELD
    referral.held_reason = reason
    referral.hold_evidence = evidence or {}
    referral.save()
    _tell_inviter(referral, "held", notices.referral_held(friend=_friend(referral)))
    return True


def _cancel_pending(referral: Referral, entry_id: int | None, what: str) -> None:
    if entry_id is None:
        return
    points_services.points_reverse(
        user_id=referral.inviter_id,
        earn_entry_id=entry_id,
        idempotency_key=f"{_key(referral, what)}:held",
        **notices.referral_held_memo().memo,
    )


def _key(referral: Referral, what: str) -> str:
    """The idempotency key of a reward (or an inbox message); rewards paid again after a hold get fresh ones."""
    return rules.referral_key(referral_id=referral.pk, what=what, reward_round=referral.reward_round)


def _save(referral: Referral, *fields: str) -> None:
    referral.save(update_fields=list(fields))


def _pay_signup_reward(referral: Referral, now: datetime) -> None:
    rewarded = selectors.rewarded_invites_this_month(inviter_id=referral.inviter_id, now=now)
    cap = selectors.referral_monthly_cap()
    if rewarded >= cap:
        referral.no_reward_reason = NoRewardReason.MONTHLY_CAP
        _save(referral, "no_reward_reason")
        _tell_inviter(referral, "monthly_cap", notices.referral_monthly_cap(friend=_friend(referral), cap=cap))
        return
    pending_until = rules.signup_reward_available_at(
        created_at=referral.created_at,
        signup_ip=referral.signup_ip,
        reviewed=referral.reviewed_at is not None,
        now=now,
        window=rules.referral_hold_window(burst_minutes=selectors.referral_burst_limit()[1]),
    )
    result = points_services.points_award(
        user_id=referral.inviter_id,
        source=EarningSource.REFERRAL_SIGNUP,
        idempotency_key=_key(referral, "signup"),
        reference=f"referral:{referral.pk}",
        **notices.referral_signup_memo(friend=_friend(referral)).memo,
        available_at=pending_until,
    )
    referral.rewarded_at = now
    referral.signup_points = result.granted
    referral.signup_available_at = (pending_until or now) if result.granted else None
    referral.signup_entry_id = result.receipt.entry_id if result.receipt else None
    _save(referral, "rewarded_at", "signup_points", "signup_available_at", "signup_entry_id")
    signals.friend_signed_up.send(sender=Referral, user_id=referral.inviter_id, reference=f"referral:{referral.pk}")
    if not result.granted:
        _tell_inviter(
            referral, "signup", notices.referral_signup_no_reward(friend=_friend(referral), reason=result.reason)
        )
        return
    _tell_inviter(
        referral,
        "signup",
        notices.referral_signup_reward(friend=_friend(referral), points=result.granted, available_at=pending_until),
    )


def _pay_first_order_reward(referral: Referral, now: datetime) -> None:
    result = points_services.points_award(
        user_id=referral.inviter_id,
        source=EarningSource.REFERRAL_FIRST_ORDER,
        idempotency_key=_key(referral, "first_order"),
        reference=f"referral:{referral.pk}",
        **notices.referral_first_order_memo(friend=_friend(referral)).memo,
        available_at=referral.first_order_available_at,
    )
    referral.first_order_rewarded_at = now
    referral.first_order_points = result.granted
    referral.first_order_entry_id = result.receipt.entry_id if result.receipt else None
    _save(referral, "first_order_rewarded_at", "first_order_points", "first_order_entry_id")
    available_at = referral.first_order_available_at
    if not result.granted:
        _tell_inviter(
            referral,
            "first_order",
            notices.referral_first_order_no_reward(friend=_friend(referral), reason=result.reason),
        )
        return
    later = available_at is not None and available_at > now
    _tell_inviter(
        referral,
        "first_order",
        notices.referral_first_order_reward(
            friend=_friend(referral),
            points=result.granted,
            available_on=clock.business_date(available_at) if later else None,
        ),
    )


def _pay_due(referral: Referral, now: datetime) -> None:
    """Pay the inviter whatever this referral has earned and not been paid yet.

    The caller holds the inviter's points account lock and the referral's row lock.
    """
    if referral.status != ReferralStatus.APPROVED or referral.verified_at is None or referral.no_reward_reason:
        return
    if points_selectors.account_frozen_since(user_id=referral.inviter_id) is not None:
        # A frozen inviter earns nothing (docs/decisions/0055); the friend's own step (confirming
        # an e-mail, a first order) must not fail for it. The reward stays undecided, kept for the
        # unfreeze (referral_rewards_pay_due, 0056) — unless the inviter deleted their account: a
        # deletion freezes it for good, and forfeits what was not paid.
        if selectors.user_deleted(user_id=referral.inviter_id):
            referral.no_reward_reason = NoRewardReason.INVITER_DELETED
            _save(referral, "no_reward_reason")
        return
    if referral.rewarded_at is None:
        _pay_signup_reward(referral, now)
        if referral.no_reward_reason:
            return
    if (
        referral.first_order_reference
        and referral.first_order_rewarded_at is None
        and referral.first_order_withdrawn_at is None
    ):
        _pay_first_order_reward(referral, now)


@transaction.atomic
def referral_rewards_pay_due(*, inviter_id: int) -> int:
    """Pay the inviter every referral reward that fell due and was kept back (the inviter's points
    account was frozen when the friend confirmed or ordered, docs/decisions/0056); returns how many
    referrals paid something. Call it when the account is unfrozen (``account_unfreeze`` does).

    Nothing for an inviter still frozen; a deleted inviter's kept rewards are forfeited instead
    (``INVITER_DELETED``). Locks: the inviter's points account, then each referral in pk order.
    Safe to call twice and concurrently: a paid reward is recorded on its referral (and its ledger
    entry keyed), so a second call pays nothing.
    """
    points_services.account_lock(user_id=inviter_id)
    due = Referral.objects.filter(
        inviter_id=inviter_id, status=ReferralStatus.APPROVED, verified_at__isnull=False, no_reward_reason=""
    ).filter(
        Q(rewarded_at__isnull=True)
        | (
            ~Q(first_order_reference="")
            & Q(first_order_rewarded_at__isnull=True, first_order_withdrawn_at__isnull=True)
        )
    )
    now, paid = timezone.now(), 0
    for referral_id in due.order_by("pk").values_list("pk", flat=True):
        referral = locks.referral_by_id_for_update(referral_id=referral_id)
        if referral is None:
            continue
        before = (referral.rewarded_at, referral.first_order_rewarded_at)
        _pay_due(referral, now)
        if (referral.rewarded_at, referral.first_order_rewarded_at) != before:
            paid += 1
    return paid


def _locked_referral_of(invitee_id: int) -> Referral | None:
    inviter_id = Referral.objects.filter(invitee_id=invitee_id).values_list("inviter_id", flat=True).first()
    if inviter_id is None:
        return None
    points_services.account_lock(user_id=inviter_id)
    return locks.referral_for_update(invitee_id=invitee_id)


def _is_self_referral(referral: Referral, email: str, identity_rules: rules.EmailIdentityRules) -> bool:
    """Whether the friend is the inviter: the confirmed address, any other address or the
    verified phone of the friend's account is one of the inviter's (as normalised mailboxes)."""
    friend = selectors.person_identities(user_id=referral.invitee_id, identity_rules=identity_rules)
    friend |= {selectors.email_identity(email=email, identity_rules=identity_rules)}
    inviter = selectors.person_identities(user_id=referral.inviter_id, identity_rules=identity_rules)
    return rules.is_same_person(friend, inviter)


@transaction.atomic
def referral_confirm(*, invitee_id: int, email: str) -> None:
    """The invited friend confirmed their e-mail: approve the referral (unless it is held or
    denied) and pay the inviter's sign-up reward, within the inviter's monthly cap (pending
    until an hour after the sign-up, see the module docstring).

    Earns nothing, now or at the friend's first order, and takes no place under the cap: a
    friend who is the inviter (one of the friend's addresses or verified phone is the
    inviter's, compared as normalised mailboxes: ``alice+2@`` inviting from ``alice@``), and
    an address whose mailbox was invited before (an account deleted and made again).
    Members who were not invited: nothing happens. Locks: the inviter's points account,
    then the referral. Safe to call twice: only the first confirmation counts.
    """
    referral = _locked_referral_of(invitee_id)
    if referral is None or referral.verified_at is not None:
        return
    now = timezone.now()
    identity_rules = selectors.email_identity_rules()
    identity = points_services.identity_hash(selectors.email_identity(email=email, identity_rules=identity_rules))
    referral.verified_at = now
    referral.invitee_identity = identity
    if _is_self_referral(referral, email, identity_rules):
        referral.no_reward_reason = NoRewardReason.SELF_REFERRAL
    elif Referral.objects.filter(invitee_identity=identity).exclude(pk=referral.pk).exists() or (
        # The mailbox of someone who is (or was) a member already: alice+1@ is alice, not a friend.
        points_selectors.identity_known_elsewhere(
            user_id=referral.invitee_id,
            identities=[selectors.email_identity(email=email, identity_rules=identity_rules)],
        )
    ):
        referral.no_reward_reason = NoRewardReason.KNOWN_EMAIL
    if referral.status == ReferralStatus.PENDING:
        referral.status = ReferralStatus.APPROVED
    _save(referral, "verified_at", "invitee_identity", "no_reward_reason", "status")
    if referral.no_reward_reason == NoRewardReason.SELF_REFERRAL:
        _tell_inviter(referral, "self_referral", notices.referral_self(friend=_friend(referral)))
        return
    if referral.no_reward_reason == NoRewardReason.KNOWN_EMAIL:
        _tell_inviter(referral, "known_email", notices.referral_known_email(friend=_friend(referral)))
        return
    _pay_due(referral, now)


@transaction.atomic
def referral_first_order_record(*, invitee_id: int, reference: str, available_at: datetime) -> None:
    """The invited friend's first order: the inviter's reward, pending until ``available_at``
    (the end of the friend's returns window), so a self-referral cannot cash out at once.

    Only the friend's first order counts. Paid now if the referral is approved, otherwise
    when it is (an operator's approval, or the friend's e-mail confirmation); never if it is
    denied or over the cap. Members who were not invited: nothing happens. Locks: the
    inviter's points account, then the referral. Safe to call twice.
    """
    referral = _locked_referral_of(invitee_id)
    if referral is None or referral.first_order_reference:
        return
    referral.first_order_reference = reference[:100]
    referral.first_order_available_at = available_at
    _save(referral, "first_order_reference", "first_order_available_at")
    _pay_due(referral, timezone.now())


@transaction.atomic
def referral_first_order_withdraw(*, invitee_id: int, reference: str) -> bool:
    """The friend's first order was undone (a purchase refunded in full, a redemption cancelled,
    rejected or timed out): the inviter's first-order reward goes with it. Returns whether
    the reward was withdrawn.

    Still pending: the pending points are cancelled. Already available: they are reversed
    like any earn whose cause is undone (own lot, then other lots, then debt:
    docs/decisions/0006). Not paid yet (the referral is pending or held): it never will be.
    Either way the inviter is told, and the same friend's later orders are not a first order
    again. Another order's reference changes nothing. Locks: the inviter's points account,
    then the referral (called from inside the friend's ledger operation, the friend's account
    is locked before both). Safe to call twice: the second call returns False.
    """
    referral = _locked_referral_of(invitee_id)
    if referral is None or referral.first_order_reference != reference or referral.first_order_withdrawn_at:
        return False
    now = timezone.now()
    if referral.first_order_entry_id is not None:
        was_pending = referral.first_order_available_at is not None and referral.first_order_available_at > now
        points_services.points_reverse(
            user_id=referral.inviter_id,
            earn_entry_id=referral.first_order_entry_id,
            idempotency_key=f"{_key(referral, 'first_order')}:withdrawn",
            **notices.referral_first_order_refunded_memo().memo,
        )
        _tell_inviter(
            referral,
            "first_order_withdrawn",
            notices.referral_first_order_withdrawn(
                friend=_friend(referral), points=referral.first_order_points, pending=was_pending
            ),
        )
    referral.first_order_withdrawn_at = now
    _save(referral, "first_order_withdrawn_at")
    return True


def _locked_referral(referral_id: int) -> Referral:
    inviter_id = Referral.objects.filter(pk=referral_id).values_list("inviter_id", flat=True).first()
    if inviter_id is None:
        raise ReferralNotFoundError()
    points_services.account_lock(user_id=inviter_id)
    return locks.referral_by_id_for_update(referral_id=referral_id)


@transaction.atomic
def referral_approve(*, referral_id: int, reviewer_id: int) -> None:
    """An operator clears a referral held for review: the inviter is paid what it has earned
    so far (within the monthly cap), the rest as it comes.

    Raises ReferralNotFoundError, or ReferralNotHeldError (writing nothing) for one that is not held.
    Locks: the inviter's points account, then the referral. A second call raises ReferralNotHeldError.
    """
    referral = _locked_referral(referral_id)
    if referral.status != ReferralStatus.HELD:
        raise ReferralNotHeldError(status=ReferralStatus(referral.status).label)
    now = timezone.now()
    referral.status = ReferralStatus.APPROVED
    referral.reviewed_by_id = reviewer_id
    referral.reviewed_at = now
    _save(referral, "status", "reviewed_by", "reviewed_at")
    if referral.verified_at is None:
        _tell_inviter(referral, "approved", notices.referral_approved(friend=_friend(referral)))
        return
    _pay_due(referral, now)


@transaction.atomic
def referral_deny(*, referral_id: int, reviewer_id: int) -> None:
    """An operator refuses a pending or held referral: it never earns the inviter anything.
    The friend stays bound (an invitation never changes) and keeps their own account.

    Raises ReferralNotFoundError, or ReferralNotDeniableError (writing nothing) once it is approved or
    denied. Locks: the inviter's points account, then the referral. A second call raises.
    """
    referral = _locked_referral(referral_id)
    if referral.status not in (ReferralStatus.PENDING, ReferralStatus.HELD):
        raise ReferralNotDeniableError(status=ReferralStatus(referral.status).label)
    referral.status = ReferralStatus.DENIED
    referral.reviewed_by_id = reviewer_id
    referral.reviewed_at = timezone.now()
    _save(referral, "status", "reviewed_by", "reviewed_at")
    _tell_inviter(referral, "denied", notices.referral_denied(friend=_friend(referral)))
