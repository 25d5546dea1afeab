from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from points import rules
from points.enums import HistoryFilter

# The date sheet's quick ranges (key → label); "custom" is the sheet's own two dates.
HISTORY_RANGES = {
    "7d": _("Last 7 days"),
    "30d": _("Last 30 days"),
    "3m": _("Last 3 months"),
}


@dataclass(frozen=True)
class HistoryFilters:
    """What the points history shows, from the query string; every value that was refused is left
    out and said in ``ignored`` (one sentence each), so the rest of the filter still applies."""

    kind: str = HistoryFilter.ALL
    date_from: date | None = None
    date_to: date | None = None
    range: str = ""  # a HISTORY_RANGES key, "custom" (dates of the member's own), or "" (all time)
    page: int = 1
    ignored: tuple[str, ...] = ()


class HistoryDatesForm(forms.Form):
    """The date sheet's custom range: two date inputs (the browser's own date picker)."""

    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


_NOT_A_DATE = {
    "date_from": _("The start date “%(value)s” is not a date, so it was ignored."),
    "date_to": _("The end date “%(value)s” is not a date, so it was ignored."),
}
_IN_THE_FUTURE = {
    "date_from": _("The start date %(value)s is in the future, so it was ignored."),
    "date_to": _("The end date %(value)s is in the future, so it was ignored."),
}


def _date(query: QueryDict, field: str, *, today: date, ignored: list[str]) -> date | None:
    raw = query.get(field, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        ignored.append(str(_NOT_A_DATE[field]) % {"value": raw[:20]})
        return None
    if day > today:
        ignored.append(str(_IN_THE_FUTURE[field]) % {"value": day.isoformat()})
        return None
    return day


def history_filters(query: QueryDict, *, today: date) -> HistoryFilters:
    """Read the history filter from ``query`` (``kind``, ``range`` or ``date_from``/``date_to``, ``page``).

    ``today`` is the business date. A quick ``range`` wins over dates; a malformed date, one after
    ``today``, or a start after the end (the start is dropped) is ignored and said. An unknown kind,
    range or page falls back to all / all time / the first page without a word (only links send them).
    """
    ignored: list[str] = []
    kind = query.get("kind", "")
    kind = kind if kind in HistoryFilter.values else HistoryFilter.ALL
    try:
        page = min(max(int(query.get("page", "1")), 1), 100_000)
    except ValueError:
        page = 1
    quick = query.get("range", "")
    if quick in HISTORY_RANGES:
        start, end = rules.history_range(today=today, key=quick)
        return HistoryFilters(kind=kind, date_from=start, date_to=end, range=quick, page=page)
    start = _date(query, "date_from", today=today, ignored=ignored)
    end = _date(query, "date_to", today=today, ignored=ignored)
    if start and end and start > end:
        ignored.append(
            gettext("The start date %(start)s is after the end date %(end)s, so the start date was ignored.")
            % {"start": start.isoformat(), "end": end.isoformat()}
        )
        start = None
    chosen = "custom" if (start or end) else ""
    return HistoryFilters(kind=kind, date_from=start, date_to=end, range=chosen, page=page, ignored=tuple(ignored))


class AdjustPointsForm(forms.Form):
    amount = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to credit, negative to debit."),
        min_value=-10_000_000,
        max_value=10_000_000,
    )
    reason = forms.CharField(
        label=_("Reason shown to the member"),
        help_text=_("The member reads this, word for word, in their points history."),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Internal note"),
        help_text=_("Only staff see this: the ticket, who asked, what you checked. Optional."),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a number other than zero."))
        return amount

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason
