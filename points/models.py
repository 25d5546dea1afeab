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

from points.enums import EarningSource, EntryKind, ExpiryMode, ExpiryRounding, LotStatus, PurchaseRateScope


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
    tier = models.ForeignKey(
        "Tier", on_delete=models.PROTECT, null=True, blank=True, related_name="accounts", verbose_name=_("tier")
    )
    tier_changed_at = models.DateTimeField(_("tier since"), null=True, blank=True)
    # The recalculation date a "keep your tier" warning was last sent for, so it is sent once.
    tier_warned_for = models.DateField(_("downgrade warning sent for"), null=True, blank=True)
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
        # The member only: lists of entries, lots and purchases show an account on every row,
        # and a balance here would be today's, not the row's (the row has ``balance_after``).
        return str(self.user)


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
    # What the member reads, rendered in their language when read (points.notices): a message
    # code and its parameters. ``memo`` is free text shown as written: an operator's reason.
    memo_code = models.CharField(_("message code"), max_length=60, blank=True)
    memo_params = models.JSONField(_("message parameters"), default=dict, blank=True)
    memo = models.CharField(_("description"), max_length=200, blank=True)
    # An operator's adjustment: why, for the staff only. The member reads ``memo``, never this.
    # A database default too, so the batch jobs' raw INSERTs need not name it.
    staff_note = models.CharField(_("internal note"), max_length=500, blank=True, default="", db_default="")
    # What earned the points (EarningSource), for caps, campaigns and reports; blank otherwise.
    source = models.CharField(_("source"), max_length=24, choices=EarningSource.choices, blank=True)
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
            models.Index(
                fields=["account", "source", "created_at"], name="points_entry_account_source", condition=~Q(source="")
            ),
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


class Tier(models.Model):
    """A membership level. Members qualify by points earned in the rolling window."""

    code = models.SlugField(_("tier code"), max_length=20, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=20)
    name_en = models.CharField(_("name (English)"), max_length=20)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("0 is the entry tier."))
    threshold = models.PositiveIntegerField(_("points to qualify"), help_text=_("Points earned in the window."))
    price_percent = models.PositiveSmallIntegerField(
        _("redemption price, %"), default=100, help_text=_("Members of this tier pay this share of the points price.")
    )
    earn_multiplier = models.DecimalField(_("earn multiplier"), max_digits=4, decimal_places=2, default=1)
    monthly_free_draws = models.PositiveSmallIntegerField(_("free prize draws a month"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_percent__gte=1, price_percent__lte=100), name="points_tier_price_percent_range"
            ),
            models.CheckConstraint(condition=Q(earn_multiplier__gte=1), name="points_tier_multiplier_at_least_one"),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} / {self.name_zh}"


class TierPolicy(models.Model):
    """How tiers are kept. One row (pk=1)."""

    window_months = models.PositiveSmallIntegerField(_("qualifying window, months"), default=12)
    max_downgrade_steps = models.PositiveSmallIntegerField(_("tiers down at most per month"), default=1)
    warn_days_before = models.PositiveSmallIntegerField(_("warn this many days before a downgrade"), default=14)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policy")
        constraints = [
            models.CheckConstraint(condition=Q(window_months__gte=1), name="points_tierpolicy_window_positive"),
            models.CheckConstraint(condition=Q(max_downgrade_steps__gte=1), name="points_tierpolicy_steps_positive"),
        ]

    def __str__(self) -> str:
        return str(_("Tier policy"))


