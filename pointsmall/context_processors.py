"""What the base layout needs on every page: the mall name, the nav and the header balance."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts import selectors as accounts_selectors

# The tab bar (and the header nav): the places members use daily, as Chinese malls order them.
# Each tab is (url name, label, the url names of the other pages it stays active on); a page
# lights the tab whose url is the longest prefix of its path, so /mall/orders/… is "Orders", not
# "Home". A tab shows once its app serves its page, so the nav never links to a page that does
# not exist yet (docs/decisions/0004); check-in and tasks are one tab (docs/decisions/0058).
NAV = [
    ("home", _("Home"), ("mall_home",)),
    ("checkin", _("Check-in · Tasks"), ("task_list", "leaderboard")),
    ("lottery", _("Lottery"), ()),
    ("order_list", _("Orders"), ("payment_start",)),
    (
        "account_overview",
        _("Me"),
        ("my_points", "my_tier", "feedback", "data_export", "account_delete", "account_change_password", "mfa_index"),
    ),
]

# The tab bar's icons (vendored Tabler icons: pointsmall/templatetags/mall_icons.py).
NAV_ICONS = {
    "home": "home",
    "checkin": "calendar-check",
    "lottery": "gift",
    "order_list": "receipt",
    "account_overview": "user",
}


def _prefix(url_name: str) -> str | None:
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        try:  # a url with an argument (the payment pages): its fixed head
            url = reverse(url_name, args=[0]).split("/0/")[0] + "/"
        except NoReverseMatch:
            return None
    return url


def _nav_items(request: HttpRequest) -> list[dict]:
    items: list[dict] = []
    best, best_length = None, 0
    for url_name, label, others in NAV:
        url = _prefix(url_name)
        if url is None:
            continue
        for prefix in (url, *filter(None, map(_prefix, others))):
            # "/" is the home page only; every other prefix covers the pages below it.
            matches = request.path == prefix if prefix == "/" else request.path.startswith(prefix)
            if matches and len(prefix) > best_length:
                best, best_length = url_name, len(prefix)
        items.append({"name": url_name, "url": url, "label": label, "icon": NAV_ICONS[url_name]})
    for item in items:
        item["active"] = item["name"] == best
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
