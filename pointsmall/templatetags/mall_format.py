"""Filters that put a time or a tier discount the way members read them, in both languages.

``{% load mall_format %}``; numbers are grouped by Django's ``intcomma`` (humanize), which
groups in Chinese too since ``pointsmall/formats/zh_Hans`` (docs/decisions/0058).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from pointsmall.kernel import clock
from pointsmall.kernel.language import tier_discount_text

register = template.Library()


@register.filter
def moment(value: datetime | None, now: datetime | None = None) -> str:
    """An aware datetime on the business clock, with its day always said: "today 23:58",
    "yesterday 00:03", "tomorrow 00:10" (今天 / 昨天 / 明天), otherwise "2026-11-28 09:05".

    A bare "00:03" a few minutes after midnight reads as the wrong day; so no time is shown
    without its date. ``now`` is for tests (default: the current time). None or "": "".
    """
    if not value:
        return ""
    local = clock.business_time(value)
    today = clock.business_date(now or timezone.now())
    hm = local.strftime("%H:%M")
    day = local.date()
    if day == today:
        return _("today %(time)s") % {"time": hm}
    if day == today - timedelta(days=1):
        return _("yesterday %(time)s") % {"time": hm}
    if day == today + timedelta(days=1):
        return _("tomorrow %(time)s") % {"time": hm}
    return local.strftime("%Y-%m-%d %H:%M")


@register.filter
def tier_discount(price_percent: int | str | None) -> str:
    """A tier's redemption price as members read a discount (``language.tier_discount_text``):
    "8.5折" in Chinese, "15% off" in English, "原价" / "full price" at 100."""
    return tier_discount_text(price_percent)
