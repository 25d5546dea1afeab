"""What the lottery tells members (history texts of draws and prizes, inbox messages), one
function per notice, rendered in the reader's language (points.notices, decision 0019).

Campaign and prize names are stored in both languages (``points.notices.bilingual``) and
picked when read.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from points.notices import Notice, Params, Text, bilingual, localized, register

DRAW_SPEND = "lottery.draw_spend"  # the spend entry of a paid draw
PRIZE_POINTS = "lottery.prize_points"  # the earn entry of a points prize
PRIZE_WON = "lottery.winner"  # the inbox message to a winner


def _campaign_name(campaign) -> dict:
    return bilingual(zh=campaign.name, en=campaign.name_en)


def _prize_name(prize) -> dict:
    return bilingual(zh=prize.name, en=prize.name_en)


def draw_spend(*, campaign) -> Notice:
    """ "Prize draw: <campaign>"."""
    return Notice(DRAW_SPEND, {"campaign": _campaign_name(campaign)})


def prize_points(*, campaign, prize) -> Notice:
    """ "Prize draw win: <prize> (<campaign>)"."""
    return Notice(PRIZE_POINTS, {"campaign": _campaign_name(campaign), "prize": _prize_name(prize)})


def prize_won(*, campaign, prize, draw_id: int) -> Notice:
    """The winner's inbox message: "You won <prize>" with the campaign and the draw number."""
    return Notice(PRIZE_WON, {"campaign": _campaign_name(campaign), "prize": _prize_name(prize), "draw": draw_id})


@register(DRAW_SPEND)
def _draw_spend(params: Params) -> str:
    return _("Prize draw: %(campaign)s") % {"campaign": localized(params["campaign"])}


@register(PRIZE_POINTS)
def _prize_points(params: Params) -> str:
    return _("Prize draw win: %(prize)s (%(campaign)s)") % {
        "prize": localized(params["prize"]),
        "campaign": localized(params["campaign"]),
    }


@register(
    PRIZE_WON,
    inbox=True,
    sample={
        "prize": {"zh": "100 积分", "en": "100 points"},
        "draw": 7,
        "campaign": {"zh": "新年抽奖", "en": "New Year draw"},
    },
)
def _prize_won(params: Params) -> Text:
    title = _("You won %(prize)s") % {"prize": localized(params["prize"])}
    body = _(
        "Your draw #%(draw)s in “%(campaign)s” won %(prize)s. Points are in your account at once; "
        "an item or a code is in your orders."
    ) % {"draw": params["draw"], "campaign": localized(params["campaign"]), "prize": localized(params["prize"])}
    return Text(title, body)
