"""Purchases reported by the host shop: points per yuan, pending for the returns window,
a first-purchase bonus, and proportional take-back on refunds. Idempotent by the shop's
order id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from points import locks, notices, policies, rules
from points.enums import EarningSource, PurchaseRateScope
from points.exceptions import (
    AlreadyFullyRefundedError,
    IdempotencyConflictError,
    InvalidPurchaseError,
    ItemsDoNotAddUpError,
    PurchaseNotFoundError,
    RefundExceedsItemError,
    RefundExceedsPurchaseError,
    UnknownItemError,
)
from points.models import Account, EarningRule, Purchase, PurchaseItem, PurchaseRate, PurchaseRefund
from points.services import _core
from points.services.earning import award_amount, points_award
from points.services.ledger import points_earn, points_reverse
from points.signals import purchase_recorded, purchase_refunded
from pointsmall.kernel.errors import DomainError

MAX_AMOUNT = Decimal("1000000")


@dataclass(frozen=True)
class PurchaseLine:
    amount: Decimal
    sku: str = ""
    category: str = ""


@dataclass(frozen=True)
class PurchaseResult:
    external_id: str
    points: int
    bonus: int
    available_at: datetime
    replayed: bool = False


def _rate_for(line: PurchaseLine, default: Decimal, overrides: dict[tuple[str, str], PurchaseRate]) -> Decimal:
    for scope, key in ((PurchaseRateScope.SKU, line.sku), (PurchaseRateScope.CATEGORY, line.category)):
        rate = overrides.get((scope, key)) if key else None
        if rate is not None:
            # The row's constraint: a rate that is not excluded has its points per yuan.
            return Decimal(0) if rate.excluded or rate.points_per_yuan is None else rate.points_per_yuan
    return default


def purchase_line_values(*, lines: list[PurchaseLine]) -> list[Decimal]:
    """Each line's points before multipliers, exact: its amount × its SKU / category / default
    rate (0 for an excluded item). What ``PurchaseItem.base_value`` records."""
    policy = policies.purchase_policy()
    keys = {(PurchaseRateScope.SKU, line.sku) for line in lines if line.sku} | {
        (PurchaseRateScope.CATEGORY, line.category) for line in lines if line.category
    }
    overrides = {}
    if keys:
        for rate in PurchaseRate.objects.filter(key__in={k for _s, k in keys}):
            overrides[(rate.scope, rate.key)] = rate
    return [line.amount * _rate_for(line, policy.points_per_yuan, overrides) for line in lines]


def purchase_base_value(*, lines: list[PurchaseLine]) -> Decimal:
    """Points before multipliers, exact: Σ line amount × its SKU / category / default rate.

    Not rounded: multipliers apply to this value and the result is rounded down once, at the
    end (docs/decisions/0007). Rounding here too made ¥9.99 at ×2 earn 18 instead of 19.
    """
    return sum(purchase_line_values(lines=lines), Decimal(0))


def purchase_base_points(*, lines: list[PurchaseLine]) -> int:
    """Points before multipliers, rounded down once (what ``Purchase.base_points`` records)."""
    return rules.floor_points(purchase_base_value(lines=lines))


def _validate(external_id: str, amount: Decimal, lines: list[PurchaseLine]) -> None:
    if not external_id or len(external_id) > 64:
        raise InvalidPurchaseError(reason=_("the shop order id is missing or longer than 64 characters"))
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidPurchaseError(reason=_("the amount must be more than 0 and at most 1,000,000 yuan"))
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidPurchaseError(reason=_("the amount has more than two decimals"))
    if lines and (items := sum((line.amount for line in lines), Decimal(0))) != amount:
        raise ItemsDoNotAddUpError(items=items, amount=amount)
    if any(line.amount <= 0 for line in lines):
        raise InvalidPurchaseError(reason=_("every line needs an amount above 0"))


@transaction.atomic
def purchase_record(
    *,
    user_id: int,
    external_id: str,
    amount: Decimal,
    lines: list[PurchaseLine] | None = None,
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> PurchaseResult:
    """Record a host-shop purchase and credit its points, pending for the returns window.

    A member's first purchase also earns the first-purchase bonus (pending the same way).
    Locks: the account. Safe to call twice: the same order id and amount replays; the same
    order id with another member or amount raises IdempotencyConflictError.
    ``now``: the instant it is recorded (default: the clock; see points_earn).
    """
    lines = lines or [PurchaseLine(amount=amount)]
    _validate(external_id, amount, lines)
    account = locks.account_for_update(user_id=user_id)
    existing = Purchase.objects.filter(external_id=external_id).first()
    if existing is not None:
        if existing.account_id != account.pk or existing.amount != amount:
            raise IdempotencyConflictError()
        bonus = existing.bonus_entry.pending_amount + existing.bonus_entry.amount if existing.bonus_entry else 0
        return PurchaseResult(external_id, existing.points, bonus, existing.occurred_at, replayed=True)
    _core.check_not_frozen(account)
    now = now or timezone.now()
    occurred_at = min(occurred_at or now, now)
    available_at = occurred_at + timedelta(days=policies.purchase_policy().pending_days)
    line_values = purchase_line_values(lines=lines)
    value = sum(line_values, Decimal(0))
    base = rules.floor_points(value)
    rule = EarningRule.objects.filter(source=EarningSource.PURCHASE).first()
    points = 0
    earn_entry_id = None
    if value > 0 and rule is not None and rule.active:
        # The exact value goes in: multipliers apply to it and the result is rounded down once.
        points, _campaign = award_amount(account=account, rule=rule, base=value, now=now)
    if points > 0:
        receipt = points_earn(
            user_id=user_id,
            amount=points,
            idempotency_key=f"purchase:{external_id}",
            reference=f"shop.order:{external_id}",
            **notices.purchase(order=external_id).memo,
            available_at=available_at,
            source=EarningSource.PURCHASE,
            now=now,
        )
        earn_entry_id = receipt.entry_id
    first = not Purchase.objects.filter(account=account).exists()
    bonus = 0
    bonus_entry_id = None
    if first:
        result = points_award(
            user_id=user_id,
            source=EarningSource.FIRST_PURCHASE,
            idempotency_key=f"first-purchase:{account.pk}",
            reference=f"shop.order:{external_id}",
            available_at=available_at,
            now=now,
        )
        bonus = result.granted
        bonus_entry_id = result.receipt.entry_id if result.receipt else None
    purchase = Purchase.objects.create(
        external_id=external_id,
        account=account,
        amount=amount,
        base_points=base,
        points=points,
        earn_entry_id=earn_entry_id,
        bonus_entry_id=bonus_entry_id,
        occurred_at=occurred_at,
        created_at=now,
    )
    PurchaseItem.objects.bulk_create(
        PurchaseItem(purchase=purchase, sku=line.sku, category=line.category, amount=line.amount, base_value=line_value)
        for line, line_value in zip(lines, line_values, strict=True)
    )
    purchase_recorded.send(
        sender=Purchase,
        user_id=user_id,
        external_id=external_id,
        first=first,
        points=points,
        available_at=available_at,
    )
    return PurchaseResult(external_id, points, bonus, available_at)


@dataclass(frozen=True)
class PurchaseRefundResult:
    """``points_taken_back`` and ``refunded_amount`` are the purchase's totals after this refund;
    ``amount`` and ``points`` are this refund's own (the first answer's, on a replay)."""

    external_id: str
    points_taken_back: int
    refunded_amount: Decimal
    amount: Decimal = Decimal(0)
    points: int = 0
    replayed: bool = False


def _money(value: object) -> Decimal:
    if (
        not isinstance(value, Decimal)
        or not value.is_finite()
        or value <= 0
        or value != value.quantize(Decimal("0.01"))
    ):
        raise InvalidPurchaseError(reason=_("every refund amount must be more than 0 with at most two decimals"))
    return value


def _by_sku(pairs: list[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for sku, amount in pairs:
        totals[sku] = totals.get(sku, Decimal(0)) + amount
    return totals


def _item_allocations(
    purchase_items: list[PurchaseItem], requested: list[tuple[str, Decimal]]
) -> list[tuple[PurchaseItem, Decimal]]:
    """Spread each named SKU's refund over the purchase's items with that SKU, first item first.

    Raises UnknownItemError for an SKU the purchase does not have, RefundExceedsItemError for
    more than that SKU has left, InvalidPurchaseError for an amount that is not money.
    """
    wanted = _by_sku([(sku, _money(amount)) for sku, amount in requested])
    allocations: list[tuple[PurchaseItem, Decimal]] = []
    for sku, amount in wanted.items():
        candidates = [item for item in purchase_items if sku and item.sku == sku]
        if not candidates:
            raise UnknownItemError(sku=sku)
        left = sum((item.amount - item.refunded_amount for item in candidates), Decimal(0))
        if amount > left:
            raise RefundExceedsItemError(sku=sku, left=left)
        for item in candidates:
            part = min(amount, item.amount - item.refunded_amount)
            if part > 0:
                allocations.append((item, part))
                amount -= part
    return allocations


@transaction.atomic
def purchase_refund(
    *,
    external_id: str,
    amount: Decimal | None = None,
    items: list[tuple[str, Decimal]] | None = None,
    idempotency_key: str,
) -> PurchaseRefundResult:
    """Take back the points of a (partly) refunded purchase, rounded down.

    Give ``amount`` (yuan, taken back in proportion over the whole purchase), or ``items``
    (``[(sku, yuan)]``: each item's own share of the points, so an excluded item takes back
    nothing), or neither (the rest, in full). One cumulative rule for all of them
    (``rules.refund_points_target``, docs/decisions/0034): never more than the purchase
    earned, no rounding drift. Inside the returns window the pending points are cancelled;
    after it they are reversed (own lot, other lots, then debt: docs/decisions/0006). A full
    refund of a first purchase also takes back the first-purchase bonus.
    Locks: the account, then the purchase row. Safe to call twice with the same key (the same
    key with another purchase, amount or items raises IdempotencyConflictError).
    Raises PurchaseNotFoundError; AlreadyFullyRefundedError (nothing is left);
    RefundExceedsPurchaseError (not above 0 or more than is left, ``left`` in yuan);
    UnknownItemError (an SKU the purchase does not have); RefundExceedsItemError (more than
    that SKU has left); InvalidPurchaseError (an amount that is not money, both ``amount`` and
    ``items``). All are InvalidPurchaseError subclasses (docs/decisions/0034).
    """
    purchase = Purchase.objects.filter(external_id=external_id).select_related("account").first()
    if purchase is None:
        raise PurchaseNotFoundError()
    if amount is not None and items:
        raise InvalidPurchaseError(reason=_("give the refund's amount or its items, not both"))
    locks.account_for_update(user_id=purchase.account.user_id)
    purchase = locks.purchase_for_update(purchase_id=purchase.pk)
    purchase_items = list(PurchaseItem.objects.filter(purchase=purchase).order_by("pk"))
    refund_key = f"purchase-refund:{idempotency_key}"
    earlier = PurchaseRefund.objects.filter(idempotency_key=refund_key).first()
    if earlier is not None:
        same_items = not items or _by_sku(items) == _by_sku(
            [(row["sku"], Decimal(row["amount"])) for row in earlier.items]
        )
        if earlier.purchase_id != purchase.pk or (amount is not None and earlier.amount != amount) or not same_items:
            raise IdempotencyConflictError()
        return PurchaseRefundResult(
            external_id,
            purchase.points_taken_back,
            purchase.refunded_amount,
            earlier.amount,
            earlier.points_taken_back,
            replayed=True,
        )
    left = purchase.amount - purchase.refunded_amount
    if left <= 0:
        raise AlreadyFullyRefundedError()
    allocations = _item_allocations(purchase_items, items) if items else []
    if items:
        amount = sum((part for _item, part in allocations), Decimal(0))
    amount = left if amount is None else amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount > left:
        raise RefundExceedsPurchaseError(left=left)
    refunded_total = purchase.refunded_amount + amount
    by_item = {item.pk: item.refunded_amount for item in purchase_items}
    for item, part in allocations:
        by_item[item.pk] += part
    refunded_by_items = sum(by_item.values(), Decimal(0))
    target = rules.refund_points_target(
        points=purchase.points,
        amount=purchase.amount,
        refunded_total=refunded_total,
        refunded_by_amount=refunded_total - refunded_by_items,
        items=[(item.amount, by_item[item.pk], item.base_value) for item in purchase_items],
    )
    delta = target - purchase.points_taken_back
    user_id = purchase.account.user_id
    if delta > 0 and purchase.earn_entry_id:
        points_reverse(
            user_id=user_id,
            earn_entry_id=purchase.earn_entry_id,
            amount=delta,
            idempotency_key=refund_key,
            **notices.purchase_refund(order=external_id).memo,
        )
    if refunded_total >= purchase.amount and purchase.bonus_entry_id:
        points_reverse(
            user_id=user_id,
            earn_entry_id=purchase.bonus_entry_id,
            idempotency_key=f"{refund_key}:bonus",
            **notices.first_purchase_bonus_refund(order=external_id).memo,
        )
    for item, part in allocations:
        PurchaseItem.objects.filter(pk=item.pk).update(refunded_amount=F("refunded_amount") + part)
    Purchase.objects.filter(pk=purchase.pk).update(refunded_amount=refunded_total, points_taken_back=target)
    PurchaseRefund.objects.create(
        purchase=purchase,
        idempotency_key=refund_key,
        amount=amount,
        points_taken_back=max(delta, 0),
        items=[{"item": item.pk, "sku": item.sku, "amount": str(part)} for item, part in allocations],
    )
    purchase_refunded.send(
        sender=Purchase, user_id=user_id, external_id=external_id, full=refunded_total >= purchase.amount
    )
    return PurchaseRefundResult(external_id, target, refunded_total, amount, max(delta, 0))


# --- CSV import -----------------------------------------------------------------------

CSV_COLUMNS = ["order_id", "member_email", "amount", "purchased_at", "sku", "category"]


@dataclass
class ImportReport:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, order id, reason)


def _parse_row(row: dict) -> tuple[str, str, Decimal, datetime | None, str, str]:
    order_id = (row.get("order_id") or "").strip()
    email = (row.get("member_email") or "").strip()
    if not order_id:
        raise InvalidPurchaseError(reason=_("order_id is empty"))
    if not email:
        raise InvalidPurchaseError(reason=_("member_email is empty"))
    try:
        amount = Decimal((row.get("amount") or "").strip())
    except InvalidOperation:
        raise InvalidPurchaseError(reason=_("amount is not a number")) from None
    when_text = (row.get("purchased_at") or "").strip()
    when = None
    if when_text:
        when = parse_datetime(when_text)
        if when is None:
            raise InvalidPurchaseError(reason=_("purchased_at is not an ISO date-time"))
        if timezone.is_naive(when):
            when = timezone.make_aware(when)
    return order_id, email, amount, when, (row.get("sku") or "").strip(), (row.get("category") or "").strip()


def points_import_purchases(*, text: str, dry_run: bool = False, now: datetime | None = None) -> ImportReport:
    """Record every good row of a purchases CSV; bad rows are reported and never stop good ones.

    Columns: order_id, member_email, amount, purchased_at (ISO, optional), sku, category
    (optional). Each row is its own transaction; a re-import reports duplicates. A row dated
    after ``now`` (default: the clock) is rejected: a file is a record of past sales, so a
    future date is a mistake in it (the host API, by contrast, treats the shop's clock as
    skewed and records such a purchase as made now). ``dry_run``: check every row as the
    import would (member, amount, duplicates, conflicts, also within the file) and write
    nothing: the same report. Raises InvalidPurchaseError, writing nothing, when a column is
    missing or the text is not readable as CSV.
    """
    report = ImportReport()
    now = now or timezone.now()
    reader = csv.DictReader(io.StringIO(text))
    try:
        # Read in full first: a file the csv module cannot read is refused before a row is written.
        records = list(reader)
    except csv.Error:
        raise InvalidPurchaseError(
            reason=_("the file can't be read as CSV (a cell is longer than 128 KB, or a quote is not closed)")
        ) from None
    missing = [c for c in ("order_id", "member_email", "amount") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidPurchaseError(reason=_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
    users = get_user_model().objects
    seen: dict[str, tuple[int, Decimal]] = {}  # dry run: the rows this file would have recorded
    for line_number, row in enumerate(records, start=2):
        order_id = (row.get("order_id") or "").strip()
        try:
            order_id, email, amount, when, sku, category = _parse_row(row)
            if when is not None and when > now:
                raise InvalidPurchaseError(reason=_("purchased_at is in the future"))
            user = users.filter(email__iexact=email).first()
            account_id = Account.objects.filter(user=user).values_list("pk", flat=True).first() if user else None
            if user is None or account_id is None:
                raise InvalidPurchaseError(reason=_("no member with the e-mail %(email)s") % {"email": email})
            lines = [PurchaseLine(amount=amount, sku=sku, category=category)]
            if dry_run:
                _validate(order_id, amount, lines)
                earlier = seen.get(order_id) or (
                    Purchase.objects.filter(external_id=order_id).values_list("account_id", "amount").first()
                )
                if earlier is not None and earlier != (account_id, amount):
                    raise IdempotencyConflictError()
                seen[order_id] = (account_id, amount)
                replayed = earlier is not None
            else:
                replayed = purchase_record(
                    user_id=user.pk, external_id=order_id, amount=amount, lines=lines, occurred_at=when
                ).replayed
        except IdempotencyConflictError:
            report.rejected.append((line_number, order_id, _("this order id was already imported with other data")))
        except DomainError as error:
            report.rejected.append((line_number, order_id, error.message))
        else:
            (report.duplicates if replayed else report.accepted).append(order_id)
    return report
