"""Reads of the catalog for members: the mall home, the product grid, a product, orders.

Everything comes back as small frozen dataclasses. A grid of products is one query
whatever its size: the first picture and the running sale price are correlated
subqueries, the category is joined, and the member's price is computed in SQL so the
"what I can afford" filter and the points sort agree with what the cards show.
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
    Exists,
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
from django.utils.translation import gettext as _

from catalog import notices, payments, rules
from catalog.enums import OrderStatus, ProductKind, RefundReason, RefundStatus, SortOrder
from catalog.models import (
    CashRefund,
    Category,
    Code,
    Order,
    OrderEvent,
    Product,
    ProductImage,
    ProductView,
    Review,
    SalePrice,
)
from points import selectors as points_selectors
from points.enums import EarningSource

PAGE_SIZE = 24
ORDERS_PAGE_SIZE = 10
SHELF_SIZE = 10  # products in one strip of the home page
ALSO_LIKE_SIZE = 8
REVIEWS_SHOWN = 10
# "Members who redeemed this": how many of its latest buyers to look at. Bounds the query on a best seller.
CO_BUYERS_SAMPLE = 200
HISTORY_SAMPLE = 20  # recent views and orders that steer "recommended for you"

# Orders that count as a redemption (the others gave their points back).
LIVE_STATUSES = [s for s in OrderStatus.values if s not in (OrderStatus.CANCELLED, OrderStatus.REJECTED)]
CANCELLABLE = {OrderStatus.AWAITING_PAYMENT, OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED}
RECEIVABLE = {OrderStatus.SHIPPED, OrderStatus.DELIVERED}
REVIEWABLE = {OrderStatus.DELIVERED, OrderStatus.COMPLETED}


def _media_url(file_field_name: str, name: str | None) -> str:
    if not name:
        return ""
    return ProductImage._meta.get_field(file_field_name).storage.url(name)


# --- The member's prices -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberPricing:
    """What prices a visitor sees: their tier's percentage and, when signed in, their balance."""

    user_id: int | None = None
    price_percent: int = 100
    tier_rank: int = 0
    tier_name: str = ""
    balance: int | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def discounted(self) -> bool:
        return self.price_percent < 100

    @property
    def discount_percent(self) -> int:
        return 100 - self.price_percent


def member_pricing(*, user_id: int | None) -> MemberPricing:
    """The member's tier discount and balance (two queries); list prices for anonymous visitors."""
    if user_id is None:
        return MemberPricing()
    tier = points_selectors.member_tier(user_id=user_id)
    return MemberPricing(
        user_id=user_id,
        price_percent=tier.price_percent if tier else 100,
        tier_rank=tier.rank if tier else 0,
        tier_name=tier.name if tier else "",
        balance=points_selectors.spendable_balance(user_id=user_id) or 0,
    )


def tier_names() -> dict[int, str]:
    """Tier name by rank, for "Gold+" badges and tier requirements (one query)."""
    return {tier.rank: tier.name for tier in points_selectors.tier_ladder()}


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

    @property
    def sold_out(self) -> bool:
        return self.stock == 0

    @property
    def low_stock(self) -> bool:
        return 0 < self.stock <= self.low_stock_threshold

    @property
    def has_cash(self) -> bool:
        return self.cash_price > 0

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
    return Q(on_shelf=True, category__active=True) & (Q(sale_ends_at__isnull=True) | Q(sale_ends_at__gt=now))


def _cards_queryset(now: datetime, pricing: MemberPricing) -> QuerySet[Product]:
    """Products with everything a card shows, annotated in one SELECT."""
    first_image = ProductImage.objects.filter(product=OuterRef("pk")).order_by("sort", "pk")
    running_sale = SalePrice.objects.filter(product=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now).order_by(
        "points_price", "pk"
    )
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
    tier_name = tiers.get(product.min_tier_rank, "")
    return ProductCard(
        id=product.pk,
        name=product.name,
        kind=product.kind,
        kind_label=str(ProductKind(product.kind).label),
        category_id=product.category_id,
        category_name=product.category.name,
        thumb_url=_media_url("thumb_list", product.thumb),
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
    )


def _cards(products, pricing: MemberPricing, tiers: dict[int, str], now: datetime) -> list[ProductCard]:
    return [_card(product, pricing, tiers, now) for product in products]


# --- Categories and the catalog page ---------------------------------------------------------


@dataclass(frozen=True)
class CategoryView:
    id: int
    slug: str
    name: str
    parent_id: int | None


