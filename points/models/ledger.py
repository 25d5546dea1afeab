"""The ledger proper: accounts, their append-only entries, lots and lot movements.

Only ``points.services`` writes these tables (docs/decisions/0001). The cached numbers on
``Account`` are always equal to sums over ``Entry`` and ``Lot``; ``points_verify``
checks that over the whole database.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from points.enums import EarningSource, EntryKind, LotStatus

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
    # Points reserved by active holds (the host's checkout, 积分抵扣): part of ``balance``, not
    # spendable in the mall until the hold is captured or released (docs/decisions/0033).
    held = models.BigIntegerField(_("held"), default=0)
    lifetime_earned = models.BigIntegerField(_("earned, lifetime"), default=0)
    lifetime_spent = models.BigIntegerField(_("spent, lifetime"), default=0)
    lifetime_expired = models.BigIntegerField(_("expired, lifetime"), default=0)
    tier = models.ForeignKey(
        "Tier", on_delete=models.PROTECT, null=True, blank=True, related_name="accounts", verbose_name=_("tier")
    )
    tier_changed_at = models.DateTimeField(_("tier since"), null=True, blank=True)
    # The recalculation date a "keep your tier" warning was last sent for, so it is sent once.
    tier_warned_for = models.DateField(_("downgrade warning sent for"), null=True, blank=True)
    # Set while an operator has frozen the account (docs/decisions/0055): it can neither earn nor
    # spend. Here, on the row every ledger writer locks and reads anyway, the check costs no query.
    # Written only by points.services.points_account_freeze/unfreeze, with an AccountFreeze row each.
    frozen_at = models.DateTimeField(_("frozen since"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_account_balance_not_negative"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="points_account_pending_not_negative"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="points_account_debt_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="points_account_held_not_negative"),
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
            # An account's entries, newest first (scanned backwards). Covering, in ascending id
            # order: points_verify's per-account sums and running balances read this index alone
            # (an index-only scan, already in the window's order, no sort).
            models.Index(
                fields=["account", "id"],
                name="points_entry_account_recent",
                include=["kind", "amount", "pending_amount", "debt_change", "balance_after"],
            ),
            models.Index(fields=["account", "kind", "created_at"], name="points_entry_account_kind"),
            # Everyone's earnings in a period, for the leaderboard (points.selectors.earned_ranking).
            models.Index(fields=["kind", "created_at"], name="points_entry_kind_time"),
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

    # Indexed below, with the amount: the foreign keys' own indexes would be the same minus it.
    entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, related_name="movements", verbose_name=_("entry"), db_index=False
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="movements", verbose_name=_("lot"), db_index=False
    )
    amount = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("lot movement")
        verbose_name_plural = _("lot movements")
        # Covering: points_verify sums each lot's and each entry's movements from these alone
        # (movements are never updated, so their pages stay all-visible once vacuumed).
        indexes = [
            models.Index(fields=["lot"], include=["amount"], name="points_movement_lot"),
            models.Index(fields=["entry"], include=["amount"], name="points_movement_entry"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="points_movement_not_zero")]

    def __str__(self) -> str:
        return f"entry {self.entry_id} → lot {self.lot_id}: {self.amount:+d}"
