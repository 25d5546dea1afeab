"""The catalog's pieces that pages of other apps show: the member's order-status row (on "Me"),
the member's words for an order status, and the tier-exclusive items (on the tier page).

Tags rather than view context because those pages belong to apps below the catalog
(accounts, points), which may not import it (pyproject's import-linter layers).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from catalog import order_states, selectors

register = template.Library()


@dataclass(frozen=True)
class OrderStatusLink:
    tab: str  # a key of catalog.order_states.ORDER_TABS
    label: Promise
    icon: str  # a vendored icon (pointsmall/templatetags/mall_icons.py)
    count: int
    url: str  # the order list filtered to exactly this tab


# The row of the member's page, in the order Chinese malls show it: 待付款 / 待发货 / 待收货 / 待评价 / 退款.
ORDER_STATUS_ROW: tuple[tuple[str, Promise, str], ...] = (
    ("to_pay", gettext_lazy("To pay"), "wallet"),
    ("to_ship", gettext_lazy("To ship"), "package"),
    ("to_receive", gettext_lazy("To receive"), "truck"),
    ("to_review", gettext_lazy("To review"), "message-star"),
    ("refund", gettext_lazy("Refunds"), "receipt-refund"),
)


@register.simple_tag(takes_context=True)
def order_status_row(context) -> list[OrderStatusLink]:
    """``{% order_status_row as row %}``: the signed-in member's order counts by tab, each linking
    to the order list filtered to that tab (one query); [] for a visitor."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return []
    counts = selectors.order_tab_counts(member_id=user.pk)
    base = reverse("order_list")
    return [
        OrderStatusLink(tab=tab, label=label, icon=icon, count=counts.get(tab, 0), url=f"{base}?status={tab}")
        for tab, label, icon in ORDER_STATUS_ROW
    ]


@register.filter
def member_status(status: str) -> str:
    """``{{ order.status|member_status }}``: the member's word for an order status ("To ship", 待发货;
    never the operators' "Approved"): catalog.order_states.member_status_label."""
    return order_states.member_status_label(str(status))


@register.simple_tag
def tier_exclusive_count(rank: int | None) -> int:
    """``{% tier_exclusive_count tier.rank as n %}``: how many listed members-only items a member of
    tier ``rank`` may redeem (those of their tier and the tiers below, everyone's items not counted)."""
    if rank is None:
        return 0
    return sum(n for min_rank, n in selectors.tier_exclusive_counts().items() if min_rank <= int(rank))
