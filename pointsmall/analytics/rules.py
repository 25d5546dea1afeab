"""What counts as a page view and as a time-on-page sample: pure functions, no ORM, no Redis.

docs/decisions/0028-traffic-analytics.md explains each rule.
"""

from __future__ import annotations

import re

from pointsmall.analytics.enums import PageType

# Automated clients, by User-Agent (case-insensitive). An empty User-Agent is a script too.
# Search and social crawlers ("bot", "crawl", "spider", "slurp", "facebookexternalhit",
# "preview"), headless and driven browsers ("headless" catches HeadlessChrome, "phantomjs",
# "puppeteer", "playwright", "selenium", "lighthouse"), uptime monitors and HTTP libraries.
BOT_PATTERN = re.compile(
    r"bot|crawl|spider|slurp|archiver|facebookexternalhit|preview|headless|phantomjs|puppeteer|playwright"
    r"|selenium|webdriver|lighthouse|pagespeed|monitor|pingdom|uptime|curl|wget|python|java/|okhttp"
    r"|go-http-client|httpclient|libwww|axios|node-fetch|scrapy",
    re.IGNORECASE,
)

# Time-on-page samples outside [MIN, MAX] are dropped: under a second is a bounce or a
# prefetch, over 30 minutes is a tab left open, and either would drag the average.
TIMING_MIN_MS = 1_000
TIMING_MAX_MS = 30 * 60 * 1_000

# Every member page's URL name → its page type. A member page not listed counts as OTHER.
PAGE_TYPES: dict[str, PageType] = {
    "home": PageType.HOME,
    "mall_home": PageType.HOME,
    "product_list": PageType.CATALOG,
    "product_detail": PageType.PRODUCT,
    "redeem_confirm": PageType.REDEEM,
    "order_list": PageType.ORDERS,
    "order_detail": PageType.ORDERS,
    "order_cancel": PageType.ORDERS,
    "order_confirm_receipt": PageType.ORDERS,
    "order_review": PageType.ORDERS,
    "checkin": PageType.CHECKIN,
    "checkin_record": PageType.CHECKIN,
    "checkin_makeup": PageType.CHECKIN,
    "checkin_reminder": PageType.CHECKIN,
    "task_list": PageType.TASKS,
    "task_claim": PageType.TASKS,
    "task_visit": PageType.TASKS,
    "task_survey": PageType.TASKS,
    "task_action": PageType.TASKS,
    "leaderboard": PageType.LEADERBOARD,
    "lottery": PageType.LOTTERY,
    "lottery_my_draws": PageType.LOTTERY,
    "lottery_campaign": PageType.LOTTERY,
    "lottery_draw": PageType.LOTTERY,
    "lottery_winners": PageType.LOTTERY,
    "lottery_campaign_draws": PageType.LOTTERY,
    "lottery_verify": PageType.LOTTERY,
    "my_points": PageType.POINTS,
    "my_tier": PageType.POINTS,
    "rules": PageType.POINTS,
    "account_overview": PageType.ACCOUNT,
    "profile": PageType.ACCOUNT,
    "phone_verify": PageType.ACCOUNT,
    "address_list": PageType.ACCOUNT,
    "address_create": PageType.ACCOUNT,
    "address_update": PageType.ACCOUNT,
    "address_delete": PageType.ACCOUNT,
    "address_set_default": PageType.ACCOUNT,
    "pin_manage": PageType.ACCOUNT,
    "invite": PageType.ACCOUNT,
    "inbox": PageType.INBOX,
}

# Pages whose ``pk`` URL argument is a product: their views also count for that product.
PRODUCT_PAGES = frozenset({"product_detail", "redeem_confirm"})
# Opening this page is a redemption start for its product (the top of the funnel's last step).
REDEEM_START_PAGES = frozenset({"redeem_confirm"})


def is_bot(user_agent: str) -> bool:
    """Whether a User-Agent is an automated client (BOT_PATTERN); an empty one is."""
    return not user_agent.strip() or BOT_PATTERN.search(user_agent) is not None


def page_type_for(url_name: str | None) -> PageType:
    """The page type of a member page's URL name; OTHER for any page not listed."""
    return PAGE_TYPES.get(url_name or "", PageType.OTHER)


def timing_accepted(milliseconds: int) -> bool:
    """Whether a time-on-page sample is kept: between one second and thirty minutes."""
    return TIMING_MIN_MS <= milliseconds <= TIMING_MAX_MS
