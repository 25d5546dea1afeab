"""The points ledger tables.

Only ``points.services`` writes these tables (docs/decisions/0001). The cached numbers on
``Account`` are always equal to sums over ``Entry`` and ``Lot``; ``points_verify``
checks that over the whole database.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points import rules
from points.enums import EarningSource, EntryKind, ExpiryMode, ExpiryRounding, LotStatus, PurchaseRateScope
from points.validators import (
    INT_MAX,
    MAX_DAYS,
    MAX_MONTHS,
    MAX_MULTIPLIER,
    MAX_POINTS_PER_YUAN,
    SMALL_INT_MAX,
    validate_earning_sources,
    validate_operator_text,
)

# Sources whose caller says how many points (a purchase's rates, a task's or a prize's own
# points): their rule's ``points`` is unused and may be 0.
CALLER_PRICED_SOURCES = frozenset({EarningSource.PURCHASE, EarningSource.TASK, EarningSource.LOTTERY})


class JSONListOf(Func):
    """True when a JSON column holds a list whose items are all among ``allowed`` (for a CheckConstraint).

    Postgres tests jsonb containment. SQLite can't run a subquery over ``json_each`` in a
    CHECK, so it removes every allowed code, quoted, and the commas from the minified JSON
    text and expects ``[]`` to remain: anything else (another string, a number, a nested
    list) leaves more. A quoted code can't match inside another: ``"purchase"`` is not a
    part of ``"first_purchase"``. Other engines get no database check; model validation
    still applies there.
    """

    output_field = models.BooleanField()

    def __init__(self, expression, *, allowed: list[str]) -> None:
        if not all(code and code.replace("_", "").isalnum() for code in allowed):
            raise ValueError("allowed values must be plain codes")
        self.allowed = list(allowed)
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra_context):
        return "(1 = 1)", []

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(jsonb_typeof({sql}) = 'array' AND ({sql})::jsonb <@ %s::jsonb)",
            [*params, *params, json.dumps(self.allowed)],
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        residue, residue_params = f"json({sql})", list(params)
        for token in [f'"{code}"' for code in self.allowed] + [","]:
            residue, residue_params = f"REPLACE({residue}, %s, '')", [*residue_params, token]
        return f"(json_type({sql}) = 'array' AND {residue} = '[]')", [*params, *residue_params]


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
    months = models.PositiveSmallIntegerField(
        _("months (rolling)"), default=12, validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)]
    )
    rounding = models.CharField(
        _("round up to"), max_length=8, choices=ExpiryRounding.choices, default=ExpiryRounding.END_OF_DAY
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("remind this many days before"), default=30, validators=[MaxValueValidator(MAX_DAYS)]
    )
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
    body_zh = models.TextField(_("text (Chinese)"), blank=True, max_length=20_000)
    body_en = models.TextField(_("text (English)"), blank=True, max_length=20_000)
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
    name_zh = models.CharField(_("name (Chinese)"), max_length=20, validators=[validate_operator_text])
    name_en = models.CharField(_("name (English)"), max_length=20, validators=[validate_operator_text])
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("0 is the entry tier."), validators=[MaxValueValidator(SMALL_INT_MAX)]
    )
    threshold = models.PositiveIntegerField(
        _("points to qualify"),
        help_text=_("Points earned in the window. Higher tiers need more; the entry tier needs 0."),
        validators=[MaxValueValidator(INT_MAX)],
    )
    price_percent = models.PositiveSmallIntegerField(
        _("redemption price, %"),
        default=100,
        help_text=_("Members of this tier pay this share of the points price (1–100)."),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    earn_multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=4,
        decimal_places=2,
        default=1,
        help_text=_("1 to 10: 1.5 earns half as much again."),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(MAX_MULTIPLIER)],
    )
    monthly_free_draws = models.PositiveSmallIntegerField(
        _("free prize draws a month"), default=0, validators=[MaxValueValidator(100)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_percent__gte=1, price_percent__lte=100),
                name="points_tier_price_percent_range",
                violation_error_message=_("The price share must be from 1 to 100."),
            ),
            models.CheckConstraint(
                condition=Q(earn_multiplier__gte=1),
                name="points_tier_multiplier_at_least_one",
                violation_error_message=_("The earn multiplier must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} / {self.name_zh}"

    def clean(self) -> None:
        """A higher tier is better in every way: it needs more points, pays no more and earns no less."""
        super().clean()
        if self.rank is None or self.threshold is None:
            return
        others = Tier.objects.exclude(pk=self.pk) if self.pk else Tier.objects.all()
        errors = ladder_errors(self, list(others))
        if errors:
            raise ValidationError(errors)


class TierPolicy(models.Model):
    """How tiers are kept. One row (pk=1)."""

    window_months = models.PositiveSmallIntegerField(
        _("qualifying window, months"), default=12, validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)]
    )
    max_downgrade_steps = models.PositiveSmallIntegerField(
        _("tiers down at most per month"), default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    # Downgrades happen monthly: a warning more than a month ahead would always be on.
    warn_days_before = models.PositiveSmallIntegerField(
        _("warn this many days before a downgrade"), default=14, validators=[MaxValueValidator(31)]
    )
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
    points = models.PositiveIntegerField(
        _("points"),
        default=0,
        help_text=_("For purchases: unused (see rates)."),
        validators=[MaxValueValidator(INT_MAX)],
    )
    daily_cap = models.PositiveIntegerField(
        _("max points per member a day"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    weekly_cap = models.PositiveIntegerField(
        _("max points per member a week"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    monthly_cap = models.PositiveIntegerField(
        _("max points per member a month"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    apply_multipliers = models.BooleanField(_("tier and campaign multipliers apply"), default=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["source"]

    def __str__(self) -> str:
        return str(EarningSource(self.source).label)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.active and self.points == 0 and self.source and self.source not in CALLER_PRICED_SOURCES:
            errors["points"] = _("Enter at least 1 point, or switch the rule off.")
        # A longer period's cap below a shorter one's would make the shorter cap a lie.
        caps = [("daily_cap", self.daily_cap), ("weekly_cap", self.weekly_cap), ("monthly_cap", self.monthly_cap)]
        given = [(name, cap) for name, cap in caps if cap is not None]
        for (_shorter, low), (longer, high) in itertools.pairwise(given):
            if high < low:
                errors[longer] = _("A longer period's limit can't be below a shorter period's (%(low)s).") % {
                    "low": low
                }
        if errors:
            raise ValidationError(errors)


class PurchasePolicy(models.Model):
    """How the host shop's purchases earn points. One row (pk=1)."""

    points_per_yuan = models.DecimalField(
        _("points per yuan"),
        max_digits=6,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_POINTS_PER_YUAN)],
    )
    pending_days = models.PositiveSmallIntegerField(
        _("returns window, days"), default=7, validators=[MaxValueValidator(MAX_DAYS)]
    )
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
    points_per_yuan = models.DecimalField(
        _("points per yuan"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_POINTS_PER_YUAN)],
    )
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
                violation_error_message=_("Enter the points per yuan, or tick “earns no points”."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"

    def clean(self) -> None:
        super().clean()
        if self.excluded and self.points_per_yuan is not None:
            raise ValidationError({"points_per_yuan": _("An item that earns no points has no rate: leave it empty.")})
        if not self.excluded and self.points_per_yuan is None:
            raise ValidationError({"points_per_yuan": _("Enter the points per yuan, or tick “earns no points”.")})


class Purchase(models.Model):
    """A purchase the host shop reported, and the points it earned. Unique by the shop's order id."""

    external_id = models.CharField(_("shop order id"), max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("account"))
    amount = models.DecimalField(_("amount, yuan"), max_digits=12, decimal_places=2)
    # 64-bit: a million-yuan order at the highest rate and multipliers is more than 2³¹ points.
    base_points = models.PositiveBigIntegerField(_("points before multipliers"))
    points = models.PositiveBigIntegerField(_("points"))
    earn_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("earn entry")
    )
    bonus_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("first-purchase bonus")
    )
    refunded_amount = models.DecimalField(_("refunded, yuan"), max_digits=12, decimal_places=2, default=0)
    points_taken_back = models.PositiveBigIntegerField(_("points taken back"), default=0)
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

    name = models.CharField(
        _("name"), max_length=80, validators=[validate_operator_text], help_text=_("As members read it in Chinese.")
    )
    name_en = models.CharField(
        _("name (English)"),
        max_length=80,
        blank=True,
        validators=[validate_operator_text],
        help_text=_("As members read it in English; empty: the name above."),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=4,
        decimal_places=2,
        default=2,
        help_text=_("More than 1, at most 10: 2 doubles the points."),
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(MAX_MULTIPLIER)],
    )
    # A list of EarningSource codes; the admin offers them as checkboxes (docs/decisions/0014).
    sources = models.JSONField(
        _("sources"),
        default=list,
        blank=True,
        help_text=_("Empty: every source."),
        validators=[validate_earning_sources],
    )
    tiers = models.ManyToManyField(Tier, blank=True, verbose_name=_("tiers"), help_text=_("Empty: every tier."))
    budget = models.PositiveIntegerField(
        _("extra points budget"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    budget_used = models.PositiveIntegerField(_("extra points given"), default=0)
    active = models.BooleanField(_("switched on"), default=True)
    history = HistoricalRecords(m2m_fields=[tiers])

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="points_campaign_window_valid",
                violation_error_message=_("The campaign must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gt=1),
                name="points_campaign_multiplier_above_one",
                violation_error_message=_("The multiplier must be more than 1."),
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget")),
                name="points_campaign_within_budget",
                violation_error_message=_("The budget can't be less than the extra points already given."),
            ),
            models.CheckConstraint(
                condition=JSONListOf("sources", allowed=list(EarningSource.values)),
                name="points_campaign_sources_known",
                violation_error_message=_("Choose the sources from the list."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The constraints' checks skip fields the form leaves out (budget_used is read-only there).
        super().clean()
        errors: dict[str, str] = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The campaign must end after it starts.")
        if self.budget is not None and self.budget < self.budget_used:
            errors["budget"] = _("The budget can't be less than the %(used)s extra points already given.") % {
                "used": self.budget_used
            }
        if errors:
            raise ValidationError(errors)

    @property
    def source_codes(self) -> frozenset[str] | None:
        """The sources this campaign applies to, None for every source; never fails on a stored value."""
        return rules.campaign_sources(self.sources)


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
    points_taken_back = models.PositiveBigIntegerField(_("points taken back"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase refund")
        verbose_name_plural = _("purchase refunds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="points_purchaserefund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.purchase} −¥{self.amount}"


def ladder_errors(tier: Tier, others: list[Tier]) -> dict[str, str]:
    """Why ``tier`` doesn't fit between the ``others``: each rank up needs more points, pays no
    higher a share of the price and earns no less; the entry tier (lowest rank) needs 0 points."""
    errors: dict[str, str] = {}
    lower = max((t for t in others if t.rank < tier.rank), key=lambda t: t.rank, default=None)
    higher = min((t for t in others if t.rank > tier.rank), key=lambda t: t.rank, default=None)
    if lower is None and tier.threshold != 0:
        errors["threshold"] = _("The entry tier (the lowest rank) needs 0 points.")
    elif lower is not None and tier.threshold <= lower.threshold:
        errors["threshold"] = _("Must be more than %(points)s, the points %(tier)s needs: each rank up needs more.") % {
            "points": lower.threshold,
            "tier": lower,
        }
    elif higher is not None and tier.threshold >= higher.threshold:
        errors["threshold"] = _("Must be less than %(points)s, the points %(tier)s needs: each rank up needs more.") % {
            "points": higher.threshold,
            "tier": higher,
        }
    if tier.price_percent is not None:
        if lower is not None and tier.price_percent > lower.price_percent:
            errors["price_percent"] = _(
                "Can't be above %(percent)s, what %(tier)s pays: a higher rank pays no more."
            ) % {
                "percent": lower.price_percent,
                "tier": lower,
            }
        elif higher is not None and tier.price_percent < higher.price_percent:
            errors["price_percent"] = _(
                "Can't be below %(percent)s, what %(tier)s pays: a higher rank pays no more."
            ) % {
                "percent": higher.price_percent,
                "tier": higher,
            }
    if tier.earn_multiplier is not None:
        if lower is not None and tier.earn_multiplier < lower.earn_multiplier:
            errors["earn_multiplier"] = _(
                "Can't be below ×%(times)s, what %(tier)s earns: a higher rank earns no less."
            ) % {
                "times": lower.earn_multiplier,
                "tier": lower,
            }
        elif higher is not None and tier.earn_multiplier > higher.earn_multiplier:
            errors["earn_multiplier"] = _(
                "Can't be above ×%(times)s, what %(tier)s earns: a higher rank earns no less."
            ) % {
                "times": higher.earn_multiplier,
                "tier": higher,
            }
    return errors
