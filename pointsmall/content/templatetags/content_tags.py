"""The home page's banners and announcements, as template tags: the catalog's home template loads
this library, so the catalog imports nothing of this app."""

from __future__ import annotations

from django import template

from pointsmall.content import selectors

register = template.Library()


@register.inclusion_tag("content/partials/banners.html")
def home_banners() -> dict:
    return {"banners": selectors.banners_current()}


@register.inclusion_tag("content/partials/announcements.html", takes_context=True)
def home_announcements(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    # Signed-in members also get the way to the feedback page here, with or without announcements.
    return {"announcements": selectors.announcements_for(user_id=user_id), "signed_in": user_id is not None}