class TierGrant(models.Model):
    """A tier lent to a member for a while (a tier trial bought in the mall).

    The member enjoys ``tier`` from ``starts_at`` until ``ends_at`` (exclusive) whenever it is
    higher than the tier they earned; it never lowers anyone and it ends by itself (it is
    read, never swept). It does not touch ``Account.tier`` (the earned tier that the monthly
    recalculation keeps), so it neither counts towards nor delays an upgrade or a downgrade.
    Written only by ``points.services.tier_trial_grant`` (docs/decisions/0020).
    """

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="tier_grants", verbose_name=_("account")
    )
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("tier"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("granted"), default=timezone.now)

    class Meta:
        verbose_name = _("tier trial")
        verbose_name_plural = _("tier trials")
        indexes = [models.Index(fields=["account", "ends_at"], name="points_tiergrant_account_ends")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="points_tiergrant_window_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.tier_id} until {self.ends_at:%Y-%m-%d %H:%M}"


class EarningRule(models.Model):
    """Points for one earning source, with per-member caps. One row per source."""

    source = models.CharField(_("source"), max_length=24, choices=EarningSource.choices, unique=True)
    points = models.PositiveIntegerField(_("points"), default=0, help_text=_("For purchases: unused (see rates)."))
    daily_cap = models.PositiveIntegerField(_("max points per member a day"), null=True, blank=True)
    weekly_cap = models.PositiveIntegerField(_("max points per member a week"), null=True, blank=True)
    monthly_cap = models.PositiveIntegerField(_("max points per member a month"), null=True, blank=True)
    apply_multipliers = models.BooleanField(_("tier and campaign multipliers apply"), default=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["source"]

    def __str__(self) -> str:
        return str(EarningSource(self.source).label)


class PurchasePolicy(models.Model):
    """How the host shop's purchases earn points. One row (pk=1)."""

    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=6, decimal_places=2, default=1)
    pending_days = models.PositiveSmallIntegerField(_("returns window, days"), default=7)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase policy")
        verbose_name_plural = _("purchase policy")
        constraints = [
            models.CheckConstraint(condition=Q(points_per_yuan__gte=0), name="points_purchasepolicy_rate_not_negative")
        ]

    def __str__(self) -> str:
        return str(_("Purchase policy"))


class PurchaseRate(models.Model):
    """A per-category or per-SKU earning rate, or an exclusion (SKU beats category)."""

    scope = models.CharField(_("applies to"), max_length=10, choices=PurchaseRateScope.choices)
    key = models.CharField(_("category or SKU"), max_length=64)
    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=6, decimal_places=2, null=True, blank=True)
    excluded = models.BooleanField(_("earns no points"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase rate")
        verbose_name_plural = _("purchase rates")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="points_purchaserate_unique_key"),
            models.CheckConstraint(
                condition=Q(excluded=True) | Q(points_per_yuan__isnull=False),
                name="points_purchaserate_rate_or_excluded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class Purchase(models.Model):
    """A purchase the host shop reported, and the points it earned. Unique by the shop's order id."""

    external_id = models.CharField(_("shop order id"), max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("account"))
    amount = models.DecimalField(_("amount, yuan"), max_digits=12, decimal_places=2)
    base_points = models.PositiveIntegerField(_("points before multipliers"))
    points = models.PositiveIntegerField(_("points"))
    earn_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("earn entry")
    )
    bonus_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("first-purchase bonus")
    )
    refunded_amount = models.DecimalField(_("refunded, yuan"), max_digits=12, decimal_places=2, default=0)
    points_taken_back = models.PositiveIntegerField(_("points taken back"), default=0)
    occurred_at = models.DateTimeField(_("purchased"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="points_purchase_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="points_purchase_refund_range",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class Campaign(models.Model):
    """A time-boxed multiplier (积分翻倍) for some or all sources and tiers, with an optional budget."""

    name = models.CharField(_("name"), max_length=80)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    multiplier = models.DecimalField(_("multiplier"), max_digits=4, decimal_places=2, default=2)
    sources = models.JSONField(_("sources"), default=list, blank=True, help_text=_("Empty: every source."))
    tiers = models.ManyToManyField(Tier, blank=True, verbose_name=_("tiers"), help_text=_("Empty: every tier."))
    budget = models.PositiveIntegerField(_("extra points budget"), null=True, blank=True)
    budget_used = models.PositiveIntegerField(_("extra points given"), default=0)
    active = models.BooleanField(_("switched on"), default=True)
    history = HistoricalRecords(m2m_fields=[tiers])

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="points_campaign_window_valid"),
            models.CheckConstraint(condition=Q(multiplier__gt=1), name="points_campaign_multiplier_above_one"),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget")), name="points_campaign_within_budget"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class IdentityClaim(models.Model):
    """A once-per-person reward claimed by an identity (a hashed e-mail or phone), surviving account deletion."""

    reward = models.CharField(_("reward"), max_length=24, choices=EarningSource.choices)
    identity_hash = models.CharField(_("identity (hashed)"), max_length=64)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("claimed by")
    )
    created_at = models.DateTimeField(_("claimed"), default=timezone.now)

    class Meta:
        verbose_name = _("identity claim")
        verbose_name_plural = _("identity claims")
        constraints = [
            models.UniqueConstraint(fields=["reward", "identity_hash"], name="points_identityclaim_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reward}:{self.identity_hash[:8]}"


class PurchaseRefund(models.Model):
    """One refund the shop reported for a purchase; its key makes a retried report one refund."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("purchase"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    amount = models.DecimalField(_("amount, yuan"), max_digits=12, decimal_places=2)
    points_taken_back = models.PositiveIntegerField(_("points taken back"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase refund")
        verbose_name_plural = _("purchase refunds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="points_purchaserefund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.purchase} −¥{self.amount}"
