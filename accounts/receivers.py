"""Signal receivers: the accounts app reacts to what happens elsewhere."""

from __future__ import annotations

from datetime import date, datetime

from allauth.account.signals import email_confirmed, user_logged_in, user_signed_up
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import translation

from accounts import notices, rules, services
from accounts.adapters import bind_invite
from accounts.devices import device_hash
from accounts.enums import NotificationKind
from accounts.middleware import set_language_cookie
from points import notices as notices_base
from points import selectors as points_selectors
from points import services as points_services
from points.enums import EarningSource, TierChange
from points.signals import (
    expiry_reminder_due,
    points_earned,
    points_refunded,
    points_spent,
    purchase_recorded,
    purchase_refunded,
    tier_changed,
    tier_downgrade_warning,
)
from pointsmall.kernel import clock
from pointsmall.kernel.language import is_site_language


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.open_points_account")
def open_points_account(sender, instance, created: bool, **kwargs) -> None:
    """Every member has a points account from the moment they exist (idempotent)."""
    if created:
        points_services.account_open(user_id=instance.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.make_invite_code")
def make_invite_code(sender, instance, created: bool, **kwargs) -> None:
    """Every member has an invite code from the moment they exist (idempotent)."""
    if created:
        services.invite_code_ensure(user_id=instance.pk)


def _tell_about_points(user_id: int, notice: notices_base.Notice, *, link: str, dedupe_key: str) -> None:
    """One inbox message of the POINTS kind, rendered from ``notice`` in the reader's language;
    ``dedupe_key`` keeps a retried job or signal from sending it twice."""
    services.notification_send(
        user_id=user_id, kind=NotificationKind.POINTS, **notice.message, link=link, dedupe_key=dedupe_key
    )


@receiver(expiry_reminder_due, dispatch_uid="accounts.notify_points_expiring")
def notify_points_expiring(
    sender, user_id: int, points: int, dates: list[tuple[date, int]], reminder_id: int, **kwargs
) -> None:
    """Tell the member which points are about to expire: how many on each day.

    Runs inside the reminder job's transaction, so the message and the "reminded" mark on
    the lots commit together; the dedupe key (the reminder's first lot, reminded once) keeps
    a retried batch from sending it twice. Rendered in the reader's language when read.
    """
    _tell_about_points(
        user_id,
        notices.expiry_reminder(points=points, dates=dates),
        link=reverse("my_points"),
        dedupe_key=f"points.expiry_reminder:{reminder_id}",
    )


# Earnings whose own message already tells the member about their points.
TOLD_ELSEWHERE = frozenset(
    {
        EarningSource.SIGNUP,
        EarningSource.REFERRAL_SIGNUP,
        EarningSource.REFERRAL_FIRST_ORDER,
        EarningSource.LOTTERY,
        EarningSource.LEADERBOARD,
    }
)


@receiver(points_earned, dispatch_uid="accounts.notify_points_earned")
def notify_points_earned(
    sender,
    user_id: int,
    entry_id: int,
    points: int,
    source: str,
    pending: bool,
    available_at: datetime,
    memo: dict,
    **kwargs,
) -> None:
    """Tell the member about a large earning (``NOTIFY_POINTS_EARNED_MIN`` points or more at once):
    what for, and when pending points vest. Earnings whose own message already says it (sign-up
    bonus, referral rewards, prize draws, leaderboard prizes) are not told twice.

    Runs inside the ledger's transaction; the entry id keeps it to one message per earning.
    """
    if points < settings.NOTIFY_POINTS_EARNED_MIN or source in TOLD_ELSEWHERE:
        return
    _tell_about_points(
        user_id,
        notices.points_earned(
            points=points, what=memo, available_on=clock.business_date(available_at) if pending else None
        ),
        link=reverse("my_points"),
        dedupe_key=f"points.earned:{entry_id}",
    )


@receiver(email_confirmed, dispatch_uid="accounts.reward_confirmed_email")
def reward_confirmed_email(sender, request, email_address, **kwargs) -> None:
    """A confirmed e-mail is what makes a sign-up real: the member's sign-up bonus, then the
    inviter's reward for it (both once, however often addresses are confirmed)."""
    services.signup_bonus_claim(user_id=email_address.user_id, email=email_address.email)
    services.referral_confirm(invitee_id=email_address.user_id, email=email_address.email)


@receiver(user_signed_up, dispatch_uid="accounts.record_signup_device")
@receiver(user_logged_in, dispatch_uid="accounts.record_login_device")
def record_device(sender, request, user, **kwargs) -> None:
    """The device a member signs up or signs in on (its cookie's keyed hash): a friend who later signs
    up on it through this member's invite is held for review (docs/decisions/0056)."""
    services.member_device_record(user_id=user.pk, device_hash=device_hash(request))


@receiver(user_signed_up, dispatch_uid="accounts.bind_invite_from_session")
def bind_invite_from_session(sender, request, user, **kwargs) -> None:
    """Sign-ups that skip the sign-up form (a social account) still honour the invite link they
    came through. The form takes the code out of the session itself, whatever it did with it."""
    code = request.session.pop(rules.INVITE_SESSION_KEY, None) if request is not None else None
    if code:
        bind_invite(request, user_id=user.pk, code=code)


@receiver(user_logged_in, dispatch_uid="accounts.apply_profile_language")
def apply_profile_language(sender, request, user, response=None, **kwargs) -> None:
    """Signing in on any device switches the mall to the member's profile language at once
    (the "signed in" message included), and the language cookie follows it. A member who never
    chose one keeps the language they signed in with, and it becomes their profile language."""
    if is_site_language(user.language):
        language = user.language
    else:
        language = translation.get_language() or settings.LANGUAGE_CODE
        services.profile_language_set(user_id=user.pk, language=language)
        user.language = language
    translation.activate(language)
    if request is not None:
        request.LANGUAGE_CODE = language
    if response is not None:
        set_language_cookie(response, language)


def _tier_name(code: str) -> dict:
    """The tier's names in both languages, for the reader's to pick (the code if the tier was removed since)."""
    tier = points_selectors.tier_names().get(code)
    return tier if tier is not None else notices_base.bilingual(zh=code, en=code)


@receiver(tier_changed, dispatch_uid="accounts.notify_tier_changed")
def notify_tier_changed(sender, user_id: int, old_tier: str, new_tier: str, change: str, **kwargs) -> None:
    """Congratulate on an upgrade (with the tier's benefits then), explain a downgrade.

    Runs inside the ledger's transaction. Tiers change at most once a day in each direction
    between two given tiers, so the day is enough to keep a retried job from repeating it.
    """
    tier = next((t for t in points_selectors.tier_ladder() if t.code == new_tier), None)
    if change == TierChange.UPGRADE and tier is not None:
        notice = notices.tier_upgraded(
            tier=_tier_name(new_tier),
            percent=tier.price_percent,
            multiplier=f"{tier.earn_multiplier.normalize():f}",
            draws=tier.monthly_free_draws,
        )
    else:
        notice = notices.tier_downgraded(tier=_tier_name(new_tier))
    day = clock.business_date().isoformat()
    _tell_about_points(
        user_id, notice, link=reverse("my_tier"), dedupe_key=f"points.tier_changed:{day}:{old_tier}:{new_tier}"
    )


@receiver(tier_downgrade_warning, dispatch_uid="accounts.notify_tier_downgrade_warning")
def notify_tier_downgrade_warning(sender, user_id: int, tier: str, needed: int, deadline: date, **kwargs) -> None:
    """Warn, once per recalculation, what it takes to keep the tier ("earn 320 more points by …")."""
    day = deadline.isoformat()
    _tell_about_points(
        user_id,
        notices.tier_warning(points=needed, deadline=deadline, tier=_tier_name(tier)),
        link=reverse("my_tier"),
        dedupe_key=f"points.tier_warning:{tier}:{day}",
    )


@receiver(purchase_recorded, dispatch_uid="accounts.reward_inviter_for_first_purchase")
def reward_inviter_for_first_purchase(
    sender, user_id: int, external_id: str, first: bool, available_at: datetime, **kwargs
) -> None:
    """An invited friend's first purchase earns the inviter a reward that vests with the purchase."""
    if first:
        services.referral_first_order_record(
            invitee_id=user_id, reference=f"shop.order:{external_id}", available_at=available_at
        )


@receiver(points_spent, dispatch_uid="accounts.reward_inviter_for_first_redemption")
def reward_inviter_for_first_redemption(
    sender, user_id: int, reference: str, first: bool, available_at: datetime, **kwargs
) -> None:
    """An invited friend's first redemption counts as the first order too (whichever comes first).
    ``points_spent`` is sent for every spend; only the member's first one counts."""
    if first:
        services.referral_first_order_record(invitee_id=user_id, reference=reference, available_at=available_at)


@receiver(purchase_refunded, dispatch_uid="accounts.withdraw_first_order_reward")
def withdraw_first_order_reward(sender, user_id: int, external_id: str, full: bool, **kwargs) -> None:
    """A fully refunded first purchase takes the inviter's first-order reward back (pending or not)."""
    if full:
        services.referral_first_order_withdraw(invitee_id=user_id, reference=f"shop.order:{external_id}")


@receiver(points_refunded, dispatch_uid="accounts.withdraw_first_redemption_reward")
def withdraw_first_redemption_reward(sender, user_id: int, reference: str, full: bool, **kwargs) -> None:
    """A first redemption that is given back in full (cancelled by the friend, rejected by an
    operator, or cancelled because its cash part was not paid in time) takes the inviter's
    first-order reward back. Runs inside the refund's transaction: the withdrawal commits
    with the refund or not at all."""
    if full:
        services.referral_first_order_withdraw(invitee_id=user_id, reference=reference)


@receiver(points_refunded, dispatch_uid="accounts.flag_redeem_cancel_loop")
def flag_redeem_cancel_loop(sender, user_id: int, reference: str, full: bool, **kwargs) -> None:
    """A redemption given back in full counts towards a redeem-and-cancel loop (docs/decisions/0056).
    Inside the refund's transaction: the flag and the hold commit with the refund."""
    if full:
        services.redeem_cancel_check(user_id=user_id)
