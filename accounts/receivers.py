"""Signal receivers: the accounts app reacts to what happens elsewhere."""

from __future__ import annotations

from datetime import date, datetime

from allauth.account.signals import email_confirmed, user_signed_up
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts import rules, selectors, services
from accounts.adapters import bind_invite
from accounts.enums import NotificationKind
from points import features as points_features
from points import selectors as points_selectors
from points import services as points_services
from points.enums import TierChange
from points.signals import (
    expiry_reminder_due,
    points_refunded,
    points_spent,
    purchase_recorded,
    purchase_refunded,
    tier_changed,
    tier_downgrade_warning,
)


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


@receiver(expiry_reminder_due, dispatch_uid="accounts.notify_points_expiring")
def notify_points_expiring(sender, user_id: int, points: int, expires_on: date, **kwargs) -> None:
    """Tell the member, in their own language, that points are about to expire.

    Runs inside the reminder job's transaction, so the message and the "reminded" mark on
    the lots commit together; the dedupe key keeps a retried batch from sending it twice.
    """
    day = expires_on.isoformat()
    with translation.override(selectors.member_language(user_id=user_id)):
        title = ngettext("%(points)s point expires on %(date)s", "%(points)s points expire on %(date)s", points) % {
            "points": points,
            "date": day,
        }
        body = gettext(
            "Spend them by the end of %(date)s, or they expire. Your points page lists what expires when."
        ) % {"date": day}
        link = reverse("my_points")
    services.notification_send(
        user_id=user_id,
        kind=NotificationKind.POINTS,
        title=title,
        body=body,
        link=link,
        dedupe_key=f"points.expiry_reminder:{day}:{points}",
    )


@receiver(email_confirmed, dispatch_uid="accounts.reward_confirmed_email")
def reward_confirmed_email(sender, request, email_address, **kwargs) -> None:
    """A confirmed e-mail is what makes a sign-up real: the member's sign-up bonus, then the
    inviter's reward for it (both once, however often addresses are confirmed)."""
    services.signup_bonus_claim(user_id=email_address.user_id, email=email_address.email)
    services.referral_confirm(invitee_id=email_address.user_id, email=email_address.email)


@receiver(user_signed_up, dispatch_uid="accounts.bind_invite_from_session")
def bind_invite_from_session(sender, request, user, **kwargs) -> None:
    """Sign-ups that skip the sign-up form (a social account) still honour the invite link they
    came through. The form takes the code out of the session itself, whatever it did with it."""
    code = request.session.pop(rules.INVITE_SESSION_KEY, None) if request is not None else None
    if code:
        bind_invite(request, user_id=user.pk, code=code)


def _tier_name(code: str) -> str:
    """The tier's name in the active language (the code if the tier was removed since)."""
    return next((tier.name for tier in points_selectors.tier_ladder() if tier.code == code), code)


@receiver(tier_changed, dispatch_uid="accounts.notify_tier_changed")
def notify_tier_changed(sender, user_id: int, old_tier: str, new_tier: str, change: str, **kwargs) -> None:
    """Congratulate on an upgrade, explain a downgrade; in the member's language.

    Runs inside the ledger's transaction. Tiers change at most once a day in each direction
    between two given tiers, so the day is enough to keep a retried job from repeating it.
    """
    with translation.override(selectors.member_language(user_id=user_id)):
        ladder = {tier.code: tier for tier in points_selectors.tier_ladder()}
        tier = ladder.get(new_tier)
        name = tier.name if tier else new_tier
        if change == TierChange.UPGRADE:
            title = gettext("Congratulations, you are now %(tier)s") % {"tier": name}
            benefits = {
                "percent": tier.price_percent if tier else 100,
                "multiplier": f"{tier.earn_multiplier.normalize():f}" if tier else "1",
                "draws": tier.monthly_free_draws if tier else 0,
            }
            if tier is None:
                body = ""
            elif points_features.feature_live(points_features.LOTTERY) and tier.monthly_free_draws:
                body = (
                    ngettext(
                        "Your benefits: redeem at %(percent)s%% of the points price, earn points ×%(multiplier)s "
                        "and draw %(draws)s free prize a month.",
                        "Your benefits: redeem at %(percent)s%% of the points price, earn points ×%(multiplier)s "
                        "and draw %(draws)s free prizes a month.",
                        tier.monthly_free_draws,
                    )
                    % benefits
                )
            else:
                # No prize draws until the lottery exists: the notice promises only what the mall gives.
                body = (
                    gettext(
                        "Your benefits: redeem at %(percent)s%% of the points price and earn points ×%(multiplier)s."
                    )
                    % benefits
                )
        else:
            title = gettext("Your tier is now %(tier)s") % {"tier": name}
            body = gettext(
                "Tiers follow the points you earned over the last months. Your tier page shows what it takes "
                "to move up again."
            )
        link = reverse("my_tier")
    day = timezone.localdate().isoformat()
    services.notification_send(
        user_id=user_id,
        kind=NotificationKind.POINTS,
        title=title,
        body=body,
        link=link,
        dedupe_key=f"points.tier_changed:{day}:{old_tier}:{new_tier}",
    )


@receiver(tier_downgrade_warning, dispatch_uid="accounts.notify_tier_downgrade_warning")
def notify_tier_downgrade_warning(sender, user_id: int, tier: str, needed: int, deadline: date, **kwargs) -> None:
    """Warn, once per recalculation, what it takes to keep the tier ("earn 320 more points by …")."""
    day = deadline.isoformat()
    with translation.override(selectors.member_language(user_id=user_id)):
        title = ngettext(
            "Earn %(points)s more point by %(date)s to keep %(tier)s",
            "Earn %(points)s more points by %(date)s to keep %(tier)s",
            needed,
        ) % {"points": needed, "date": day, "tier": _tier_name(tier)}
        body = gettext(
            "Tiers are reviewed on the 1st of each month. Points count once they are available, not while pending."
        )
        link = reverse("my_tier")
    services.notification_send(
        user_id=user_id,
        kind=NotificationKind.POINTS,
        title=title,
        body=body,
        link=link,
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
def reward_inviter_for_first_redemption(sender, user_id: int, reference: str, available_at: datetime, **kwargs) -> None:
    """An invited friend's first redemption counts as the first order too (whichever comes first)."""
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
