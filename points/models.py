"""The points ledger tables.

Only ``points.services`` writes these tables (docs/decisions/0001). The cached numbers on
``Account`` are always equal to sums over ``Entry`` and ``Lot``; ``points_verify``
checks that over the whole database.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points.enums import EntryKind, ExpiryMode, ExpiryRounding, LotStatus


class Account(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="points_account", verbose_name=_("member")
    )
    balance = models.BigIntegerField(_("available"), default=0)
    pending = models.BigIntegerField(_("pending"), default=0)
    # Points a reversal could not take back; future earnings pay it off first (docs/decisions/0006).
    debt = models.BigIntegerField(_("owed"), default=0)
    lifetime_earned = models.BigIntegerField(_("earned, lifetime"), default=0)
    lifetime_spent = models.BigIntegerField(_("spent, lifetime"), default=0)
    lifetime_expired = models.BigIntegerField(_("expired, lifetime"), default=0)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_account_balance_not_negative"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="points_account_pending_not_negative"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="points_account_debt_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.balance}"


class Entry(models.Model):
    """One change to an account. Append-only: never updated, never deleted.

    ``amount`` changes the available balance, ``pending_amount`` the pending points and
    ``debt_change`` what the member owes; an entry changes at least one of them.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account"))
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    amount = models.BigIntegerField(_("points"))
    pending_amount = models.BigIntegerField(_("pending points"), default=0)
    debt_change = models.BigIntegerField(_("owed change"), default=0)
    balance_after = models.BigIntegerField(_("balance after"))
    pending_after = models.BigIntegerField(_("pending after"), default=0)
    reference = models.CharField(_("reference"), max_length=100, blank=True, db_index=True)
    memo = models.CharField(_("description"), max_length=200, blank=True)
    related_entry = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("related entry"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("operator"),
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [
            models.Index(fields=["account", "-id"], name="points_entry_account_recent"),
            models.Index(fields=["account", "kind", "created_at"], name="points_entry_account_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0, pending_amount=0, debt_change=0), name="points_entry_changes_something"
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="points_entry_balance_after_not_negative"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount:+d}"


class Lot(models.Model):
    """Points from one earn, with their own availability and expiry.

    Every writer of a lot holds its account's row lock first, so lots need no lock of
    their own (docs/decisions/0002).
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots", verbose_name=_("account"))
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="opened_lots", verbose_name=_("opened by"))
    amount = models.BigIntegerField(_("points"))
    remaining = models.BigIntegerField(_("remaining"))
    status = models.CharField(_("status"), max_length=12, choices=LotStatus.choices, default=LotStatus.AVAILABLE)
    earned_at = models.DateTimeField(_("earned"))
    available_at = models.DateTimeField(_("available from"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("expiry reminder sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        indexes = [
            models.Index(fields=["account", "status", "expires_at"], name="points_lot_account_spendable"),
            models.Index(
                fields=["account", "expires_at"],
                name="points_lot_expiry_due",
                condition=Q(status=LotStatus.AVAILABLE, remaining__gt=0),
            ),
            models.Index(fields=["available_at"], name="points_lot_vest_due", condition=Q(status=LotStatus.PENDING)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="points_lot_amount_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=F("amount")), name="points_lot_remaining_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"lot #{self.pk}: {self.remaining}/{self.amount}"


class LotMovement(models.Model):
    """How much one entry took from (negative) or put into (positive) one lot."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="movements", verbose_name=_("entry"))
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements", verbose_name=_("lot"))
    amount = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("lot movement")
        verbose_name_plural = _("lot movements")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="points_movement_not_zero")]

    def __str__(self) -> str:
        return f"entry {self.entry_id} → lot {self.lot_id}: {self.amount:+d}"


class ExpiryPolicy(models.Model):
    """When earned points expire. One row (pk=1), edited by operators in admin."""

    mode = models.CharField(_("expiry"), max_length=12, choices=ExpiryMode.choices, default=ExpiryMode.ROLLING_MONTHS)
    months = models.PositiveSmallIntegerField(_("months (rolling)"), default=12)
    rounding = models.CharField(
        _("round up to"), max_length=8, choices=ExpiryRounding.choices, default=ExpiryRounding.END_OF_DAY
    )
    reminder_days = models.PositiveSmallIntegerField(_("remind this many days before"), default=30)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("expiry policy")
        verbose_name_plural = _("expiry policy")
        constraints = [models.CheckConstraint(condition=Q(months__gte=1), name="points_policy_months_positive")]

    def __str__(self) -> str:
        return str(_("Expiry policy"))


class RulesPage(models.Model):
    """The operator-written part of the public rules page (积分规则说明). One row (pk=1)."""

    title_zh = models.CharField(_("title (Chinese)"), max_length=100, default="积分规则说明")
    title_en = models.CharField(_("title (English)"), max_length=100, default="Points rules")
    body_zh = models.TextField(_("text (Chinese)"), blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rules page")
        verbose_name_plural = _("rules page")

    def __str__(self) -> str:
        return self.title_en
