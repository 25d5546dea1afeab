"""Pure rules of the content app (no ORM): Markdown to safe HTML, which links a banner may
point to, what a contact looks like, and who an announcement is for."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import datetime

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

# What an announcement body may contain once rendered: no images, scripts, styles, tables or
# attributes beyond a link's href. Everything else is dropped, keeping its text.
ALLOWED_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h3", "h4", "blockquote", "code"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
# Links in an announcement: a path on this site or an absolute http(s) URL (``is_safe_link``).
URL_SCHEMES = {"http", "https"}
# A banner's absolute links: https only.
BANNER_URL_SCHEMES = {"https"}
LINK_REL = "nofollow noopener"
LINK_MAX = 300
PHONE = re.compile(r"\+?[0-9][0-9 -]{5,18}[0-9]")


def markdown_html(text: str) -> str:
    """``text`` (Markdown) as sanitised HTML: only ``ALLOWED_TAGS``, links whose href passes
    ``is_safe_link`` (a path on this site or http(s); any other href is dropped, the link's text
    stays) and ``rel="nofollow noopener"``. Raw HTML in the source is sanitised like the rest (a
    ``<script>`` and its content, ``onerror`` attributes, ``javascript:`` links go)."""
    html = markdown.markdown(text or "", output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_safe_href,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


def _safe_href(element: str, attribute: str, value: str) -> str | None:
    # nh3 hands over the value with entities decoded ("&#47;&#47;" is "//"): the browser's view.
    if attribute == "href" and not is_safe_link(value):
        return None
    return value


def is_safe_link(link: str, *, schemes: Collection[str] = URL_SCHEMES) -> bool:
    """The one rule for a link we put on a page (announcement bodies, banners).

    Either a path on this site — one leading "/" not followed by "/" or "\\" (browsers read
    "//host" and "/\\host" as another host) — or an absolute URL whose scheme is one of
    ``schemes`` (any case) with a host (``URLValidator``: "https:evil.com" is not one). Nothing
    else: no "//host", "#top", "page.html", ``javascript:``/``data:``. A link holding whitespace,
    a control or invisible character or a backslash anywhere is refused whole, as browsers drop
    or reinterpret those (" //host" is "//host" to them). Callers strip the operator's input first.
    """
    if not link or any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in link):
        return False
    if link.startswith("/"):
        return not link.startswith("//")
    try:
        URLValidator(schemes=sorted(schemes))(link)
    except ValidationError:
        return False
    return True


def is_banner_link(link: str) -> bool:
    """A banner may point to a path on this site or to an https URL (``is_safe_link``), at most
    ``LINK_MAX`` characters."""
    return bool(link) and len(link) <= LINK_MAX and is_safe_link(link, schemes=BANNER_URL_SCHEMES)


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
