"""The member pages' catalog reads, cached where many members see the same thing (docs/decisions/0048).

What is shared — the cards of a catalog page, the home page's shelves, a product page — is cached
under the catalog's *generation* (``pointsmall.cache.generation``) and everything else it depends
on: the language, the member's price tier (percentage, rank, tier name), the filters and page,
and the balance only for the "what I can afford" filter. Every write to what those pages show
retires the generation (``catalog_changed``, called by the receivers in ``catalog.receivers``
and by the bulk writers), and a generation never outlives the next scheduled change (a sale
window opening or closing, a sale price starting or ending), nor a minute.

Stock moves with every redemption, so it is never cached: the stock and sold counts of the cards
shown are read live in one query and laid over the cached cards. A sold-out item therefore shows
"Sold out" on the very next page, without retiring every cached page on each sale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Min, Q
from django.utils import timezone, translation

from catalog.models import Product, SalePrice
from catalog.selectors import products as product_selectors
from catalog.selectors.pricing import MemberPricing
from catalog.selectors.products import CatalogQuery, MallHome, ProductCard, ProductDetail
from pointsmall import cache as fragments

CATALOG = "catalog"


def _member_views(user_id: int) -> str:
    return f"catalog-views:{user_id}"


def catalog_changed() -> None:
    """Retire the cached catalog pages once the current transaction commits (products, prices,
    pictures, categories, reviews, the shelf). Safe to call many times."""
    fragments.generation_bump(CATALOG)


def member_views_changed(*, user_id: int) -> None:
    """Retire one member's "recently viewed" and "recommended" strips (after a product view)."""
    fragments.generation_bump(_member_views(user_id))


def _next_scheduled_change() -> datetime | None:
    """The next instant the pages change with no write: a flash window or a sale price opening or
    closing. Two small aggregate queries, run only when a new generation is drawn."""
    now = timezone.now()
    windows = Product.objects.aggregate(
        opens=Min("sale_starts_at", filter=Q(sale_starts_at__gt=now)),
        closes=Min("sale_ends_at", filter=Q(sale_ends_at__gt=now)),
    )
    prices = SalePrice.objects.aggregate(
        opens=Min("starts_at", filter=Q(starts_at__gt=now)), closes=Min("ends_at", filter=Q(ends_at__gt=now))
    )
    instants = [value for value in (*windows.values(), *prices.values()) if value is not None]
    return min(instants) if instants else None


def catalog_generation() -> str:
    return fragments.generation(CATALOG, next_change=_next_scheduled_change)


def _pricing_parts(pricing: MemberPricing) -> tuple:
    # What of the member changes a card: the tier's percentage, rank (tier-only items) and name.
    return (translation.get_language(), pricing.price_percent, pricing.tier_rank, pricing.tier_name)


# --- Live stock over cached cards -------------------------------------------------------------


def _live_stock(ids: set[int]) -> dict[int, tuple[int, int]]:
    if not ids:
        return {}
    return {
        pk: (stock, sold) for pk, stock, sold in Product.objects.filter(pk__in=ids).values_list("pk", "stock", "sold")
    }


def _overlay(cards: list[ProductCard], live: dict[int, tuple[int, int]]) -> list[ProductCard]:
    shown = []
    for card in cards:
        if card.id not in live:  # deleted since it was cached
            continue
        stock, sold = live[card.id]
        shown.append(card if (card.stock, card.sold) == (stock, sold) else replace(card, stock=stock, sold=sold))
    return shown


def _in_stock(cards: list[ProductCard]) -> list[ProductCard]:
    """The recommendation strips leave out what sold out since they were cached (stock is live)."""
    return [card for card in cards if not card.sold_out]


