"""Notes the mall wrote on order histories become codes, read in each member's language.

They were written in the language active when they were written (the timeout job's, the
till's): "Payment not received in time" / "超时未支付", "Coupon used in store" / "优惠券已在门店
核销", "Second use refused (used … by …)" / "拒绝重复核销（已于…由…核销）" (frozen here). Now
they are what ``catalog.notices.event_note`` writes, rendered by ``note_text``
(docs/decisions/0019). Notes people wrote stay as written. Idempotent; reversible (back to
the English text).
"""

from __future__ import annotations

import json
import re

from django.db import migrations

FIXED = {  # code: (English, Chinese)
    "catalog.payment_timeout": ("Payment not received in time", "超时未支付"),
    "catalog.coupon_used": ("Coupon used in store", "优惠券已在门店核销"),
}
SECOND_USE = "catalog.coupon_second_use_refused"
SECOND_USE_PATTERNS = [
    re.compile(r"^Second use refused \(used (?P<used_at>.+?) by (?P<used_by>.+)\)$"),
    re.compile(r"^拒绝重复核销（已于(?P<used_at>.+?)由(?P<used_by>.+)核销）$"),
]


def convert(note: str) -> str | None:
    """The note as ``catalog.notices.event_note`` writes it, or None to keep it as written."""
    for code, texts in FIXED.items():
        if note in texts:
            return code
    for pattern in SECOND_USE_PATTERNS:
        if match := pattern.match(note):
            return f"{SECOND_USE} {json.dumps(match.groupdict(), ensure_ascii=False, separators=(',', ':'))}"
    return None


def forwards(apps, schema_editor) -> None:
    for model in ("OrderEvent", "StockMovement"):
        rows = apps.get_model("catalog", model).objects
        for pk, note in rows.exclude(note="").exclude(note__startswith="catalog.").values_list("pk", "note"):
            if (new := convert(note)) is not None:
                rows.filter(pk=pk).update(note=new)


def backwards(apps, schema_editor) -> None:
    for model in ("OrderEvent", "StockMovement"):
        rows = apps.get_model("catalog", model).objects
        for code, (english, _chinese) in FIXED.items():
            rows.filter(note=code).update(note=english)
        for pk, note in rows.filter(note__startswith=f"{SECOND_USE} ").values_list("pk", "note"):
            params = json.loads(note.partition(" ")[2])
            rows.filter(pk=pk).update(note=f"Second use refused (used {params['used_at']} by {params['used_by']})")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_privileges_off_shelf_until_effect")]

    operations = [migrations.RunPython(forwards, backwards)]
