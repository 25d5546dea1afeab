"""What the leaderboard tells members: the history text and the inbox message of a monthly prize.

Stored as a message code and parameters and rendered in the reader's language when read
(points.notices, docs/decisions/0019). ``month`` is stored as ``YYYY-MM``.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from points.notices import Notice, Params, Text, register

PRIZE_MEMO = "tasks.leaderboard_prize"
PRIZE_MESSAGE = "tasks.leaderboard_prize_message"


def _month(value: str) -> str:
    year, month = (int(part) for part in value.split("-"))
    return date(year, month, 1).strftime("%Y-%m")


def month_code(month: date) -> str:
    """How a month is stored in the parameters and keys: ``YYYY-MM``."""
    return month.strftime("%Y-%m")


def prize_memo(*, month: date, rank: int) -> Notice:
    """History text of the points a monthly leaderboard place paid."""
    return Notice(PRIZE_MEMO, {"month": month_code(month), "rank": rank})


def prize_message(*, month: date, rank: int, points: int) -> Notice:
    """Inbox message telling a member their place on last month's board paid ``points``."""
    return Notice(PRIZE_MESSAGE, {"month": month_code(month), "rank": rank, "points": points})


@register(PRIZE_MEMO)
def _prize_memo(params: Params) -> str:
    return _("Leaderboard prize: no. %(rank)s in %(month)s") % {
        "rank": int(params["rank"]),
        "month": _month(params["month"]),
    }


@register(PRIZE_MESSAGE, inbox=True, sample={"rank": 1, "month": "2026-11", "points": 500})
def _prize_message(params: Params) -> Text:
    points = int(params["points"])
    values = {"rank": int(params["rank"]), "month": _month(params["month"]), "points": points}
    return Text(
        _("You placed no. %(rank)s on the %(month)s leaderboard") % values,
        ngettext(
            "%(points)s point for your place has been added to your account. Thank you for taking part!",
            "%(points)s points for your place have been added to your account. Thank you for taking part!",
            points,
        )
        % values,
    )
