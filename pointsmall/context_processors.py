"""What the base layout needs on every page: the mall name, the nav and the header balance."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts import selectors as accounts_selectors

# The nav lists every section of the mall; an entry shows once its app serves its page,
# so the nav never links to a page that does not exist yet (docs/decisions/0004).
NAV = [
    ("home", _("Mall")),
    ("checkin", _("Check-in")),
    ("task_list", _("Tasks")),
    ("lottery", _("Lottery")),
    ("account_overview", _("My account")),
]


def _nav_items(request: HttpRequest) -> list[dict]:
    items = []
    for url_name, label in NAV:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"name": url_name, "url": url, "label": label, "active": active})
    return items


def shell(request: HttpRequest) -> dict:
    header_points = header_tier = None
    # The same one-query read the page's prices use (kept on the request), not a second one.
    status = accounts_selectors.viewer_status(request)
    if status is not None:
        header_points, header_tier = status.balance, (status.tier.name if status.tier else "")
    return {
        "mall_name": settings.MALL_NAME or _("Points Mall"),
        "nav_items": _nav_items(request),
        "header_points": header_points,
        "header_tier": header_tier,
    }
