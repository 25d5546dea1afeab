"""The audit pages' timelines: everything recorded about a member or an object, newest first.

Each timeline merges several record tables. Page ``n`` of ``size`` rows reads the newest
``n × size + 1`` rows of each table (one query each, whatever the page; an object's history
two: its rows, then the versions just before them), merges them by time and keeps one page;
the extra row says whether an older page exists. Deep pages read more rows, never more queries.

This module reads other apps' record tables directly: auditing is the project's view across
every app, and the records are read-only rows (docs/decisions/0053-audit-trail.md).
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from catalog.models import CashRefund, OrderEvent, Product, StockMovement
from points import selectors as points_selectors
from points.models import Entry
from pointsmall.audit.models import PiiReveal, PrivilegeChange
from pointsmall.kernel.masking import mask_contacts_in, mask_email

PAGE_SIZE = 50
MAX_PAGE = 200  # 10,000 rows deep at most: older records are in each table's own admin list


@dataclass(frozen=True)
class AuditRow:
    """One recorded change. ``actor`` is "" when the system (or the member) made it."""

    at: datetime
    kind: str  # what recorded it, translated: "Ledger", "Order", "Privilege", …
    what: str
    old: str
    new: str
    actor: str
    url: str = ""  # the record in the admin, when it has a page


@dataclass(frozen=True)
class Timeline:
    rows: list[AuditRow]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def page_number(value: Any) -> int:
    """The ``?page=`` value as a page number, 1…MAX_PAGE (anything else: 1)."""
    try:
        page = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), MAX_PAGE)


def _timeline(sources: Iterable[Iterable[AuditRow]], *, page: int, size: int) -> Timeline:
    merged = heapq.merge(*sources, key=lambda row: row.at, reverse=True)
    wanted = page * size
    rows = [row for _index, row in zip(range(wanted + 1), merged, strict=False)]
    return Timeline(rows=rows[wanted - size : wanted], page=page, has_next=len(rows) > wanted)


def _who(user: Any) -> str:
    if user is None:
        return ""
    return str(getattr(user, "email", "") or user.get_username())


def _admin_url(obj: Model) -> str:
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


# --- The sources ------------------------------------------------------------------------------


def _ledger(user_id: int, limit: int) -> Iterator[AuditRow]:
    entries = (
        Entry.objects.filter(account__user_id=user_id)
        .select_related("actor", "related_entry")
        .order_by("-created_at", "-pk")[:limit]
    )
    for entry in entries:
        what = f"{entry.get_kind_display()} {entry.amount:+d}: {points_selectors.entry_description(entry)}"
        if entry.staff_note:
            what += f" ({entry.staff_note})"
        yield AuditRow(
            at=entry.created_at,
            kind=pgettext("audit record", "Ledger"),
            what=what,
            old=str(entry.balance_after - entry.amount),
            new=str(entry.balance_after),
            actor=_who(entry.actor),
            url=_admin_url(entry),
        )


def _order_events(events: QuerySet[OrderEvent], limit: int) -> Iterator[AuditRow]:
    for event in events.select_related("actor", "order").order_by("-created_at", "-pk")[:limit]:
        order = event.order
        note = f": {event.note}" if event.note else ""
        yield AuditRow(
            at=event.created_at,
            kind=pgettext("audit record", "Order"),
            what=_("Order %(number)s, %(product)s") % {"number": order.pk, "product": order.product_name} + note,
            old=event.get_from_status_display() if event.from_status else "—",
            new=event.get_to_status_display(),
            actor=_who(event.actor),
            url=_admin_url(order),
        )


def _cash_refunds(user_id: int, limit: int) -> Iterator[AuditRow]:
    refunds = (
        CashRefund.objects.filter(member_id=user_id)
        .select_related("created_by", "recorded_by")
        .order_by("-created_at", "-pk")[:limit]
    )
    for refund in refunds:
        yield AuditRow(
            at=refund.created_at,
            kind=pgettext("audit record", "Refund"),
            what=_("Cash refund of ¥%(amount)s for order %(order)s (%(reason)s)")
            % {"amount": refund.amount, "order": refund.order_id, "reason": refund.get_reason_display()},
            old="—",
            new=refund.get_status_display(),
            actor=_who(refund.recorded_by or refund.created_by),
            url=_admin_url(refund),
        )


def _privileges(changes: QuerySet[PrivilegeChange], limit: int) -> Iterator[AuditRow]:
    for change in changes.select_related("actor").order_by("-created_at", "-pk")[:limit]:
        yield AuditRow(
            at=change.created_at,
            kind=pgettext("audit record", "Privilege"),
            # A member's e-mail address is masked like everywhere in the back office (decision 0057).
            what=f"{mask_email(change.subject) if '@' in change.subject else change.subject}: "
            f"{change.get_field_display()}",
            old=_value(change.old),
            new=_value(change.new),
            actor=_who(change.actor),
            url=_admin_url(change),
        )


def _reveals(user_id: int, limit: int) -> Iterator[AuditRow]:
    for reveal in (
        PiiReveal.objects.filter(user_id=user_id).select_related("actor").order_by("-created_at", "-pk")[:limit]
    ):
        yield AuditRow(
            at=reveal.created_at,
            kind=pgettext("audit record", "Contact data shown"),
            what=f"{reveal.target} #{reveal.object_id}: {', '.join(reveal.fields)}",
            old="",
            new=reveal.reason,
            actor=_who(reveal.actor),
            url=_admin_url(reveal),
        )


def _admin_log(model: type[Model], object_id: Any, limit: int) -> Iterator[AuditRow]:
    entries = (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
            object_id=str(object_id),
        )
        .select_related("user")
        .order_by("-action_time", "-pk")[:limit]
    )
    for entry in entries:
        if entry.is_addition():
            action = _("Added")
        elif entry.is_deletion():
            action = _("Deleted")
        else:
            action = _("Changed")
        yield AuditRow(
            at=entry.action_time,
            kind=pgettext("audit record", "Admin"),
            what=f"{action}: {mask_contacts_in(entry.object_repr)}",
            old="",
            new=entry.get_change_message(),
            actor=_who(entry.user),
        )


def _stock(product_id: int, limit: int) -> Iterator[AuditRow]:
    movements = (
        StockMovement.objects.filter(product_id=product_id)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
    for movement in movements:
        note = f": {movement.note}" if movement.note else ""
        order = _(" (order %(number)s)") % {"number": movement.order_id} if movement.order_id else ""
        yield AuditRow(
            at=movement.created_at,
            kind=pgettext("audit record", "Stock"),
            what=f"{movement.get_reason_display()} {movement.delta:+d}{order}{note}",
            old=str(movement.stock_after - movement.delta),
            new=str(movement.stock_after),
            actor=_who(movement.actor),
        )


def _history(history: QuerySet, limit: int) -> Iterator[AuditRow]:
    """Versions of django-simple-history, each against the version of the same row before it.

    Two queries: the newest ``limit`` versions, each annotated with the id of the version before
    it, then those earlier versions (one per version, so a window's oldest versions compare too).
    """
    model = history.model
    earlier = model._default_manager.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date")).order_by(
        "-history_date", "-history_id"
    )
    versions = list(
        history.annotate(previous_id=Subquery(earlier.values("history_id")[:1]))
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[:limit]
    )
    previous = model._default_manager.in_bulk([v.previous_id for v in versions if v.previous_id])
    fields = [f for f in model.tracked_fields if f.editable]
    label = str(model.instance_type._meta.verbose_name)
    for version in versions:
        before = previous.get(version.previous_id)
        if version.history_type == "+":
            what, old, new = _("Created %(what)s") % {"what": label}, "—", str(version.instance)
        elif version.history_type == "-":
            what, old, new = _("Deleted %(what)s") % {"what": label}, str(before.instance if before else "—"), "—"
        elif before is None:  # a row older than its history (made by a migration, say)
            what = _("Changed %(what)s (its earlier version is not recorded)") % {"what": label}
            old, new = "—", str(version.instance)
        else:
            changed = [f for f in fields if getattr(before, f.attname) != getattr(version, f.attname)]
            what = _("Changed %(what)s: %(fields)s") % {
                "what": label,
                "fields": ", ".join(str(f.verbose_name) for f in changed) or _("nothing"),
            }
            old = "; ".join(f"{f.verbose_name}: {_value(getattr(before, f.attname))}" for f in changed)
            new = "; ".join(f"{f.verbose_name}: {_value(getattr(version, f.attname))}" for f in changed)
        reason = f" ({version.history_change_reason})" if version.history_change_reason else ""
        yield AuditRow(
            at=version.history_date,
            kind=pgettext("audit record", "History"),
            what=f"{what}{reason}",
            old=old,
            new=new,
            actor=_who(version.history_user),
        )


# --- The timelines ----------------------------------------------------------------------------


def member_timeline(*, user_id: int, page: int = 1, size: int = PAGE_SIZE) -> Timeline:
    """Everything recorded about member ``user_id``, newest first: ledger entries (balance
    before → after), order status changes, cash refunds, privilege changes to them and admin
    edits and actions on their user row, and every reveal of their contact data. 6 queries
    whatever the page (content types cached)."""
    limit = page * size + 1
    return _timeline(
        [
            _ledger(user_id, limit),
            _order_events(OrderEvent.objects.filter(order__member_id=user_id), limit),
            _cash_refunds(user_id, limit),
            _privileges(PrivilegeChange.objects.filter(user_id=user_id), limit),
            _admin_log(get_user_model(), user_id, limit),
            _reveals(user_id, limit),
        ],
        page=page,
        size=size,
    )


def has_history(model: type[Model]) -> bool:
    """Whether django-simple-history keeps versions of ``model`` (a rule, a campaign, a policy…)."""
    return hasattr(model._meta, "simple_history_manager_attribute")


def _history_of(model: type[Model]) -> Any:
    return getattr(model, model._meta.simple_history_manager_attribute)  # type: ignore[attr-defined]


@functools.cache
def _parts(model: type[Model]) -> tuple[tuple[type[Model], str], ...]:
    """The models with a history that belong to ``model`` by a foreign key (a product's sale
    prices, a campaign's prizes, a task's questions), with that key's column."""
    return tuple(
        (child, field.attname)
        for child in apps.get_models()
        if has_history(child)
        for field in child._meta.concrete_fields
        if field.many_to_one and field.related_model is model
    )


def _versions(model: type[Model], object_id: Any, limit: int) -> list[Iterator[AuditRow]]:
    """The object's versions and its parts' versions: two queries each."""
    sources = [_history(_history_of(model).filter(id=object_id), limit)]
    for child, column in _parts(model):
        sources.append(_history(_history_of(child).filter(**{column: object_id}), limit))
    return sources


def product_timeline(*, product_id: int, page: int = 1, size: int = PAGE_SIZE) -> Timeline:
    """Everything recorded about product ``product_id``, newest first: stock movements (before →
    after), field and price edits (its versions and its sale prices'), the status changes of
    its orders and admin edits and actions on it. 7 queries whatever the page."""
    limit = page * size + 1
    return _timeline(
        [
            _stock(product_id, limit),
            *_versions(Product, product_id, limit),
            _order_events(OrderEvent.objects.filter(order__product_id=product_id), limit),
            _admin_log(Product, product_id, limit),
        ],
        page=page,
        size=size,
    )


def object_timeline(*, obj: Model, page: int = 1, size: int = PAGE_SIZE) -> Timeline:
    """The versions of ``obj`` (a model with history: ``has_history``) and of its parts (a
    campaign's prizes), and the admin's records of it, newest first. 1 + 2 per model queries."""
    limit = page * size + 1
    model = type(obj)
    return _timeline([*_versions(model, obj.pk, limit), _admin_log(model, obj.pk, limit)], page=page, size=size)
