"""Reads of the lottery: campaign pages, odds, my draws, winners, verification (reports: reports.py)."""

from lottery.selectors.campaigns import (
    CampaignCard,
    CampaignPage,
    MemberPart,
    PrizeRow,
    campaign_page,
    campaigns_live,
)
from lottery.selectors.dashboard import draws_by_day
from lottery.selectors.draws import DrawRow, WinnerRow, my_draws, winners
from lottery.selectors.proof import CampaignProof, DrawProof, draw_proof, draw_verify
from lottery.selectors.reports import PrizeOverCap, over_cap_warnings, prizes_over_cap

__all__ = [
    "CampaignCard",
    "CampaignPage",
    "CampaignProof",
    "DrawProof",
    "DrawRow",
    "MemberPart",
    "PrizeOverCap",
    "PrizeRow",
    "WinnerRow",
    "campaign_page",
    "campaigns_live",
    "draw_proof",
    "draw_verify",
    "draws_by_day",
    "my_draws",
    "over_cap_warnings",
    "prizes_over_cap",
    "winners",
]
