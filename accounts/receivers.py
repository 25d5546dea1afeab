"""Signal receivers: the accounts app reacts to what happens elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from points import services as points_services


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.open_points_account")
def open_points_account(sender, instance, created: bool, **kwargs) -> None:
    """Every member has a points account from the moment they exist (idempotent)."""
    if created:
        points_services.account_open(user_id=instance.pk)
