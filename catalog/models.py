"""Catalog tables: categories, products, images, code pools, orders, stock movements, reviews.

Only ``catalog.services`` writes them. Stock changes with a guarded UPDATE and a
StockMovement row each time, so stock can be audited and reconstructed.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from catalog.enums import (
    CATEGORY_ICON_FALLBACK,
    CategoryIcon,
    OrderStatus,
    PaymentBackendName,
    PrivilegeEffect,
    ProductKind,
    RefundReason,
    RefundStatus,
    StockReason,
)
from points.validators import INT_MAX, SMALL_INT_MAX, validate_operator_text
from pointsmall.kernel.language import pick_language

# The most one order may cost, in the order's columns (Order.points_total, Order.cash_total).
ORDER_POINTS_MAX = INT_MAX
ORDER_CASH_MAX = Decimal("99999999.99")
# A coupon valid for more than ten years is a typo.
MAX_COUPON_DAYS = 3650


class Category(models.Model):
    name_zh = models.CharField(_("name (Chinese)"), max_length=40, validators=[validate_operator_text])
    name_en = models.CharField(_("name (English)"), max_length=40, validators=[validate_operator_text])
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    sort = models.PositiveSmallIntegerField(_("order"), default=0, validators=[MaxValueValidator(SMALL_INT_MAX)])
    active = models.BooleanField(_("shown"), default=True)
    icon = models.CharField(
        _("icon"),
        max_length=40,
        choices=CategoryIcon.choices,
        blank=True,
        help_text=_("Shown on the category tile. Empty: a gift."),
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return pick_language(zh=self.name_zh, en=self.name_en)

    @property
    def icon_name(self) -> str:
        """The icon to draw: the chosen one, or the fallback (catalog.enums.CATEGORY_ICON_FALLBACK)."""
        return self.icon or CATEGORY_ICON_FALLBACK


def stock_is_low(*, stock: int, threshold: int) -> bool:
    """The low-stock rule: stock at or below the product's alert level (``low_stock_threshold``),
    sold out included. Operators are alerted and the admin flags the product. SQL twin:
    ``ProductQuerySet.low_stock()``."""
    return stock <= threshold


def stock_is_few_left(*, stock: int, threshold: int) -> bool:
    """The shop's "Only N left" rule: still in stock, but low (a sold-out product says so instead)."""
    return stock > 0 and stock_is_low(stock=stock, threshold=threshold)


class ProductQuerySet(models.QuerySet):
    def low_stock(self) -> ProductQuerySet:
        """Products whose stock is low (``stock_is_low``, in SQL)."""
        return self.filter(stock__lte=F("low_stock_threshold"))


