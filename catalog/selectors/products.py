"""Reads of the catalog for members: the mall home, the product grid, one product.

A grid of products is one query whatever its size: the first picture and the running sale
price are correlated subqueries, the category is joined, and the member's price is computed
in SQL so the "what I can afford" filter and the points sort agree with what the cards show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from catalog import order_states, rules
from catalog.enums import CATEGORY_ICON_FALLBACK, ProductKind, SortOrder
from catalog.models import (
    Category,
    Order,
    Product,
    ProductImage,
    ProductView,
    Review,
    SalePrice,
    stock_is_few_left,
)
from catalog.selectors.common import ReviewView, media_url, review_view
from catalog.selectors.pricing import MemberPricing, tier_names
from points import selectors as points_selectors
from points.enums import EarningSource

PAGE_SIZE = 24
# The page sizes a member may choose on the catalog (issue #15, P3 measures 48 cards); anything
# else asked for is the default, so a page is never unbounded and never an error.
PAGE_SIZES = (24, 48)


def page_size(asked: object) -> int:
    """The catalog's cards per page for the ``size`` a request asked for: one of PAGE_SIZES,
    else PAGE_SIZE (missing, not a number, out of the list)."""
    try:
        size = int(str(asked))
    except (TypeError, ValueError):
        return PAGE_SIZE
    return size if size in PAGE_SIZES else PAGE_SIZE


SHELF_SIZE = 10  # products in one strip of the home page
ALSO_LIKE_SIZE = 8
REVIEWS_SHOWN = 10
# "Members who redeemed this": how many of its latest buyers to look at. Bounds the query on a best seller.
CO_BUYERS_SAMPLE = 200
HISTORY_SAMPLE = 20  # recent views and orders that steer "recommended for you"


# --- Product cards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductCard:
    id: int
    name: str
    kind: str
    kind_label: str
    category_id: int
    category_name: str
    thumb_url: str
    price: rules.Price
    cash_price: Decimal
    market_price: Decimal
    stock: int
    sold: int
    low_stock_threshold: int
    min_tier_rank: int
    tier_label: str  # e.g. "Gold+" for a tier-exclusive item, "" for everyone's
    tier_allowed: bool
    flash_sale: bool
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    sale_price_ends_at: datetime | None  # the end of a running 折扣 price
    upcoming: bool  # the sale window has not opened yet
    ended: bool
    # The member's price once an upcoming window opens, when a sale price (a flash price) runs then.
    opening_price: rules.Price | None = None

    @property
    def sold_out(self) -> bool:
        return self.stock == 0

    @property
    def few_left(self) -> bool:
        """The card says "Only N left"."""
        return stock_is_few_left(stock=self.stock, threshold=self.low_stock_threshold)

    @property
    def has_cash(self) -> bool:
        return self.cash_price > 0

    @property
    def shown_price(self) -> rules.Price:
        """The price a card shows: an upcoming flash sale's own price, not the regular one it
        replaces at the opening; otherwise the price of now."""
        return self.opening_price if self.upcoming and self.opening_price is not None else self.price

    @property
    def countdown_to(self) -> datetime | None:
        """The instant a countdown on the card runs to: the opening, the end of the window, or of the sale price."""
        if self.upcoming:
            return self.sale_starts_at
        if self.sale_ends_at is not None:
            return self.sale_ends_at
        if self.price.on_sale:
            return self.sale_price_ends_at
        return None


def _listed(now: datetime) -> Q:
    return Q(**rules.REDEEMABLE) & (Q(sale_ends_at__isnull=True) | Q(sale_ends_at__gt=now))


def _cards_queryset(now: datetime, pricing: MemberPricing) -> QuerySet[Product]:
    """Products with everything a card shows, annotated in one SELECT."""
    first_image = ProductImage.objects.filter(product=OuterRef("pk")).order_by("sort", "pk")
    running_sale = SalePrice.objects.filter(product=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now).order_by(
        "points_price", "pk"
    )
    # The sale price that will run when the product's window opens: an upcoming flash sale's price.
    opening_sale = SalePrice.objects.filter(
        product=OuterRef("pk"), starts_at__lte=OuterRef("sale_starts_at"), ends_at__gt=OuterRef("sale_starts_at")
    ).order_by("points_price", "pk")
    listed = Case(
        When(sale_points__lt=F("points_price"), then=F("sale_points")),
        default=F("points_price"),
        output_field=IntegerField(),
    )
    return (
        Product.objects.select_related("category")
        .defer("description_zh", "description_en", "supplier", "cost_price")
        .annotate(
            thumb=Subquery(first_image.values("thumb_list")[:1]),
            sale_points=Subquery(running_sale.values("points_price")[:1]),
            sale_points_ends=Subquery(running_sale.values("ends_at")[:1]),
            opening_points=Case(
                When(sale_starts_at__gt=now, then=Subquery(opening_sale.values("points_price")[:1])),
                default=None,
                output_field=IntegerField(),
            ),
        )
        # The same arithmetic as rules.tier_price, so filters and sorting match the cards.
        .annotate(
            member_points=Greatest(
                listed * Value(pricing.price_percent) / Value(100), Value(1), output_field=IntegerField()
            )
        )
    )


def _card(product: Product, pricing: MemberPricing, tiers: dict[int, str], now: datetime) -> ProductCard:
    price = rules.price_for(regular=product.points_price, sale=product.sale_points, price_percent=pricing.price_percent)
    opening: int | None = product.opening_points  # type: ignore[attr-defined]  # _cards_queryset annotates it
    tier_name = tiers.get(product.min_tier_rank, "")
    return ProductCard(
        id=product.pk,
        name=product.name,
        kind=product.kind,
        kind_label=str(ProductKind(product.kind).label),
        category_id=product.category_id,
        category_name=product.category.name,
        thumb_url=media_url("thumb_list", product.thumb),
        price=price,
        cash_price=product.cash_price,
        market_price=product.market_price,
        stock=product.stock,
        sold=product.sold,
        low_stock_threshold=product.low_stock_threshold,
        min_tier_rank=product.min_tier_rank,
        tier_label=f"{tier_name}+" if product.min_tier_rank and tier_name else "",
        tier_allowed=pricing.tier_rank >= product.min_tier_rank,
        flash_sale=product.flash_sale,
        sale_starts_at=product.sale_starts_at,
        sale_ends_at=product.sale_ends_at,
        sale_price_ends_at=product.sale_points_ends if price.on_sale else None,
        upcoming=product.sale_starts_at is not None and now < product.sale_starts_at,
        ended=product.sale_ends_at is not None and now >= product.sale_ends_at,
        opening_price=(
            rules.price_for(regular=product.points_price, sale=opening, price_percent=pricing.price_percent)
            if opening is not None and opening < product.points_price
            else None
        ),
    )


def _cards(products, pricing: MemberPricing, tiers: dict[int, str], now: datetime) -> list[ProductCard]:
    return [_card(product, pricing, tiers, now) for product in products]


def tier_exclusive_counts() -> dict[int, int]:
    """How many listed items only members of a tier and above may redeem: {min_tier_rank: count},
    ranks above 0 only (an item for everyone is nobody's exclusive). One query."""
    rows = (
        Product.objects.filter(_listed(timezone.now()), min_tier_rank__gt=0)
        .values("min_tier_rank")
        .annotate(n=Count("pk"))
        .values_list("min_tier_rank", "n")
    )
    return dict(rows)


# --- Categories and the catalog page ---------------------------------------------------------


@dataclass(frozen=True)
class CategoryView:
    id: int
    slug: str
    name: str
    parent_id: int | None
    icon: str = CATEGORY_ICON_FALLBACK  # a vendored icon's name (catalog.enums.CategoryIcon)


def category_list() -> list[CategoryView]:
    """The shown categories in the operators' order (one query)."""
    return [
        CategoryView(id=c.pk, slug=c.slug, name=c.name, parent_id=c.parent_id, icon=c.icon_name)
        for c in Category.objects.filter(active=True).order_by("sort", "pk")
    ]


@dataclass(frozen=True)
class CatalogQuery:
    """What the member asked the catalog page for; every part is optional."""

    search: str = ""
    category: str = ""  # a category slug; its sub-categories are included
    kind: str = ""
    min_points: int | None = None
    max_points: int | None = None
    affordable: bool = False
    sort: str = SortOrder.POPULAR


_ORDERINGS = {
    SortOrder.POPULAR: ("-sold", "-sort_weight", "-pk"),
    SortOrder.NEWEST: ("-created_at", "-pk"),
    SortOrder.POINTS_ASC: ("member_points", "-sort_weight", "pk"),
    SortOrder.POINTS_DESC: ("-member_points", "-sort_weight", "-pk"),
}


def product_page(
    *, query: CatalogQuery, pricing: MemberPricing, page: int | str = 1, per_page: int = PAGE_SIZE
) -> Page:
    """A page of product cards for the catalog page, in a constant number of queries.

    Points filters and the points sort use the member's own price (after the tier discount
    and any running sale), the price their cards show. Queries: tier names, count, page.
    """
    now = timezone.now()
    products = _cards_queryset(now, pricing).filter(_listed(now))
    if query.search:
        products = products.filter(Q(name_zh__icontains=query.search) | Q(name_en__icontains=query.search))
    if query.category:
        products = products.filter(Q(category__slug=query.category) | Q(category__parent__slug=query.category))
    if query.kind:
        products = products.filter(kind=query.kind)
    if query.min_points is not None:
        products = products.filter(member_points__gte=query.min_points)
    if query.max_points is not None:
        products = products.filter(member_points__lte=query.max_points)
    if query.affordable:
        products = products.filter(member_points__lte=pricing.balance or 0)
    products = products.order_by(*_ORDERINGS.get(SortOrder(query.sort or SortOrder.POPULAR)))
    tiers = tier_names()
    result = Paginator(products, per_page).get_page(page)
    result.object_list = _cards(result.object_list, pricing, tiers, now)
    return result


# --- The mall home -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignBanner:
    name: str
    multiplier: Decimal
    ends_at: datetime
    sources: list[str]


@dataclass(frozen=True)
class MallHome:
    campaigns: list[CampaignBanner]
    flash_sales: list[ProductCard]
    recommended: list[ProductCard]
    recently_viewed: list[ProductCard]
    new_arrivals: list[ProductCard]
    popular: list[ProductCard]
    categories: list[CategoryView] = field(default_factory=list)

    @property
    def flash_banners(self) -> list[ProductCard]:
        """The flash sales worth a banner: those running now first, then the next to open."""
        running = [card for card in self.flash_sales if not card.upcoming]
        upcoming = [card for card in self.flash_sales if card.upcoming]
        return (running[:1] + upcoming[:1]) if running and upcoming else (running or upcoming)[:2]


def _running_campaigns(now: datetime) -> list[CampaignBanner]:
    labels = dict(EarningSource.choices)
    return [
        CampaignBanner(
            name=c.name,
            multiplier=c.multiplier,
            ends_at=c.ends_at,
            sources=[str(labels.get(source, source)) for source in c.sources],
        )
        for c in points_selectors.live_rules().campaigns
        if c.starts_at <= now < c.ends_at
    ]


def recently_viewed(*, user_id: int, pricing: MemberPricing, limit: int = SHELF_SIZE, tiers=None) -> list[ProductCard]:
    now = timezone.now()
    last_view = ProductView.objects.filter(member_id=user_id, product=OuterRef("pk")).values("viewed_at")[:1]
    products = (
        _cards_queryset(now, pricing)
        .filter(_listed(now))
        .annotate(viewed_at=Subquery(last_view))
        .filter(viewed_at__isnull=False)
        .order_by("-viewed_at")[:limit]
    )
    return _cards(products, pricing, tiers if tiers is not None else tier_names(), now)


def recommended_for(*, user_id: int, pricing: MemberPricing, limit: int = SHELF_SIZE, tiers=None) -> list[ProductCard]:
    """Best sellers of the categories the member looked at or redeemed from lately, minus what they
    looked at and what is sold out (or off the shelf)."""
    now = timezone.now()
    viewed = ProductView.objects.filter(member_id=user_id).order_by("-viewed_at")
    redeemed = Order.objects.filter(member_id=user_id).order_by("-created_at")
    categories = Q(category_id__in=Subquery(viewed.values("product__category_id")[:HISTORY_SAMPLE])) | Q(
        category_id__in=Subquery(redeemed.values("product__category_id")[:HISTORY_SAMPLE])
    )
    products = (
        _cards_queryset(now, pricing)
        .filter(_listed(now))
        .filter(categories, stock__gt=0)
        .exclude(pk__in=ProductView.objects.filter(member_id=user_id).values("product_id"))
        .order_by("-sold", "-sort_weight", "-pk")[:limit]
    )
    return _cards(products, pricing, tiers if tiers is not None else tier_names(), now)


def mall_home(*, pricing: MemberPricing) -> MallHome:
    """Everything the mall's home page shows; the personal strips only for a signed-in member."""
    now = timezone.now()
    tiers = tier_names()
    shelf = _cards_queryset(now, pricing).filter(_listed(now))
    flash = shelf.filter(flash_sale=True).order_by("sale_starts_at", "sale_ends_at", "pk")[:SHELF_SIZE]
    user_id = pricing.user_id
    return MallHome(
        campaigns=_running_campaigns(now),
        flash_sales=_cards(flash, pricing, tiers, now),
        recommended=recommended_for(user_id=user_id, pricing=pricing, tiers=tiers) if user_id else [],
        recently_viewed=recently_viewed(user_id=user_id, pricing=pricing, tiers=tiers) if user_id else [],
        new_arrivals=_cards(shelf.order_by("-created_at", "-pk")[:SHELF_SIZE], pricing, tiers, now),
        popular=_cards(shelf.order_by("-sold", "-sort_weight", "-pk")[:SHELF_SIZE], pricing, tiers, now),
        categories=category_list(),
    )


# --- One product -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageView:
    url: str
    detail_url: str
    thumb_url: str
    alt: str  # the operator's alt text, else the product's name and the picture's number


@dataclass(frozen=True)
class ProductDetail:
    card: ProductCard
    description: str
    category_slug: str
    images: list[ImageView]
    per_order_limit: int
    per_day_limit: int | None
    lifetime_limit: int | None
    tier_required: str  # the tier's name, "" when everyone may redeem it
    needs_address: bool
    rating_average: Decimal | None
    rating_count: int
    reviews: list[ReviewView]
    same_category: list[ProductCard]
    co_redeemed: list[ProductCard]

    @property
    def max_quantity(self) -> int:
        return max(min(self.per_order_limit, self.card.stock), 1)

    def quantity_cap(self, quota: rules.RedemptionQuota) -> int:
        """The most one order of this member may ask for: the order limit, the stock and what is
        left of their quota (at least 1, so the field stays valid; an exhausted quota disables it)."""
        left = quota.left
        return self.max_quantity if left is None else max(min(self.max_quantity, left), 1)

    @property
    def redeemable(self) -> bool:
        card = self.card
        return not (card.sold_out or card.upcoming or card.ended or not card.tier_allowed)

    @property
    def rating_stars(self) -> int:
        return round(self.rating_average) if self.rating_average is not None else 0


def product_card(*, product_id: int, pricing: MemberPricing) -> ProductCard | None:
    """One on-shelf product as a card (e.g. for the confirmation page), or None."""
    now = timezone.now()
    product = _cards_queryset(now, pricing).filter(pk=product_id, **rules.REDEEMABLE).first()
    return _card(product, pricing, tier_names(), now) if product else None


def product_detail(*, product_id: int, pricing: MemberPricing) -> ProductDetail | None:
    """The product page, or None when the product is unknown or off the shelf (a 404).

    Bounded: the related strips are one query each (at most ALSO_LIKE_SIZE cards), the
    co-redeemed strip looks at the product's latest CO_BUYERS_SAMPLE buyers only.
    """
    now = timezone.now()
    product = _cards_queryset(now, pricing).defer(None).filter(pk=product_id, **rules.REDEEMABLE).first()
    if product is None:
        return None
    tiers = tier_names()
    images = [
        ImageView(
            url=image.image.url if image.image else "",
            detail_url=image.thumb_detail.url if image.thumb_detail else "",
            thumb_url=image.thumb_list.url if image.thumb_list else "",
            alt=image.alt or (product.name if number == 1 else f"{product.name} ({number})"),
        )
        for number, image in enumerate(ProductImage.objects.filter(product_id=product.pk).order_by("sort", "pk"), 1)
    ]
    reviews = Review.objects.filter(product_id=product.pk)
    summary = reviews.aggregate(average=Avg("rating"), count=Count("pk"))
    latest_reviews = (
        reviews.select_related("member").prefetch_related("photos").order_by("-created_at", "-pk")[:REVIEWS_SHOWN]
    )
    # "You may also like": only what the member could redeem now, never a sold-out item.
    shelf = _cards_queryset(now, pricing).filter(_listed(now), stock__gt=0).exclude(pk=product.pk)
    same_category = shelf.filter(category_id=product.category_id).order_by("-sold", "-sort_weight", "-pk")
    buyers = (
        Order.objects.filter(product_id=product.pk, status__in=order_states.LIVE)
        .order_by("-created_at")
        .values("member_id")[:CO_BUYERS_SAMPLE]
    )
    their_other_items = (
        Order.objects.filter(member_id__in=Subquery(buyers), status__in=order_states.LIVE)
        .exclude(product_id=product.pk)
        .values("product_id")
        .annotate(buyers=Count("member_id", distinct=True))
        .order_by("-buyers", "product_id")
        .values("product_id")[:ALSO_LIKE_SIZE]
    )
    co_redeemed = shelf.filter(pk__in=Subquery(their_other_items)).order_by("-sold", "-pk")
    average = summary["average"]
    return ProductDetail(
        card=_card(product, pricing, tiers, now),
        description=product.description,
        category_slug=product.category.slug,
        images=images,
        per_order_limit=product.per_order_limit,
        per_day_limit=product.per_day_limit,
        lifetime_limit=product.lifetime_limit,
        tier_required=tiers.get(product.min_tier_rank, "") if product.min_tier_rank else "",
        needs_address=product.kind == ProductKind.PHYSICAL,
        rating_average=Decimal(str(average)).quantize(Decimal("0.1")) if average is not None else None,
        rating_count=summary["count"],
        reviews=[review_view(r) for r in latest_reviews],
        same_category=_cards(same_category[:ALSO_LIKE_SIZE], pricing, tiers, now),
        co_redeemed=_cards(co_redeemed, pricing, tiers, now),
    )
