"""Stock: the one module that changes ``Product.stock`` (and ``sold``) and writes StockMovement.

Four verbs, each a guarded ``UPDATE … SET stock = stock ± n`` whose row count is checked
(never read-modify-save), each writing one StockMovement (so stock can be audited, 盘点) and
keeping the flash sale's Redis gate in step once it commits (``catalog.flash_gate``):

- ``stock_take``: units leave (a redemption; a lottery prize). Refused below zero.
- ``stock_return``: units taken come back (a cancelled or rejected order).
- ``stock_restock``: new units arrive (an operator's restock, imported codes).
- ``stock_correct``: an operator's correction, with a reason. Refused below zero.

The API is not about orders: a reason, an optional order, an actor and a note (a lottery
draw passes its reference there). Anchors: saleor ``warehouse/management.py``
(``decrease_stock``, ``deallocate_stock``), django-oscar ``partner/abstract_models.py``
(``consume_allocation``, ``cancel_allocation``).

Locks: each function locks only the product's row, with its UPDATE, until the caller's
transaction ends. Callers take their own locks first, in the catalog's order (the member's
points account, then the order, then a code: ``catalog.locks``), so the hot product row is
held for the shortest time. Every function runs inside the caller's transaction (or its own).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from catalog import flash_gate, locks, notices
from catalog.enums import StockReason
from catalog.exceptions import (
    InvalidStockChangeError,
    OutOfStockError,
    ProductUnavailableError,
    ReasonRequiredError,
    SoldOutError,
)
from catalog.models import Code, Product, StockMovement, stock_is_low
from catalog.services import shelf
from pointsmall.outbox import services as outbox

MAX_CODE_LENGTH = 64


def _stock_of(product_id: int) -> int:
    return Product.objects.filter(pk=product_id).values_list("stock", flat=True).get()


@dataclass(frozen=True)
class _After:
    """The product's row right after a stock change: read once, in the same statement."""

    stock: int
    auto_off_shelf: bool
    low_stock_threshold: int


def _change(
    product_id: int,
    delta: int,
    reason: str,
    *,
    sold_delta: int = 0,
    order_id: int | None = None,
    actor_id: int | None = None,
    note: str = "",
) -> _After | None:
    """Move the stock by ``delta`` (and ``sold`` by ``sold_delta``) unless it would go below zero,
    and record the movement. Returns the row after (stock and what decides the shelf and the
    low-stock alert, one read), or None when refused (nothing written)."""
    updates = {"stock": F("stock") + delta}
    if sold_delta:
        updates["sold"] = F("sold") + sold_delta
    if Product.objects.filter(pk=product_id, stock__gte=max(-delta, 0)).update(**updates) != 1:
        return None
    after = _After(
        *Product.objects.filter(pk=product_id).values_list("stock", "auto_off_shelf", "low_stock_threshold").get()
    )
    StockMovement.objects.create(
        product_id=product_id,
        delta=delta,
        stock_after=after.stock,
        reason=reason,
        order_id=order_id,
        actor_id=actor_id,
        note=note[:200],
    )
    return after


@transaction.atomic
def stock_take(
    *,
    product_id: int,
    quantity: int,
    reason: str = StockReason.REDEMPTION,
    order_id: int | None = None,
    actor_id: int | None = None,
    note: str = "",
    gate_held: bool = False,
) -> int:
    """Take ``quantity`` units (they count as sold). Returns the stock after.

    The database refuses to go below zero, whoever else is taking: OutOfStockError (some left)
    or SoldOutError, and nothing is written. At zero a product set to leave the shelf by itself
    leaves it; at or below its threshold the operators are alerted once this commits.
    ``gate_held``: the caller already took these units from the flash gate
    (``flash_gate.hold``, as a redemption does); otherwise the gate follows on commit.
    Locks the product row (last, after the caller's locks).
    """
    after = _change(product_id, -quantity, reason, sold_delta=quantity, order_id=order_id, actor_id=actor_id, note=note)
    if after is None:
        left = _stock_of(product_id)
        raise OutOfStockError(left=left) if left else SoldOutError()
    if not gate_held:
        flash_gate.stock_changed(product_id=product_id, delta=-quantity)
    stock_after = after.stock
    if stock_after == 0 and after.auto_off_shelf:
        shelf.products_unshelve(product_ids=[product_id])  # the shelf service is on_shelf's one writer
    if stock_is_low(stock=stock_after, threshold=after.low_stock_threshold):
        from catalog import jobs  # the job module imports the services

        # Held in the job outbox with this stock change: a broker outage delays the alert, never
        # loses it (the product may sell no more units to raise it again). docs/decisions/0038.
        outbox.job_enqueue(jobs.low_stock_notify, product_id)
    return stock_after