class Product(models.Model):
    name_zh = models.CharField(_("name (Chinese)"), max_length=80, validators=[validate_operator_text])
    name_en = models.CharField(_("name (English)"), max_length=80, validators=[validate_operator_text])
    description_zh = models.TextField(_("description (Chinese)"), blank=True, validators=[validate_operator_text])
    description_en = models.TextField(_("description (English)"), blank=True, validators=[validate_operator_text])
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    kind = models.CharField(_("type"), max_length=12, choices=ProductKind.choices, default=ProductKind.PHYSICAL)
    market_price = models.DecimalField(
        _("market price, yuan"), max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(Decimal(0))]
    )
    points_price = models.PositiveIntegerField(
        _("points price"), validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)]
    )
    cash_price = models.DecimalField(
        _("cash part, yuan"), max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(Decimal(0))]
    )
    stock = models.PositiveIntegerField(_("stock"), default=0)
    sold = models.PositiveIntegerField(_("redeemed"), default=0)
    per_order_limit = models.PositiveSmallIntegerField(
        _("max per order"), default=5, validators=[MinValueValidator(1), MaxValueValidator(SMALL_INT_MAX)]
    )
    per_day_limit = models.PositiveSmallIntegerField(
        _("max per member a day"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(SMALL_INT_MAX)],
    )
    lifetime_limit = models.PositiveSmallIntegerField(
        _("max per member ever"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(SMALL_INT_MAX)],
    )
    min_tier_rank = models.PositiveSmallIntegerField(
        _("tier required (rank)"),
        default=0,
        help_text=_("0: everyone. 2: Gold and above with the default tiers."),
        validators=[MaxValueValidator(SMALL_INT_MAX)],
    )
    on_shelf = models.BooleanField(_("on shelf"), default=True)
    sale_starts_at = models.DateTimeField(_("sale starts"), null=True, blank=True)
    sale_ends_at = models.DateTimeField(_("sale ends"), null=True, blank=True)
    flash_sale = models.BooleanField(_("flash sale"), default=False)
    requires_review = models.BooleanField(_("orders need review"), default=False)
    coupon_valid_days = models.PositiveSmallIntegerField(
        _("coupon valid for, days"), default=30, validators=[MinValueValidator(1), MaxValueValidator(MAX_COUPON_DAYS)]
    )
    sort_weight = models.IntegerField(
        _("sort weight"), default=0, validators=[MinValueValidator(-INT_MAX - 1), MaxValueValidator(INT_MAX)]
    )
    low_stock_threshold = models.PositiveIntegerField(
        _("low-stock alert at"), default=5, validators=[MaxValueValidator(INT_MAX)]
    )
    auto_off_shelf = models.BooleanField(_("take off shelf at zero"), default=False)
    supplier = models.CharField(_("supplier"), max_length=80, blank=True)
    cost_price = models.DecimalField(
        _("cost price, yuan"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    # What a privilege item does once its order completes, and its parameters (docs/decisions/0020).
    effect = models.CharField(
        _("effect"),
        max_length=24,
        choices=PrivilegeEffect.choices,
        blank=True,
        help_text=_("Privilege items only. An item can be put on sale only once its effect is available."),
    )
    effect_tier = models.SlugField(
        _("tier lent"), max_length=20, blank=True, help_text=_("Tier trial: the tier the member enjoys.")
    )
    effect_days = models.PositiveSmallIntegerField(
        _("effect lasts, days"),
        null=True,
        blank=True,
        help_text=_("Tier trial and check-in multiplier: days per item redeemed."),
    )
    effect_multiplier = models.DecimalField(
        _("effect multiplier"),
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Check-in multiplier: e.g. 2 for double points."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = ProductQuerySet.as_manager()
    # Stock and sold move with every redemption (guarded UPDATEs): StockMovement records them.
    history = HistoricalRecords(excluded_fields=["stock", "sold"])

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["on_shelf", "category", "-sort_weight"], name="catalog_product_listing"),
            models.Index(fields=["on_shelf", "-sold"], name="catalog_product_popular"),
            models.Index(fields=["on_shelf", "-created_at"], name="catalog_product_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_price__gt=0),
                name="catalog_product_points_positive",
                violation_error_message=_("The points price must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(cash_price__gte=0),
                name="catalog_product_cash_not_negative",
                violation_error_message=_("The cash part can't be negative."),
            ),
            models.CheckConstraint(
                condition=Q(per_order_limit__gte=1),
                name="catalog_product_order_limit_positive",
                violation_error_message=_("At least 1 per order."),
            ),
            models.CheckConstraint(
                condition=Q(sale_starts_at__isnull=True)
                | Q(sale_ends_at__isnull=True)
                | Q(sale_ends_at__gt=F("sale_starts_at")),
                name="catalog_product_sale_window_valid",
                violation_error_message=_("The sale must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(effect="") | Q(kind=ProductKind.PRIVILEGE), name="catalog_product_effect_on_privilege"
            ),
            models.CheckConstraint(
                condition=Q(effect_days__isnull=True) | Q(effect_days__gte=1, effect_days__lte=366),
                name="catalog_product_effect_days_range",
            ),
            models.CheckConstraint(
                condition=Q(effect_multiplier__isnull=True) | Q(effect_multiplier__gt=1, effect_multiplier__lte=10),
                name="catalog_product_effect_multiplier_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("product_detail", args=[self.pk])

    @property
    def name(self) -> str:
        return pick_language(zh=self.name_zh, en=self.name_en)

    @property
    def description(self) -> str:
        return pick_language(zh=self.description_zh, en=self.description_en)

    @property
    def needs_code(self) -> bool:
        return self.kind in (ProductKind.VIRTUAL, ProductKind.COUPON)

    @property
    def is_low_stock(self) -> bool:
        return stock_is_low(stock=self.stock, threshold=self.low_stock_threshold)

    def clean(self) -> None:
        """Limits that only make sense together, an order whose totals its columns can hold, and
        an effect only on privilege items, with the parameters it needs, on sale only when available."""
        super().clean()
        from catalog.services import privileges  # the effect rules live with the service that applies them

        errors: dict[str, object] = dict(privileges.product_effect_errors(self))
        per_order, per_day, lifetime = self.per_order_limit, self.per_day_limit, self.lifetime_limit
        if per_order is not None and per_day is not None and per_day < per_order:
            errors["per_day_limit"] = _("Can't be below the max per order (%(n)s).") % {"n": per_order}
        if lifetime is not None and per_day is not None and lifetime < per_day:
            errors["lifetime_limit"] = _("Can't be below the max a day (%(n)s).") % {"n": per_day}
        elif lifetime is not None and per_order is not None and lifetime < per_order:
            errors["lifetime_limit"] = _("Can't be below the max per order (%(n)s).") % {"n": per_order}
        if per_order and self.points_price and self.points_price * per_order > ORDER_POINTS_MAX:
            errors["points_price"] = _(
                "An order of %(n)s would cost more than %(max)s points: lower the price or the max per order."
            ) % {"n": per_order, "max": ORDER_POINTS_MAX}
        if per_order and self.cash_price and self.cash_price * per_order > ORDER_CASH_MAX:
            errors["cash_price"] = _(
                "An order of %(n)s would cost more than ¥%(max)s: lower the cash part or the max per order."
            ) % {"n": per_order, "max": ORDER_CASH_MAX}
        if errors:
            raise ValidationError(errors)


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product"))
    image = models.ImageField(_("image"), upload_to="products/%Y/%m/")
    thumb_list = models.ImageField(_("list thumbnail"), upload_to="products/%Y/%m/")
    thumb_detail = models.ImageField(_("detail image"), upload_to="products/%Y/%m/")
    sort = models.PositiveSmallIntegerField(_("order"), default=0)
    # What the picture shows, for members who can't see it; empty: the product's name stands in.
    alt_zh = models.CharField(_("alt text (Chinese)"), max_length=120, blank=True, validators=[validate_operator_text])
    alt_en = models.CharField(_("alt text (English)"), max_length=120, blank=True, validators=[validate_operator_text])

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["sort", "pk"]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.sort}"

    @property
    def alt(self) -> str:
        """The alt text in the reader's language, else the other one ("" when the operator wrote none)."""
        return pick_language(zh=self.alt_zh, en=self.alt_en, fallback=True)


class SalePrice(models.Model):
    """A temporary lower points price (折扣兑换) inside a window."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="sale_prices", verbose_name=_("product")
    )
    points_price = models.PositiveIntegerField(
        _("sale points price"), validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)]
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sale price")
        verbose_name_plural = _("sale prices")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="catalog_saleprice_window_valid",
                violation_error_message=_("The sale price must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(points_price__gt=0),
                name="catalog_saleprice_positive",
                violation_error_message=_("The sale points price must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.points_price}"


class Code(models.Model):
    """One redeemable code of a virtual or coupon product; given to exactly one order."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="codes", verbose_name=_("product"))
    code = models.CharField(_("code"), max_length=64)
    order = models.OneToOneField(
        "Order", on_delete=models.PROTECT, null=True, blank=True, related_name="code", verbose_name=_("order")
    )
    assigned_at = models.DateTimeField(_("given out"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verified by"),
    )
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="catalog_code_unique_in_pool")]
        indexes = [
            models.Index(fields=["product"], name="catalog_code_free", condition=Q(order__isnull=True)),
            models.Index(fields=["code"], name="catalog_code_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.code[:4]}…"


class StampedQuerySet(models.QuerySet):
    """For tables with an ``updated_at``: a queryset ``update()`` sets it too, unless told a value."""

    def update(self, **kwargs) -> int:
        # The services move orders with guarded UPDATEs, which skip ``auto_now``: every write
        # still says when it happened, whoever writes it.
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class Order(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("member")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders", verbose_name=_("product"))
    product_name = models.CharField(_("product name"), max_length=170)
    kind = models.CharField(_("type"), max_length=12, choices=ProductKind.choices)
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    unit_points = models.PositiveIntegerField(_("points each"))
    points_total = models.PositiveIntegerField(_("points"))
    points_saved = models.PositiveIntegerField(_("points saved by tier"), default=0)
    cash_total = models.DecimalField(_("cash, yuan"), max_digits=10, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    spend_entry_id = models.BigIntegerField(_("ledger spend entry"), null=True, blank=True)
    recipient = models.CharField(_("recipient"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    carrier = models.CharField(_("carrier"), max_length=40, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    payment_backend = models.CharField(_("payment"), max_length=12, choices=PaymentBackendName.choices, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    pay_by = models.DateTimeField(_("pay by"), null=True, blank=True)
    reject_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("ordered"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StampedQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["member", "-created_at"], name="catalog_order_member_recent"),
            models.Index(fields=["member", "product", "created_at"], name="catalog_order_member_product"),
            models.Index(fields=["status", "pay_by"], name="catalog_order_payment_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="catalog_order_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.product_name} ×{self.quantity}"

    def get_absolute_url(self) -> str:
        return reverse("order_detail", args=[self.pk])


class OrderEffect(models.Model):
    """The effect a privilege order delivers, as declared when it was redeemed (one per order).

    Written at redemption from the product's effect, applied once when the order completes
    (``catalog.services.privileges.order_effect_apply``): ``applied_at`` says when, and
    ``reference`` names what it created (e.g. the points app's tier trial key). ``reversed_at``:
    taken back while unused, when its order was cancelled.
    """

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="effect", verbose_name=_("order"))
    effect = models.CharField(_("effect"), max_length=24, choices=PrivilegeEffect.choices)
    tier = models.SlugField(_("tier lent"), max_length=20, blank=True)
    days = models.PositiveIntegerField(_("days"), null=True, blank=True)
    multiplier = models.DecimalField(_("multiplier"), max_digits=4, decimal_places=2, null=True, blank=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    starts_at = models.DateTimeField(_("effect from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("effect until"), null=True, blank=True)
    # Taken back before use: the order was cancelled (``privileges.order_effect_reverse``).
    reversed_at = models.DateTimeField(_("taken back"), null=True, blank=True)

    class Meta:
        verbose_name = _("order effect")
        verbose_name_plural = _("order effects")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.effect}"


class OrderEvent(models.Model):
    """One status change of an order: who, when, from what to what."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(_("from"), max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class CashRefund(models.Model):
    """Cash the mall owes a member back: one row per payment to refund, from "due" to "refunded".

    Opened in the same transaction as what makes it owed (a paid order cancelled or rejected,
    a payment that arrived after its order was cancelled). A gateway refund is asked for with
    ``reference`` and confirmed by the gateway's signed notification for ``attempt``; an
    offline refund is recorded by an operator with the bank's or receipt's reference.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cash_refunds", verbose_name=_("order"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owed to")
    )
    reason = models.CharField(_("why"), max_length=20, choices=RefundReason.choices)
    backend = models.CharField(_("paid with"), max_length=12, choices=PaymentBackendName.choices)
    payment_reference = models.CharField(_("payment reference"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount, yuan"), max_digits=10, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=12, choices=RefundStatus.choices, default=RefundStatus.DUE, db_index=True
    )
    reference = models.CharField(_("refund reference"), max_length=64, unique=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    requested_at = models.DateTimeField(_("asked the gateway"), null=True, blank=True)
    retry_at = models.DateTimeField(_("next automatic try"), null=True, blank=True)
    failure = models.CharField(_("last failure"), max_length=200, blank=True)
    settled_reference = models.CharField(_("bank or gateway reference"), max_length=64, blank=True)
    notify_url = models.CharField(_("confirmation URL"), max_length=300, blank=True)
    created_at = models.DateTimeField(pgettext_lazy("cash refund", "opened"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    refunded_at = models.DateTimeField(pgettext_lazy("cash refund", "refunded"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StampedQuerySet.as_manager()

    class Meta:
        verbose_name = _("cash refund")
        verbose_name_plural = _("cash refunds")
        indexes = [models.Index(fields=["status", "retry_at"], name="catalog_cashrefund_open")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="catalog_cashrefund_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status=RefundStatus.REFUNDED) | Q(refunded_at__isnull=False),
                name="catalog_cashrefund_refunded_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ¥{self.amount}"


class StockMovement(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stock_movements", verbose_name=_("product")
    )
    delta = models.IntegerField(_("change"))
    stock_after = models.PositiveIntegerField(_("stock after"))
    reason = models.CharField(_("reason"), max_length=12, choices=StockReason.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="stock_movements", verbose_name=_("order")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        constraints = [models.CheckConstraint(condition=~Q(delta=0), name="catalog_stockmovement_not_zero")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.delta:+d}"


class Review(models.Model):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="review", verbose_name=_("order"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("product"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    rating = models.PositiveSmallIntegerField(_("stars"))
    text = models.TextField(_("review"), max_length=1000)
    # The ledger entry of the review points (none when a cap or a switched-off rule gave none):
    # what is taken back when an operator removes the review.
    points_entry_id = models.BigIntegerField(_("review points entry"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("posted"), default=timezone.now)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="catalog_review_rating_range"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.rating}★"


class ReviewPhoto(models.Model):
    """One of a review's photos (at most ``rules.REVIEW_PHOTOS_MAX``), in the order the member chose them."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos", verbose_name=_("review"))
    photo = models.ImageField(_("photo"), upload_to="reviews/%Y/%m/")
    sort = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("review photo")
        verbose_name_plural = _("review photos")
        ordering = ["sort", "pk"]
        constraints = [models.UniqueConstraint(fields=["review", "sort"], name="catalog_reviewphoto_position")]

    def __str__(self) -> str:
        return f"{self.review_id}#{self.sort}"


class ProductView(models.Model):
    """A member looked at a product: for "recently viewed" and recommendations (one row per pair)."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "product"], name="catalog_productview_once")]
        indexes = [models.Index(fields=["member", "-viewed_at"], name="catalog_productview_recent")]

    def __str__(self) -> str:
        return f"{self.member_id} viewed {self.product_id}"
