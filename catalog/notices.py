"""What the catalog tells members and operators: history texts of redemptions and inbox alerts.

Stored as a code and parameters, rendered in the reader's language when read (points.notices,
docs/decisions/0019). Product names are stored in both languages (``product_name``), so an
English reader sees the English name of an item redeemed while Chinese was active.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from points.notices import Params, Text, bilingual, localized, register, render

# History texts (ledger entries).
REDEEMED = "catalog.redeemed"
REFUNDED = "catalog.refunded"
REVIEW = "catalog.review"
# Inbox messages.
LOW_STOCK = "catalog.low_stock"
# Notes the mall itself writes on an order's history (OrderEvent.note); people's notes are free text.
PAYMENT_TIMEOUT = "catalog.payment_timeout"


def product_name(product) -> dict:
    """A product's name in both languages, to store in a text's parameters."""
    return bilingual(zh=product.name_zh, en=product.name_en)


@register(REDEEMED)
def _redeemed(params: Params) -> str:
    return _("Redeemed: %(name)s ×%(quantity)s") % {"name": localized(params["name"]), "quantity": params["quantity"]}


@register(REFUNDED)
def _refunded(params: Params) -> str:
    return _("Refunded: %(name)s ×%(quantity)s") % {"name": localized(params["name"]), "quantity": params["quantity"]}


@register(REVIEW)
def _review(params: Params) -> str:
    return _("Review: %(name)s") % {"name": localized(params["name"])}


def note_text(note: str) -> str:
    """An order event's note as the reader reads it: a note the mall wrote (a code) in their
    language, a person's note (a member's cancel reason, an operator's) as written."""
    if note.startswith("catalog.") and (text := render(note, {})) is not None:
        return text.title
    return note


@register(PAYMENT_TIMEOUT)
def _payment_timeout(params: Params) -> str:
    return _("Payment not received in time")


@register(LOW_STOCK)
def _low_stock(params: Params) -> Text:
    return Text(
        _("Low stock: %(name)s (%(stock)s left)") % {"name": localized(params["name"]), "stock": params["stock"]},
        _("Restock it or take it off the shelf in the admin."),
    )
