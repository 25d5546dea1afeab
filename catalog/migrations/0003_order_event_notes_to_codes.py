"""The note the payment-timeout sweep wrote on orders becomes a code, read in each member's language.

It was written in the language active in the job ("Payment not received in time" or
"超时未支付", frozen here); now it is ``catalog.payment_timeout``, rendered by
``catalog.notices.note_text`` (docs/decisions/0019). Notes people wrote stay as written.
Idempotent; reversible (back to the English text).
"""

from __future__ import annotations

from django.db import migrations

CODE = "catalog.payment_timeout"
OLD_NOTES = ["Payment not received in time", "超时未支付"]


def forwards(apps, schema_editor) -> None:
    for model in ("OrderEvent", "StockMovement"):
        apps.get_model("catalog", model).objects.filter(note__in=OLD_NOTES).update(note=CODE)


def backwards(apps, schema_editor) -> None:
    for model in ("OrderEvent", "StockMovement"):
        apps.get_model("catalog", model).objects.filter(note=CODE).update(note=OLD_NOTES[0])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_staff_groups")]

    operations = [migrations.RunPython(forwards, backwards)]
