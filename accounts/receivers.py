"""Signal receivers: the accounts app reacts to what happens elsewhere."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from accounts import services
from accounts.enums import NotificationKind
from points import services as points_services
from points.signals import expiry_reminder_due


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.open_points_account")
def open_points_account(sender, instance, created: bool, **kwargs) -> None:
    """Every member has a points account from the moment they exist (idempotent)."""
    if created:
        points_services.account_open(user_id=instance.pk)


@receiver(expiry_reminder_due, dispatch_uid="accounts.notify_points_expiring")
def notify_points_expiring(sender, user_id: int, points: int, expires_on: date, **kwargs) -> None:
    """Tell the member, in their own language, that points are about to expire.

    Runs inside the reminder job's transaction, so the message and the "reminded" mark on
    the lots commit together; the dedupe key keeps a retried batch from sending it twice.
    """
    language = (
        get_user_model().objects.filter(pk=user_id).values_list("language", flat=True).first() or settings.LANGUAGE_CODE
    )
    day = expires_on.isoformat()
    with translation.override(language):
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