@transaction.atomic
def stock_return(
    *,
    product_id: int,
    quantity: int,
    reason: str = StockReason.RETURN,
    order_id: int | None = None,
    actor_id: int | None = None,
    note: str = "",
) -> int:
    """Give back ``quantity`` units taken earlier (no longer sold). Returns the stock after.

    The flash gate gets them back once this commits. Locks the product row.
    """
    after = _change(product_id, quantity, reason, sold_delta=-quantity, order_id=order_id, actor_id=actor_id, note=note)
    assert after is not None  # adding never goes below zero
    flash_gate.stock_returned(product_id=product_id, quantity=quantity)
    return after.stock


def _operator_change(product_id: int, delta: int, reason: str, *, actor_id: int | None, note: str) -> int:
    after = _change(product_id, delta, reason, actor_id=actor_id, note=note)
    if after is None:
        raise InvalidStockChangeError(stock=_stock_of(product_id), delta=delta)
    # A flash sale's Redis gate follows on commit: a restocked item is not "sold out" for a minute.
    flash_gate.stock_changed(product_id=product_id, delta=delta)
    return after.stock


@transaction.atomic
def stock_restock(*, product_id: int, quantity: int, actor_id: int | None, note: str = "") -> int:
    """New units arrive (``quantity``; an operator's negative restock takes units out, never
    below zero: InvalidStockChangeError). Returns the stock after. Locks the product row."""
    return _operator_change(product_id, quantity, StockReason.RESTOCK, actor_id=actor_id, note=note)


@transaction.atomic
def stock_correct(*, product_id: int, delta: int, actor_id: int | None, reason: str) -> int:
    """An operator corrects the stock by ``delta`` (a count found different), with a reason.

    Returns the stock after. Raises InvalidStockChangeError below zero. Locks the product row.
    """
    return _operator_change(product_id, delta, StockReason.CORRECTION, actor_id=actor_id, note=reason)


@transaction.atomic
def stock_adjust(*, product_id: int, delta: int, actor_id: int, reason: str = "", restock: bool = False) -> int:
    """The admin's stock form: restock (``restock``) or correct with a reason. Returns the stock after.

    Raises InvalidStockChangeError (zero, not an integer, or below zero), ReasonRequiredError (a
    correction without a reason), ProductUnavailableError (no such product). Locks the product row.
    """
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidStockChangeError(stock="?", delta=delta)
    if not restock and not (reason or "").strip():
        raise ReasonRequiredError()
    if not Product.objects.filter(pk=product_id).exists():
        raise ProductUnavailableError()
    if restock:
        return stock_restock(product_id=product_id, quantity=delta, actor_id=actor_id, note=reason)
    return stock_correct(product_id=product_id, delta=delta, actor_id=actor_id, reason=reason)


@dataclass
class CodeImportReport:
    added: int = 0
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


@transaction.atomic
def codes_import(*, product_id: int, text: str, actor_id: int | None) -> CodeImportReport:
    """Add codes (one per line, or the first CSV column) to a product's pool; stock rises by the codes added.

    Duplicates — within the file or already in the pool — are skipped and reported.
    Safe to run twice: a second import of the same file adds nothing. Locks the product row
    (the pool is read under it), then restocks (``stock_restock``).
    """
    product = locks.products_for_update().filter(pk=product_id).first()
    if product is None or not product.needs_code:
        raise ProductUnavailableError(_("Codes can only be imported for virtual and coupon items."))
    report = CodeImportReport()
    seen: set[str] = set()
    candidates: list[str] = []
    for line_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        value = (row[0] if row else "").strip()
        if not value or (line_number == 1 and value.lower() == "code"):
            continue
        if len(value) > MAX_CODE_LENGTH or not value.isprintable():
            report.rejected.append((line_number, _("not a valid code (at most 64 printable characters)")))
            continue
        if value in seen:
            report.duplicates.append(value)
            continue
        seen.add(value)
        candidates.append(value)
    existing = set(Code.objects.filter(product=product, code__in=candidates).values_list("code", flat=True))
    report.duplicates.extend(c for c in candidates if c in existing)
    new = [c for c in candidates if c not in existing]
    Code.objects.bulk_create([Code(product=product, code=c) for c in new])
    report.added = len(new)
    if new:
        stock_restock(
            product_id=product.pk,
            quantity=len(new),
            actor_id=actor_id,
            note=notices.codes_imported_note(n=len(new)),  # read in each reader's language
        )
    return report
