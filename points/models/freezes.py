"""The record of every freeze and unfreeze of a points account (docs/decisions/0055)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from points.enums import FreezeAction
from points.models.ledger import Account


class AccountFreeze(models.Model):
    """One operator's freeze or unfreeze of a member's points account. Append-only: written by
    ``points.services.points_account_freeze``/``points_account_unfreeze`` in the transaction that
    changes ``Account.frozen_at``, never updated or deleted. The services refuse a freeze of a
    frozen account and an unfreeze of one that is not, so every row changes the state: a freeze
    is "not frozen → frozen", an unfreeze "frozen → not frozen"."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="freezes", verbose_name=_("points account")
    )
    action = models.CharField(_("action"), max_length=10, choices=FreezeAction.choices)
    # Why, as the operator wrote it: for the staff and, in the inbox message, for the member.
    reason = models.TextField(_("reason"), max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("operator")
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("account freeze")
        verbose_name_plural = _("account freezes")
        indexes = [models.Index(fields=["account", "-created_at"], name="points_freeze_account_recent")]

    def __str__(self) -> str:
        return f"{self.account} · {self.get_action_display()}"
