"""The home page's banners and announcements, as template tags: the catalog's home template loads
this library, so the catalog imports nothing of this app."""

from __future__ import annotations

from django import template
from django.utils import translation

from accounts import selectors as accounts_selectors
from pointsmall import cache as fragments
from pointsmall.content import selectors

# Banners and announcements are the same for every viewer of a language (and tier): cached under
# the "content" generation, which every save or delete of either retires (pointsmall.wiring) and
# which lives a minute at most, so a window opening or closing shows within a minute
# (docs/decisions/0048).
CONTENT = "content"

register = template.Library()


@register.inclusion_tag("content/partials/banners.html")
def home_banners() -> dict:
    parts = ("banners", translation.get_language())
    return {"banners": fragments.fragment(CONTENT, fragments.generation(CONTENT), parts, selectors.banners_current)}


@register.inclusion_tag("content/partials/announcements.html", takes_context=True)
def home_announcements(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    tier_code = None
    if user_id is not None:
        status = accounts_selectors.viewer_status(request)  # read once per request, shared with the header
        tier_code = status.tier.code if status is not None and status.tier is not None else None
    parts = ("announcements", translation.get_language(), user_id is not None, tier_code)
    announcements = fragments.fragment(
        CONTENT,
        fragments.generation(CONTENT),
        parts,
        lambda: selectors.announcements_for_tier(tier_code=tier_code),
    )
    # Signed-in members also get the way to the feedback page here, with or without announcements.
    return {"announcements": announcements, "signed_in": user_id is not None}