def category_list() -> list[CategoryView]:
    """The shown categories in the operators' order (one query)."""
    return [
        CategoryView(id=c.pk, slug=c.slug, name=c.name, parent_id=c.parent_id)
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
    """Best sellers of the categories the member looked at or redeemed from lately, minus what they looked at."""
    now = timezone.now()
    viewed = ProductView.objects.filter(member_id=user_id).order_by("-viewed_at")
    redeemed = Order.objects.filter(member_id=user_id).order_by("-created_at")
    categories = Q(category_id__in=Subquery(viewed.values("product__category_id")[:HISTORY_SAMPLE])) | Q(
        category_id__in=Subquery(redeemed.values("product__category_id")[:HISTORY_SAMPLE])
    )
    products = (
        _cards_queryset(now, pricing)
        .filter(_listed(now))
        .filter(categories)
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


@dataclass(frozen=True)
class ReviewView:
    rating: int
    text: str
    photo_url: str
    author: str
    created_at: datetime

    @property
    def stars(self) -> range:
        return range(self.rating)

    @property
    def empty_stars(self) -> range:
        return range(5 - self.rating)


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

    @property
    def redeemable(self) -> bool:
        card = self.card
        return not (card.sold_out or card.upcoming or card.ended or not card.tier_allowed)

    @property
    def rating_stars(self) -> int:
        return round(self.rating_average) if self.rating_average is not None else 0


def _review_view(review: Review) -> ReviewView:
    return ReviewView(
        rating=review.rating,
        text=review.text,
        photo_url=review.photo.url if review.photo else "",
        author=review.member.public_name,
        created_at=review.created_at,
    )


def product_card(*, product_id: int, pricing: MemberPricing) -> ProductCard | None:
    """One on-shelf product as a card (e.g. for the confirmation page), or None."""
    now = timezone.now()
    product = _cards_queryset(now, pricing).filter(pk=product_id, on_shelf=True, category__active=True).first()
    return _card(product, pricing, tier_names(), now) if product else None


def product_detail(*, product_id: int, pricing: MemberPricing) -> ProductDetail | None:
    """The product page, or None when the product is unknown or off the shelf (a 404).

    Bounded: the related strips are one query each (at most ALSO_LIKE_SIZE cards), the
    co-redeemed strip looks at the product's latest CO_BUYERS_SAMPLE buyers only.
    """
    now = timezone.now()
    product = (
        _cards_queryset(now, pricing).defer(None).filter(pk=product_id, on_shelf=True, category__active=True).first()
    )
    if product is None:
        return None
    tiers = tier_names()
    images = [
        ImageView(
            url=image.image.url if image.image else "",
            detail_url=image.thumb_detail.url if image.thumb_detail else "",
            thumb_url=image.thumb_list.url if image.thumb_list else "",
        )
        for image in ProductImage.objects.filter(product_id=product.pk).order_by("sort", "pk")
    ]
    reviews = Review.objects.filter(product_id=product.pk)
    summary = reviews.aggregate(average=Avg("rating"), count=Count("pk"))
    latest_reviews = reviews.select_related("member").order_by("-created_at", "-pk")[:REVIEWS_SHOWN]
    shelf = _cards_queryset(now, pricing).filter(_listed(now)).exclude(pk=product.pk)
    same_category = shelf.filter(category_id=product.category_id).order_by("-sold", "-sort_weight", "-pk")
    buyers = (
        Order.objects.filter(product_id=product.pk, status__in=LIVE_STATUSES)
        .order_by("-created_at")
        .values("member_id")[:CO_BUYERS_SAMPLE]
    )
    their_other_items = (
        Order.objects.filter(member_id__in=Subquery(buyers), status__in=LIVE_STATUSES)
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
        reviews=[_review_view(r) for r in latest_reviews],
        same_category=_cards(same_category[:ALSO_LIKE_SIZE], pricing, tiers, now),
        co_redeemed=_cards(co_redeemed, pricing, tiers, now),
    )


# --- Orders ------------------------------------------------------------------------------------

# The tabs of "My orders": (value, statuses). Labels live with the view's template strings.
ORDER_TABS: dict[str, tuple[str, ...]] = {
    "all": (),
    "unpaid": (OrderStatus.AWAITING_PAYMENT,),
    "processing": (OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED),
    "shipped": (OrderStatus.SHIPPED,),
    "done": (OrderStatus.DELIVERED, OrderStatus.COMPLETED),
    "closed": (OrderStatus.CANCELLED, OrderStatus.REJECTED),
}


@dataclass(frozen=True)
class OrderRow:
    id: int
    product_id: int
    product_name: str
    kind: str
    quantity: int
    unit_points: int
    points_total: int
    cash_total: Decimal
    status: str
    status_label: str
    created_at: datetime
    pay_by: datetime | None
    thumb_url: str
    reviewed: bool

    @property
    def awaiting_payment(self) -> bool:
        return self.status == OrderStatus.AWAITING_PAYMENT

    @property
    def payment_overdue(self) -> bool:
        return self.awaiting_payment and self.pay_by is not None and self.pay_by <= timezone.now()

    @property
    def can_review(self) -> bool:
        return self.status in REVIEWABLE and not self.reviewed


def _order_name(order: Order) -> str:
    """The item's name in the member's language; the order's own snapshot if the product has none."""
    return order.product.name or order.product_name


def _order_thumb() -> Subquery:
    return Subquery(
        ProductImage.objects.filter(product=OuterRef("product_id")).order_by("sort", "pk").values("thumb_list")[:1]
    )


def order_page(*, member_id: int, tab: str = "all", page: int | str = 1, per_page: int = ORDERS_PAGE_SIZE) -> Page:
    """A page of the member's orders, newest first, as OrderRow objects (two queries)."""
    orders = Order.objects.filter(member_id=member_id)
    statuses = ORDER_TABS.get(tab, ())
    if statuses:
        orders = orders.filter(status__in=statuses)
    orders = (
        orders.select_related("product")
        .defer("product__description_zh", "product__description_en")
        .annotate(thumb=_order_thumb(), reviewed=Exists(Review.objects.filter(order=OuterRef("pk"))))
        .order_by("-created_at", "-pk")
    )
    result = Paginator(orders, per_page).get_page(page)
    result.object_list = [
        OrderRow(
            id=o.pk,
            product_id=o.product_id,
            product_name=_order_name(o),
            kind=o.kind,
            quantity=o.quantity,
            unit_points=o.unit_points,
            points_total=o.points_total,
            cash_total=o.cash_total,
            status=o.status,
            status_label=o.get_status_display(),
            created_at=o.created_at,
            pay_by=o.pay_by,
            thumb_url=_media_url("thumb_list", o.thumb),
            reviewed=bool(o.reviewed),
        )
        for o in result.object_list
    ]
    return result


def order_tab_counts(*, member_id: int) -> dict[str, int]:
    """How many of the member's orders each tab holds (one query)."""
    by_status = dict(
        Order.objects.filter(member_id=member_id).values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {
        tab: sum(by_status.values()) if not statuses else sum(by_status.get(s, 0) for s in statuses)
        for tab, statuses in ORDER_TABS.items()
    }


@dataclass(frozen=True)
class OrderEventView:
    status: str
    status_label: str
    note: str
    created_at: datetime
    by_member: bool


@dataclass(frozen=True)
class CodeView:
    code: str
    valid_until: datetime | None
    used_at: datetime | None

    @property
    def expired(self) -> bool:
        return self.valid_until is not None and self.valid_until <= timezone.now()


@dataclass(frozen=True)
class ProgressStep:
    label: str
    done: bool
    current: bool


@dataclass(frozen=True)
class OrderDetail:
    id: int
    product_id: int
    product_name: str
    product_on_shelf: bool
    kind: str
    kind_label: str
    quantity: int
    unit_points: int
    points_total: int
    points_saved: int
    cash_total: Decimal
    status: str
    status_label: str
    created_at: datetime
    pay_by: datetime | None
    paid_at: datetime | None
    recipient: str
    phone_masked: str
    address: str
    postal_code: str
    carrier: str
    tracking_number: str
    reject_reason: str
    thumb_url: str
    events: list[OrderEventView]
    code: CodeView | None
    review: ReviewView | None

    @property
    def awaiting_payment(self) -> bool:
        return self.status == OrderStatus.AWAITING_PAYMENT

    @property
    def closed(self) -> bool:
        return self.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED)

    @property
    def payment_overdue(self) -> bool:
        return self.awaiting_payment and self.pay_by is not None and self.pay_by <= timezone.now()

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE

    @property
    def can_confirm_receipt(self) -> bool:
        return self.status in RECEIVABLE

    @property
    def can_review(self) -> bool:
        return self.status in REVIEWABLE and self.review is None

    @property
    def physical(self) -> bool:
        return self.kind == ProductKind.PHYSICAL

    @property
    def has_cash(self) -> bool:
        return self.cash_total > 0

    @property
    def progress(self) -> list[ProgressStep]:
        """The order's road from placed to completed, for the stepper (empty once it is closed)."""
        if self.closed:
            return []
        status = self.status
        steps = [(_("Placed"), True)]
        if self.has_cash:
            steps.append((_("Paid"), status != OrderStatus.AWAITING_PAYMENT))
        if self.physical:
            shipped = status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
            steps.append((_("Shipped"), shipped))
            steps.append((_("Delivered"), status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED)))
        steps.append((_("Completed"), status == OrderStatus.COMPLETED))
        first_open = next((index for index, (_label, done) in enumerate(steps) if not done), None)
        return [
            ProgressStep(label=str(label), done=done, current=index == first_open)
            for index, (label, done) in enumerate(steps)
        ]


def _mask_phone(phone: str) -> str:
    if len(phone) <= 7:
        return phone
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def order_detail(*, member_id: int, order_id: int) -> OrderDetail | None:
    """One of the member's own orders with its history, code and review; None for anyone else's."""
    order = (
        Order.objects.filter(pk=order_id, member_id=member_id)
        .select_related("product")
        .annotate(thumb=_order_thumb())
        .first()
    )
    if order is None:
        return None
    events = [
        OrderEventView(
            status=e.to_status,
            status_label=str(OrderStatus(e.to_status).label),
            note=notices.note_text(e.note),
            created_at=e.created_at,
            by_member=e.actor_id == member_id,
        )
        for e in OrderEvent.objects.filter(order_id=order.pk).order_by("created_at", "pk")
    ]
    code = Code.objects.filter(order_id=order.pk).values("code", "valid_until", "used_at").first()
    review = Review.objects.filter(order_id=order.pk).select_related("member").first()
    return OrderDetail(
        id=order.pk,
        product_id=order.product_id,
        product_name=_order_name(order),
        product_on_shelf=order.product.on_shelf,
        kind=order.kind,
        kind_label=str(ProductKind(order.kind).label),
        quantity=order.quantity,
        unit_points=order.unit_points,
        points_total=order.points_total,
        points_saved=order.points_saved,
        cash_total=order.cash_total,
        status=order.status,
        status_label=order.get_status_display(),
        created_at=order.created_at,
        pay_by=order.pay_by,
        paid_at=order.paid_at,
        recipient=order.recipient,
        phone_masked=_mask_phone(order.phone),
        address=order.address,
        postal_code=order.postal_code,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        reject_reason=order.reject_reason,
        thumb_url=_media_url("thumb_list", order.thumb),
        events=events,
        code=CodeView(**code) if code else None,
        review=_review_view(review) if review else None,
    )


@dataclass(frozen=True)
class CashRefundView:
    amount: Decimal
    status: str
    status_label: str
    reason: str
    created_at: datetime
    refunded_at: datetime | None

    @property
    def owed(self) -> bool:
        """The money is still on its way back (due, or failed and being retried)."""
        return self.status != RefundStatus.REFUNDED

    @property
    def late_payment(self) -> bool:
        return self.reason == RefundReason.LATE_PAYMENT


@dataclass(frozen=True)
class OrderCash:
    """The cash part of one order: what was paid, how long a refund takes, the refunds made or owed."""

    amount: Decimal
    paid_at: datetime | None
    refund_working_days: int
    refunds: list[CashRefundView]

    @property
    def refund(self) -> CashRefundView | None:
        return self.refunds[0] if self.refunds else None


def order_cash(*, member_id: int, order_id: int) -> OrderCash | None:
    """The member's own order's cash part (None: not theirs, or points only). Two queries."""
    order = (
        Order.objects.filter(pk=order_id, member_id=member_id, cash_total__gt=0)
        .values("cash_total", "paid_at", "payment_backend")
        .first()
    )
    if order is None:
        return None
    backend = payments.backend_named(order["payment_backend"] or payments.configured_backend_name())
    refunds = [
        CashRefundView(
            amount=r.amount,
            status=r.status,
            status_label=r.get_status_display(),
            reason=r.reason,
            created_at=r.created_at,
            refunded_at=r.refunded_at,
        )
        for r in CashRefund.objects.filter(order_id=order_id).order_by("-created_at", "-pk")
    ]
    return OrderCash(
        amount=order["cash_total"],
        paid_at=order["paid_at"],
        refund_working_days=backend.refund_working_days,
        refunds=refunds,
    )
