"""Stock and code pools. Every stock change is a StockMovement, so stock can be audited (盘点),
and moves a flash sale's Redis gate by the same amount once it commits (``flash_gate``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog import flash_gate
from catalog.enums import StockReason
from catalog.exceptions import InvalidStockChangeError, ProductUnavailableError, ReasonRequiredError
from catalog.models import Code, Product, StockMovement

MAX_CODE_LENGTH = 64


def _record(product_id: int, delta: int, reason: str, *, actor_id: int | None, note: str = "") -> int:
    stock_after = Product.objects.filter(pk=product_id).values_list("stock", flat=True).get()
    StockMovement.objects.create(
        product_id=product_id, delta=delta, stock_after=stock_after, reason=reason, actor_id=actor_id, note=note[:200]
    )
    return stock_after


@transaction.atomic
def stock_adjust(*, product_id: int, delta: int, actor_id: int, reason: str = "", restock: bool = False) -> int:
    """Restock (positive) or correct stock with a reason. Returns the stock after. Never below zero."""
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidStockChangeError(stock="?", delta=delta)
    if not restock and not (reason or "").strip():
        raise ReasonRequiredError()
    if not Product.objects.filter(pk=product_id).exists():
        raise ProductUnavailableError()
    updated = Product.objects.filter(pk=product_id, stock__gte=-delta if delta < 0 else 0).update(
        stock=F("stock") + delta
    )
    if updated != 1:
        stock = Product.objects.filter(pk=product_id).values_list("stock", flat=True).get()
        raise InvalidStockChangeError(stock=stock, delta=delta)
    # A flash sale's Redis gate follows on commit: a restocked item is not "sold out" for a minute.
    flash_gate.stock_changed(product_id=product_id, delta=delta)
    return _record(
        product_id, delta, StockReason.RESTOCK if restock else StockReason.CORRECTION, actor_id=actor_id, note=reason
    )


@dataclass
class CodeImportReport:
    added: int = 0
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


@transaction.atomic
def codes_import(*, product_id: int, text: str, actor_id: int | None) -> CodeImportReport:
    """Add codes (one per line, or the first CSV column) to a product's pool; stock rises by the codes added.

    Duplicates — within the file or already in the pool — are skipped and reported.
    Safe to run twice: a second import of the same file adds nothing.
    """
    product = Product.objects.select_for_update().filter(pk=product_id).first()
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
        Product.objects.filter(pk=product.pk).update(stock=F("stock") + len(new))
        flash_gate.stock_changed(product_id=product.pk, delta=len(new))
        _record(
            product.pk,
            len(new),
            StockReason.RESTOCK,
            actor_id=actor_id,
            note=ngettext("%(n)s code imported", "%(n)s codes imported", len(new)) % {"n": len(new)},
        )
    return report