# --- The catalog page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CardPage:
    """One page of the catalog grid: what the templates ask of a Django ``Page`` (``paginator``
    is the page itself, for ``page.paginator.count`` / ``num_pages``), but picklable."""

    object_list: list[ProductCard]
    number: int
    num_pages: int
    count: int

    @property
    def paginator(self) -> CardPage:
        return self

    def has_next(self) -> bool:
        return self.number < self.num_pages

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def product_page(
    *, query: CatalogQuery, pricing: MemberPricing, page: int | str = 1, per_page: int = product_selectors.PAGE_SIZE
) -> CardPage:
    """``products.product_page`` cached (see the module docstring) with live stock: one query on
    a warm cache (the stock of the cards shown), whatever ``per_page``."""

    def build() -> CardPage:
        result = product_selectors.product_page(query=query, pricing=pricing, page=page, per_page=per_page)
        return CardPage(
            object_list=list(result.object_list),
            number=result.number,
            num_pages=result.paginator.num_pages,
            count=result.paginator.count,
        )

    balance = pricing.balance if query.affordable else None
    parts = ("page", _pricing_parts(pricing), query, balance, str(page), per_page)
    cached = fragments.fragment(CATALOG, catalog_generation(), parts, build)
    live = _live_stock({card.id for card in cached.object_list})
    return replace(cached, object_list=_overlay(cached.object_list, live))


def category_list() -> list[product_selectors.CategoryView]:
    """``products.category_list``, cached under the catalog's generation."""
    parts = ("categories", translation.get_language())
    return fragments.fragment(CATALOG, catalog_generation(), parts, product_selectors.category_list)


# --- The mall home ------------------------------------------------------------------------------


def mall_home(*, pricing: MemberPricing) -> MallHome:
    """``products.mall_home`` cached: the shared shelves per language and price tier, the member's
    own strips per member (retired by their next product view), live stock over all of them."""
    token = catalog_generation()

    def shared() -> MallHome:
        return product_selectors.mall_home(pricing=replace(pricing, user_id=None, balance=None))

    home = fragments.fragment(CATALOG, token, ("home", _pricing_parts(pricing)), shared)
    user_id = pricing.user_id
    if user_id is not None:

        def personal() -> tuple[list[ProductCard], list[ProductCard]]:
            tiers = product_selectors.tier_names()
            return (
                product_selectors.recommended_for(user_id=user_id, pricing=pricing, tiers=tiers),
                product_selectors.recently_viewed(user_id=user_id, pricing=pricing, tiers=tiers),
            )

        views_token = fragments.generation(_member_views(user_id))
        parts = ("home-member", _pricing_parts(pricing), user_id, views_token)
        recommended, viewed = fragments.fragment(CATALOG, token, parts, personal)
        home = replace(home, recommended=recommended, recently_viewed=viewed)
    strips = (home.flash_sales, home.recommended, home.recently_viewed, home.new_arrivals, home.popular)
    live = _live_stock({card.id for strip in strips for card in strip})
    return replace(
        home,
        flash_sales=_overlay(home.flash_sales, live),
        recommended=_in_stock(_overlay(home.recommended, live)),
        recently_viewed=_overlay(home.recently_viewed, live),
        new_arrivals=_overlay(home.new_arrivals, live),
        popular=_overlay(home.popular, live),
    )


# --- One product --------------------------------------------------------------------------------


def product_detail(*, product_id: int, pricing: MemberPricing) -> ProductDetail | None:
    """``products.product_detail`` cached per product, language and price tier, with live stock;
    None (a 404) when the product is unknown or off the shelf. A 404 is cached like any answer:
    putting the product back on the shelf retires the generation."""
    token = catalog_generation()
    parts = ("product", _pricing_parts(pricing), product_id)

    def build():
        # A cached None would read as a miss; False stands for "no such product on the shelf".
        return product_selectors.product_detail(product_id=product_id, pricing=pricing) or False

    detail = fragments.fragment(CATALOG, token, parts, build)
    if not detail:
        return None
    cards = [detail.card, *detail.same_category, *detail.co_redeemed]
    live = _live_stock({card.id for card in cards})
    if detail.card.id not in live:
        return None
    return replace(
        detail,
        card=_overlay([detail.card], live)[0],
        same_category=_in_stock(_overlay(detail.same_category, live)),
        co_redeemed=_in_stock(_overlay(detail.co_redeemed, live)),
    )
