"""Pure rules of the content app (no ORM): Markdown to safe HTML, which links a banner may
point to, what a contact looks like, and who an announcement is for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

# What an announcement body may contain once rendered: no images, scripts, styles, tables or
# attributes beyond a link's href. Everything else is dropped, keeping its text.
ALLOWED_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h3", "h4", "blockquote", "code"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
# Absolute links only over http(s); relative links (a path on this site) pass as they are.
URL_SCHEMES = {"http", "https"}
LINK_REL = "nofollow noopener"
LINK_MAX = 300
PHONE = re.compile(r"\+?[0-9][0-9 -]{5,18}[0-9]")


def markdown_html(text: str) -> str:
    """``text`` (Markdown) as sanitised HTML: only ``ALLOWED_TAGS``, links with an http(s) or
    relative href and ``rel="nofollow noopener"``. Raw HTML in the source is sanitised like
    the rest (a ``<script>`` and its content, ``onerror`` attributes, ``javascript:`` links go)."""
    html = markdown.markdown(text or "", output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


def is_site_path(link: str) -> bool:
    """A path on this site: starts with one "/", no backslash, whitespace or control character
    (browsers read "/\\" like "//", another host)."""
    return (
        link.startswith("/")
        and not link.startswith("//")
        and not any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in link)
    )


def is_banner_link(link: str) -> bool:
    """A banner may point to a path on this site or to an https URL, at most ``LINK_MAX`` characters."""
    if not link or len(link) > LINK_MAX:
        return False
    if link.startswith("/"):
        return is_site_path(link)
    try:
        URLValidator(schemes=["https"])(link)
    except ValidationError:
        return False
    return True


def is_contact(value: str) -> bool:
    """An e-mail address or a phone number (digits, spaces and dashes, an optional leading +)."""
    if "@" in value:
        try:
            EmailValidator()(value)
        except ValidationError:
            return False
        return True
    return PHONE.fullmatch(value) is not None and sum(ch.isdigit() for ch in value) >= 6


def in_window(now: datetime, starts_at: datetime, ends_at: datetime | None) -> bool:
    """Shown from ``starts_at`` (inclusive) until ``ends_at`` (exclusive; None: no end)."""
    return starts_at <= now and (ends_at is None or now < ends_at)


def for_audience(tiers: Iterable[str], tier_code: str | None) -> bool:
    """Whether an announcement for ``tiers`` (empty: every member and visitor) reaches a reader
    in ``tier_code`` (None: a visitor who is not signed in)."""
    tiers = list(tiers)
    return not tiers or (tier_code is not None and tier_code in tiers)
