"""What check-in tells members: history texts of its ledger entries and the reminder message.

Composing: one function per notice returns a ``points.notices.Notice`` that services pass on
(``**notice.memo`` to the ledger, ``**notice.message`` to ``notification_send``). Rendering:
the ``@register``-ed functions, in the reader's language when read (docs/decisions/0019).
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from points.notices import Notice, Params, Text, day, register

CHECKIN_MEMO = "tasks.checkin"
CHECKIN_MAKEUP_MEMO = "tasks.checkin_makeup"
CHECKIN_MAKEUP_SPEND_MEMO = "tasks.checkin_makeup_spend"
CHECKIN_BONUS_MEMO = "tasks.checkin_bonus"
CHECKIN_REMINDER = "tasks.checkin_reminder"


def checkin_memo(*, when: date, streak: int, multiplier: str = "") -> Notice:
    return Notice(CHECKIN_MEMO, {"day": when.isoformat(), "streak": streak, "multiplier": multiplier})


def makeup_memo(*, when: date) -> Notice:
    return Notice(CHECKIN_MAKEUP_MEMO, {"day": when.isoformat()})


def makeup_spend_memo(*, when: date) -> Notice:
    return Notice(CHECKIN_MAKEUP_SPEND_MEMO, {"day": when.isoformat()})


def bonus_memo(*, days: int, cycle: str, cycle_start: date) -> Notice:
    return Notice(CHECKIN_BONUS_MEMO, {"days": days, "cycle": cycle, "cycle_start": cycle_start.isoformat()})


def reminder(*, when: date) -> Notice:
    return Notice(CHECKIN_REMINDER, {"day": when.isoformat()})


@register(CHECKIN_MEMO)
def _checkin_memo(params: Params) -> str:
    streak = int(params["streak"])
    text = ngettext(
        "Daily check-in %(day)s (day %(streak)s of a streak)",
        "Daily check-in %(day)s (day %(streak)s of a streak)",
        streak,
    ) % {"day": day(params["day"]), "streak": streak}
    if params.get("multiplier"):
        text = _("%(text)s, check-in card ×%(multiplier)s") % {"text": text, "multiplier": params["multiplier"]}
    return text


@register(CHECKIN_MAKEUP_MEMO)
def _makeup_memo(params: Params) -> str:
    return _("Make-up check-in for %(day)s") % {"day": day(params["day"])}


@register(CHECKIN_MAKEUP_SPEND_MEMO)
def _makeup_spend_memo(params: Params) -> str:
    return _("Paid for a make-up check-in for %(day)s") % {"day": day(params["day"])}


@register(CHECKIN_BONUS_MEMO)
def _bonus_memo(params: Params) -> str:
    days = int(params["days"])
    if params["cycle"] == "weekly":
        text = ngettext(
            "Check-in bonus: %(days)s day in the week of %(start)s",
            "Check-in bonus: %(days)s days in the week of %(start)s",
            days,
        )
    else:
        text = ngettext(
            "Check-in bonus: %(days)s day in the month of %(start)s",
            "Check-in bonus: %(days)s days in the month of %(start)s",
            days,
        )
    return text % {"days": days, "start": day(params["cycle_start"])}


@register(CHECKIN_REMINDER, inbox=True, sample={"day": "2026-12-31"})
def _reminder(params: Params) -> Text:
    return Text(
        _("Don't forget to check in today"),
        _("You haven't checked in on %(day)s yet. Check in to keep your streak going.") % {"day": day(params["day"])},
    )
