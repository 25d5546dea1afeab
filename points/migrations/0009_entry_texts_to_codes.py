"""History texts written as finished sentences become message codes and parameters.

Before, ``Entry.memo`` held a sentence in the language active when it was written
("兑换：雨伞 ×1"), and refunds and reversals copied the memo of what they undid. This
recognises every format the mall wrote, in English and in Chinese (the msgids and the
zh_Hans msgstrs of the time, frozen here), and stores the code and parameters that
``points.notices`` renders in the reader's language (docs/decisions/0019):

- a text in a known format gets its code; the memo stays as it was (for the admin and a
  reversal of this migration);
- a refund or reversal that only copied its spend's or earn's memo loses the copy: the
  history names the related entry when read ("Refunded: …"), so nothing is wrapped twice —
  except a refund that copied a redemption's memo, which becomes "Refunded: <item> ×n";
- an operator's adjustment reason, and any text in no known format, stays as written.

Product names come from the catalog's tables when they exist (read only, by the order in
the entry's reference), so an old redemption reads in both languages; otherwise the name as
written is kept. Idempotent: rows with a code are never looked at again.
"""

from __future__ import annotations

import re

from django.db import DatabaseError, connection, migrations, transaction

BATCH = 1000
# Frozen: (code, [English format, Chinese format]). First match wins, so "购物订单%(order)s退款"
# comes before "购物订单%(order)s".
ENTRY_TEXTS: list[tuple[str, list[str]]] = [
    ("points.purchase_refund", ["Refund of purchase %(order)s", "购物订单%(order)s退款"]),
    (
        "points.first_purchase_bonus_refund",
        ["First purchase bonus (order %(order)s refunded)", "首单奖励（订单%(order)s已退款）"],
    ),
    ("points.purchase", ["Purchase %(order)s", "购物订单%(order)s"]),
    ("catalog.redeemed", ["Redeemed: %(name)s ×%(quantity)s", "兑换：%(name)s ×%(quantity)s"]),
    ("catalog.refunded", ["Refunded: %(name)s ×%(quantity)s", "退回：%(name)s ×%(quantity)s"]),
    ("catalog.review", ["Review: %(name)s", "评价：%(name)s"]),
    ("accounts.referral_held", ["Invitation held for review", "邀请待审核"]),
    ("accounts.referral_signup", ["Friend joined: %(friend)s", "好友已加入：%(friend)s"]),
    ("accounts.referral_first_order", ["Friend's first order: %(friend)s", "好友首单：%(friend)s"]),
    ("accounts.referral_first_order_refunded", ["Friend's first order was refunded", "好友首单已退款"]),
]
CATALOG_CODES = {"catalog.redeemed", "catalog.refunded", "catalog.review"}
NUMBERS = {"quantity"}
_GROUPS = {"quantity": r"\d+"}


def _pattern(text_format: str) -> re.Pattern:
    regex = ""
    for part in re.split(r"(%\(\w+\)s|%%)", text_format):
        name = re.fullmatch(r"%\((\w+)\)s", part)
        if name:
            regex += f"(?P<{name[1]}>{_GROUPS.get(name[1], '.+?')})"
        elif part == "%%":
            regex += "%"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$", re.DOTALL)


_PATTERNS = [(code, _pattern(text_format)) for code, formats in ENTRY_TEXTS for text_format in formats]


def parse(text: str) -> tuple[str, dict] | None:
    """(code, parameters) of a text in a known format, or None."""
    for code, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            params = {k: int(v) if k in NUMBERS else v for k, v in match.groupdict().items()}
            return code, params
    return None


def convert(kind: str, memo: str, related_memo: str = "") -> tuple[str, dict, str] | None:
    """What an old entry becomes: (code, parameters, memo to keep), or None to leave it as it is.

    ``related_memo`` is the memo of the spend or earn a refund or reversal undid. A code of ""
    with memo "" means: say nothing of its own, the history names the related entry.
    """
    if not memo or kind == "adjust":
        return None
    parsed = parse(memo)
    copied = kind in ("refund", "reverse") and related_memo and memo == related_memo
    if copied:
        if parsed and parsed[0] == "catalog.redeemed" and kind == "refund":
            return "catalog.refunded", parsed[1], memo
        return "", {}, ""
    if parsed is None:
        return None
    return parsed[0], parsed[1], memo


def _order_id(reference: str) -> int | None:
    prefix, _sep, number = reference.partition(":")
    return int(number) if prefix == "catalog.order" and number.isdigit() else None


def product_names(db, order_ids: set[int]) -> dict[int, dict]:
    """{order id: {"zh": …, "en": …}} from the catalog's tables, read only; {} when there are none."""
    if not order_ids:
        return {}
    tables = set(db.introspection.table_names())
    if not {"catalog_order", "catalog_product"} <= tables:
        return {}
    names: dict[int, dict] = {}
    ids = sorted(order_ids)
    try:
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    "SELECT o.id, p.name_zh, p.name_en FROM catalog_order o "  # noqa: S608 (placeholders only)
                    f"JOIN catalog_product p ON p.id = o.product_id WHERE o.id IN ({marks})",
                    chunk,
                )
                for order_id, name_zh, name_en in cursor.fetchall():
                    names[order_id] = {"zh": name_zh, "en": name_en}
    except DatabaseError:
        # The catalog's tables are not what this migration knows: keep the names as written.
        return {}
    return names


def forwards(apps, schema_editor) -> None:
    db = schema_editor.connection if schema_editor is not None else connection
    Entry = apps.get_model("points", "Entry")
    rows = (
        Entry.objects.filter(memo_code="")
        .exclude(memo="")
        .exclude(kind="adjust")
        .order_by("pk")
        .values_list("pk", "kind", "memo", "reference", "related_entry__memo")
    )
    after = 0
    while True:
        batch = list(rows.filter(pk__gt=after)[:BATCH])
        if not batch:
            return
        after = batch[-1][0]
        changes = []
        for pk, kind, memo, reference, related_memo in batch:
            result = convert(kind, memo, related_memo or "")
            if result is not None:
                changes.append((pk, reference, result))
        orders = {_order_id(reference) for _pk, reference, (code, _p, _m) in changes if code in CATALOG_CODES}
        names = product_names(db, {order for order in orders if order is not None})
        updates = []
        for pk, reference, (code, params, memo) in changes:
            if code in CATALOG_CODES and (order := _order_id(reference)) in names:
                params = {**params, "name": names[order]}
            updates.append(Entry(pk=pk, memo_code=code, memo_params=params, memo=memo))
        Entry.objects.bulk_update(updates, ["memo_code", "memo_params", "memo"])


def backwards(apps, schema_editor) -> None:
    """Drop the codes: a row that has only a code gets its text in the mall's default language
    (the old way); refunds and reversals copy their related memo again, as they used to."""
    from django.conf import settings
    from django.utils import translation

    from points import notices  # the live renderers: only to write the text back once

    Entry = apps.get_model("points", "Entry")
    with translation.override(settings.LANGUAGE_CODE):
        for pk, code, params in (
            Entry.objects.exclude(memo_code="").filter(memo="").values_list("pk", "memo_code", "memo_params")
        ):
            text = notices.render(code, params)
            if text is not None:
                Entry.objects.filter(pk=pk).update(memo=text.title[:200])
    Entry.objects.exclude(memo_code="").update(memo_code="", memo_params={})
    for pk, related_memo in (
        Entry.objects.filter(kind__in=["refund", "reverse"], memo="")
        .exclude(related_entry__memo="")
        .exclude(related_entry__isnull=True)
        .values_list("pk", "related_entry__memo")
    ):
        Entry.objects.filter(pk=pk).update(memo=related_memo)


class Migration(migrations.Migration):
    dependencies = [("points", "0008_entry_memo_code")]

    operations = [migrations.RunPython(forwards, backwards)]
