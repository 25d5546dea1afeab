"""A grid of product cards rendered once and cached by everything it shows (docs/decisions/0048).

The cache key is the cards themselves (their every field, live stock included), the language and
what of the member a card prints (the tier's name beside a tier price): two members who see the
same cards share one rendering, and any change of a card is a new key, so nothing here is ever
retired by hand. Only the countdowns' server-written fallback text ("2 hours, 5 minutes") may be
up to FRAGMENT_SECONDS old; the page's script replaces it at once.
"""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString

from pointsmall import cache as fragments

register = template.Library()


@register.simple_tag(takes_context=True)
def product_cards(context, cards) -> SafeString:
    """``{% product_cards cards %}``: each card through ``catalog/partials/product_card.html``."""
    cards = list(cards)
    pricing = context.get("pricing")
    discounted = bool(pricing and pricing.discounted)
    tier_name = pricing.tier_name if discounted else ""
    parts = ("cards", translation.get_language(), discounted, tier_name, tuple(cards))

    def build() -> SafeString:
        return render_to_string("catalog/partials/product_cards.html", {"cards": cards, "pricing": pricing})

    return fragments.fragment("cards", "-", parts, build)
