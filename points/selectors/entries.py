"""The member's points history: entries as lines in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.utils.translation import gettext as _

from points import notices
from points.enums import EarningSource, EntryKind, HistoryFilter, LotStatus
from points.models import Entry, Lot
from pointsmall.kernel import clock


@dataclass(frozen=True)
class HistoryRow:
    id: int
    kind: str
    kind_label: str
    amount: int
    pending_amount: int
    balance_after: int
    created_at: datetime
    description: str
    is_pending_credit: bool
    # For earnings that arrived pending: when they became (or become) spendable.
    available_at: datetime | None = None
    # A pending earning taken back before it became spendable (e.g. its purchase was refunded).
    cancelled: bool = False

    @property
    def shown_amount(self) -> int:
        """The points this row added or took, whether they are pending or not."""
        return self.amount + self.pending_amount

    @property
    def arrived_later(self) -> bool:
        return self.available_at is not None and not self.is_pending_credit


_FILTERS = {
    HistoryFilter.ALL: Q(),
    HistoryFilter.EARNED: Q(kind=EntryKind.EARN) | Q(kind=EntryKind.ADJUST, amount__gt=0),
    HistoryFilter.SPENT: Q(kind__in=[EntryKind.SPEND, EntryKind.REFUND]),
    HistoryFilter.EXPIRED: Q(kind=EntryKind.EXPIRE),
}


def _own_text(entry: Entry) -> str:
    """The entry's stored text in the active language: its message code rendered, else its free text."""
    if entry.memo_code:
        text = notices.render(entry.memo_code, entry.memo_params)
        if text is not None:
            return text.title
    return entry.memo


def _subject(entry: Entry | None) -> str:
    """What an entry was about, to name it in a refund or reversal of it ("" if it says nothing)."""
    if entry is None:
        return ""
    return _own_text(entry) or (str(EarningSource(entry.source).label) if entry.source else "")


def entry_description(entry: Entry) -> str:
    """The history line of an entry in the active language (uses ``entry.related_entry``: select it).

    Coded texts are complete sentences; only entries without one get a kind's wording around
    what they relate to, so a text is never wrapped twice ("Refunded: Refunded: …").
    """
    if entry.kind == EntryKind.EXPIRE:
        return _("Points expired")
    if entry.kind == EntryKind.DEBT_REPAY:
        return _("Repaid points owed from an earlier reversal")
    if entry.kind == EntryKind.ADJUST:
        # The operator's own words, shown as written.
        return _("Adjusted by the mall: %(reason)s") % {"reason": entry.memo}
    own = _own_text(entry)
    if entry.kind == EntryKind.VEST:
        return _("Now available: %(what)s") % {"what": own or _("pending points")}
    if entry.kind in (EntryKind.REFUND, EntryKind.REVERSE) and not own:
        what = _subject(entry.related_entry) if entry.related_entry_id else ""
        if entry.kind == EntryKind.REFUND:
            return _("Refunded: %(what)s") % {"what": what} if what else _("Points refunded")
        return _("Taken back: %(what)s") % {"what": what} if what else _("Points taken back")
    if own:
        return own
    return str(EarningSource(entry.source).label if entry.source else EntryKind(entry.kind).label)


def _history_row(entry: Entry, lot_status: str, available_at: datetime | None) -> HistoryRow:
    return HistoryRow(
        id=entry.pk,
        kind=entry.kind,
        kind_label=str(EntryKind(entry.kind).label),
        amount=entry.amount,
        pending_amount=entry.pending_amount,
        balance_after=entry.balance_after,
        created_at=entry.created_at,
        description=entry_description(entry),
        is_pending_credit=lot_status == LotStatus.PENDING,
        # A pending earning cancelled before it vested never became available: no "available since".
        available_at=None if lot_status == LotStatus.CANCELLED else available_at,
        cancelled=lot_status == LotStatus.CANCELLED,
    )


def history(
    *,
    user_id: int,
    kind: str = HistoryFilter.ALL,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """A page of the member's entries, newest first, as HistoryRow objects.

    One row per earning: an earning that arrived pending shows its current state (pending
    until / available since) instead of a second "became available" row; the vest entries
    stay in the ledger and in the admin.
    """
    entries = (
        Entry.objects.filter(account__user_id=user_id)
        .exclude(kind=EntryKind.VEST)
        .filter(_FILTERS[HistoryFilter(kind)])
    )
    if date_from:
        entries = entries.filter(created_at__gte=clock.business_day_start(date_from))
    if date_to:
        entries = entries.filter(created_at__lt=clock.business_day_start(date_to + timedelta(days=1)))
    paginator = Paginator(entries.select_related("related_entry").order_by("-id"), per_page)
    result = paginator.get_page(page)
    pending_earns = [e.pk for e in result.object_list if e.pending_amount > 0 and e.kind != EntryKind.VEST]
    lot_state = {
        entry_id: (status, available_at)
        for entry_id, status, available_at in Lot.objects.filter(entry_id__in=pending_earns).values_list(
            "entry_id", "status", "available_at"
        )
    }
    result.object_list = [_history_row(e, *lot_state.get(e.pk, ("", None))) for e in result.object_list]
    return result


@dataclass(frozen=True)
class EntryView:
    """One ledger entry as the host API lists it: ``points``/``pending_points`` it added (negative:
    took), the available ``balance_after`` it, and its history line in the active language."""

    id: int
    created_at: datetime
    kind: str
    points: int
    pending_points: int
    balance_after: int
    description: str
    reference: str


@dataclass(frozen=True)
class EntriesPage:
    count: int
    page: int
    page_size: int
    results: list[EntryView]

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page * self.page_size < self.count else None


def entries_page(*, user_id: int, page: int = 1, page_size: int = 50) -> EntriesPage:
    """Every entry of the member (vests included: the ledger as it is), newest first, one page.

    ``page`` starts at 1; a page past the end is empty (never clamped to the last one, so a
    host paging through cannot read the same page twice). Two queries.
    """
    entries = Entry.objects.filter(account__user_id=user_id)
    count = entries.count()
    start = (page - 1) * page_size
    rows = entries.select_related("related_entry").order_by("-id")[start : start + page_size]
    return EntriesPage(
        count=count,
        page=page,
        page_size=page_size,
        results=[
            EntryView(
                id=entry.pk,
                created_at=entry.created_at,
                kind=entry.kind,
                points=entry.amount,
                pending_points=entry.pending_amount,
                balance_after=entry.balance_after,
                description=entry_description(entry),
                reference=entry.reference,
            )
            for entry in rows
        ],
    )


def spends_refunded_since(*, user_id: int, since: datetime) -> list[str]:
    """The references of the member's spends given back (cancelled, rejected, timed out) since
    ``since``, newest first, one per spend: what a redeem-and-cancel loop is counted from
    (docs/decisions/0056). One query."""
    rows = (
        Entry.objects.filter(account__user_id=user_id, kind=EntryKind.REFUND, created_at__gte=since)
        .exclude(reference="")
        .order_by("-created_at", "-pk")
        .values_list("reference", flat=True)
    )
    return list(dict.fromkeys(rows))
