"""Choices other apps pass into accounts.services."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    POINTS = "points", _("Points")
    ORDER = "order", _("Orders")
    ACCOUNT = "account", _("Account and security")
    ANNOUNCEMENT = "announcement", _("Announcements")
    ACTIVITY = "activity", _("Check-in, tasks and leaderboard")


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for e-mail confirmation")
    HELD = "held", _("Held for review")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")


class HoldReason(models.TextChoices):
    SAME_IP = "same_ip", _("Many sign-ups from one IP address within an hour")
    SAME_DEVICE = "same_device", _("Signed up on the inviter's device, or on a device another friend used")
    INVITE_BURST = "invite_burst", _("Many sign-ups through one invite link in a short time")
    REDEEM_CANCEL = "redeem_cancel", _("The friend redeems and cancels again and again")


class RiskReason(models.TextChoices):
    """Why a member was flagged for review (accounts.services.risk_flag_raise)."""

    CHECKIN_BURST = "checkin_burst", _("Many check-ins from one IP address in a short time")
    REFERRAL_DEVICE = "referral_device", _("Invited friends signed up on one device")
    REFERRAL_BURST = "referral_burst", _("A burst of invited sign-ups")
    REDEEM_CANCEL_LOOP = "redeem_cancel_loop", _("Redeems and cancels again and again")


class NoRewardReason(models.TextChoices):
    MONTHLY_CAP = "monthly_cap", _("Over the inviter's monthly limit of rewarded invites")
    KNOWN_EMAIL = "known_email", _("This e-mail address was invited before")
    SELF_REFERRAL = "self_referral", _("The friend's e-mail or phone is the inviter's own")
    INVITER_DELETED = "inviter_deleted", _("The inviter deleted their account before the reward was paid")


class NotificationChannel(models.TextChoices):
    INBOX = "inbox", _("Inbox")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class DeliveryReason(models.TextChoices):
    """Why a delivery was skipped or failed, or what was noteworthy about a sent one: stored as
    a code, shown translated (docs/decisions/0019); the provider's own words go to ``last_error``."""

    NO_EMAIL = "no_email", _("The member has no verified e-mail address")
    NO_PHONE = "no_phone", _("The member has no verified phone number")
    SWITCHED_OFF = "switched_off", _("The member switched this channel off for this kind")
    PERMANENT = "permanent", _("Refused for good by the provider (not retried)")
    GAVE_UP = "gave_up", _("Still failing after the last attempt")
    TEMPLATE_FALLBACK = "template_fallback", _("The operator's template failed; the built-in text was sent")


# Skipped deliveries that may be sent again (the member may have verified an address since).
RESENDABLE_SKIPS = frozenset({DeliveryReason.NO_EMAIL, DeliveryReason.NO_PHONE})


# What a member receives on each channel before they change anything (docs/decisions/0029):
# every kind in the inbox; by e-mail what concerns their orders and their account; by SMS
# only their orders. Marketing-like kinds (announcements, activity, points news) stay out of
# mailboxes and phones until the member asks for them.
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    NotificationKind.POINTS: frozenset({NotificationChannel.INBOX}),
    NotificationKind.ORDER: frozenset({NotificationChannel.INBOX, NotificationChannel.EMAIL, NotificationChannel.SMS}),
    NotificationKind.ACCOUNT: frozenset({NotificationChannel.INBOX, NotificationChannel.EMAIL}),
    NotificationKind.ANNOUNCEMENT: frozenset({NotificationChannel.INBOX}),
    NotificationKind.ACTIVITY: frozenset({NotificationChannel.INBOX}),
}
# Cells of the preferences matrix that are always on, whatever is stored or posted: order
# messages always reach the inbox (the page shows the box ticked and disabled). docs/decisions/0029.
ALWAYS_ON: frozenset[tuple[str, str]] = frozenset({(NotificationKind.ORDER, NotificationChannel.INBOX)})
