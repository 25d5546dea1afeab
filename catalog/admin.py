"""The operators' back office for the catalog.

Content (categories, products, pictures, sale prices) is edited with ordinary admin forms.
Everything with a ledger, stock or audit consequence goes through ``catalog.services``:
stock changes and code imports have their own pages, orders move only through actions
that call the order services with the operator as actor, and the rows those services
write (orders, status history, stock movements, codes) are read-only here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import flash_gate, notices, payments, services
from catalog.admin_forms import (
    CARRIERS,
    CategoryForm,
    CodeImportForm,
    ProductForm,
    ProductImageForm,
    RejectForm,
    SalePriceForm,
    ShipForm,
    StockAdjustForm,
)
from catalog.admin_refunds import REFUND_PERMISSION, CashRefundFilter, RefundRecordForm, refund_pill, refund_summary
from catalog.enums import OrderStatus, PaymentBackendName, ProductKind, RefundReason, RefundStatus
from catalog.models import (
    CashRefund,
    Category,
    Code,
    Order,
    OrderEffect,
    OrderEvent,
    Product,
    ProductImage,
    Review,
    SalePrice,
    StockMovement,
)
from catalog.services import privileges
from points.exceptions import DomainError
from points.validators import BoundedNumbersMixin

CODE_KINDS = (ProductKind.VIRTUAL, ProductKind.COUPON)
REPORT_LIST_LIMIT = 50
MOVEMENTS_PER_PAGE = 50
STATUS_COLOURS = {
    OrderStatus.AWAITING_PAYMENT: ("#fff7e6", "#ad6800"),
    OrderStatus.PENDING_REVIEW: ("#fff7e6", "#ad6800"),
    OrderStatus.APPROVED: ("#e6f4ff", "#0958d9"),
    OrderStatus.SHIPPED: ("#e6f4ff", "#0958d9"),
    OrderStatus.DELIVERED: ("#e6fffb", "#08979c"),
    OrderStatus.COMPLETED: ("#f6ffed", "#389e0d"),
    OrderStatus.REJECTED: ("#fff1f0", "#cf1322"),
    OrderStatus.CANCELLED: ("#f5f5f5", "#595959"),
}
WARNING_STYLE = "color:#cf1322;font-weight:600"
WARNING_PILL = "background:#fff1f0;color:#cf1322;padding:1px 8px;border-radius:999px;font-weight:600;white-space:nowrap"
PLAIN_LINK = "color:var(--body-fg)"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by catalog.services only: operators look, never edit."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _pool_counts() -> dict:
    """Free / given / used code counts as correlated subqueries: one indexed count each, no row explosion."""

    def counted(condition: Q) -> Coalesce:
        rows = (
            Code.objects.filter(condition, product=OuterRef("pk"))
            .order_by()
            .values("product")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    return {
        "pool_free": counted(Q(order__isnull=True)),
        "pool_given": counted(Q(order__isnull=False, used_at__isnull=True)),
        "pool_used": counted(Q(used_at__isnull=False)),
    }


def _pool_text(free: int, given: int, used: int) -> str:
    return _("%(free)s free · %(given)s given · %(used)s used") % {"free": free, "given": given, "used": used}


# --- Categories ---------------------------------------------------------------------


class CategoryTreeChangeList(ChangeList):
    """Lists each subcategory right under its parent unless the operator sorts by a column."""

    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list:
        if ORDER_VAR in self.params:
            return super().get_ordering(request, queryset)
        return ["root_sort", "root_id", F("parent_id").asc(nulls_first=True), "sort", "pk"]


@admin.register(Category)
class CategoryAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = CategoryForm
    list_display = ("tree_name", "name_en", "slug", "sort", "active", "product_count")
    list_display_links = ("tree_name",)
    list_editable = ("sort", "active")
    list_filter = ("active",)
    search_fields = ("name_zh", "name_en", "slug")
    prepopulated_fields = {"slug": ("name_en",)}
    list_select_related = ("parent__parent",)
    fields = ("name_zh", "name_en", "slug", "parent", "sort", "active")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Children listed right under their parent: order by the root's position first.
        return (
            super()
            .get_queryset(request)
            .annotate(
                product_count=Count("products"),
                root_sort=Coalesce("parent__sort", "sort"),
                root_id=Coalesce("parent_id", "id"),
            )
        )

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CategoryTreeChangeList

    @admin.display(description=_("category"))
    def tree_name(self, obj: Category) -> str:
        depth, node = 0, obj.parent
        while node is not None and depth < 3:
            depth, node = depth + 1, node.parent
        prefix = "\u3000" * (depth - 1) + "└ " if depth else ""
        return f"{prefix}{obj.name_zh}"

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj: Category) -> int:
        return obj.product_count


# --- Products -----------------------------------------------------------------------


class ProductImageInline(BoundedNumbersMixin, admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    fields = ("preview", "upload", "sort")
    readonly_fields = ("preview",)
    extra = 1

    @admin.display(description=_("preview"))
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk or not obj.thumb_list:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" width="96" height="96" '
            'style="border-radius:8px;object-fit:cover"></a>',
            obj.thumb_detail.url,
            obj.thumb_list.url,
        )


class SalePriceInline(BoundedNumbersMixin, admin.TabularInline):
    model = SalePrice
    form = SalePriceForm
    fields = ("points_price", "starts_at", "ends_at")
    extra = 0


class StockLevelFilter(admin.SimpleListFilter):
    title = _("stock level")
    parameter_name = "stock_level"

    def lookups(self, request, model_admin):
        return [("low", _("At or below the alert level")), ("out", _("Out of stock"))]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(stock__lte=F("low_stock_threshold"))
        if self.value() == "out":
            return queryset.filter(stock=0)
        return queryset


@admin.register(Product)
class ProductAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = ProductForm
    change_form_template = "admin/catalog/product/change_form.html"
    list_display = (
        "thumbnail",
        "name_column",
        "price_column",
        "stock_column",
        "sold",
        "pool_column",
        "on_shelf",
        "flash_sale",
    )
    list_display_links = ("thumbnail", "name_column")
    list_filter = ("category", "kind", "on_shelf", "flash_sale", StockLevelFilter, "requires_review")
    search_fields = ("name_zh", "name_en", "supplier")
    list_select_related = ("category",)
    list_per_page = 50
    ordering = ("-sort_weight", "-pk")
    inlines = [ProductImageInline, SalePriceInline]
    actions = ("put_on_shelf", "take_off_shelf")
    readonly_fields = ("stock_summary", "pool_summary")
    save_on_top = True

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None):
        pool = "pool_summary" if self.can_import_codes(request) else "pool_counts"
        stock_fields = ("initial_stock",) if obj is None else ("stock_summary", pool)
        return (
            (None, {"fields": ("name_zh", "name_en", "category", "kind", "description_zh", "description_en")}),
            (_("Price"), {"fields": ("market_price", "points_price", "cash_price")}),
            (_("Stock"), {"fields": (*stock_fields, "low_stock_threshold", "auto_off_shelf")}),
            (
                _("Who may redeem, how many"),
                {"fields": ("min_tier_rank", "per_order_limit", "per_day_limit", "lifetime_limit")},
            ),
            (
                _("Shelf and sale window"),
                {
                    "fields": (
                        "on_shelf",
                        "sort_weight",
                        ("sale_starts_at", "sale_ends_at"),
                        "flash_sale",
                        "requires_review",
                        "coupon_valid_days",
                    )
                },
            ),
            (
                _("Privilege effect"),
                {
                    "fields": ("effect", "effect_tier", "effect_days", "effect_multiplier"),
                    "description": _(
                        "What a privilege item does once its order completes. Only effects the mall can "
                        "deliver today can be put on sale."
                    ),
                },
            ),
            (_("Supplier and cost"), {"fields": ("supplier", "cost_price"), "classes": ("collapse",)}),
        )

    def can_import_codes(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.add_code")

    def get_list_display(self, request: HttpRequest):
        # Links only for those who may follow them: the code import page needs catalog.add_code.
        columns = super().get_list_display(request)
        if self.can_import_codes(request):
            return columns
        return tuple("pool_counts" if column == "pool_column" else column for column in columns)

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None):
        return (*super().get_readonly_fields(request, obj), "pool_counts")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        images = Prefetch("images", queryset=ProductImage.objects.order_by("sort", "pk"))
        return super().get_queryset(request).annotate(**_pool_counts()).prefetch_related(images)

    def get_urls(self):
        return [
            path("<int:product_id>/stock/", self.admin_site.admin_view(self.stock_view), name="catalog_product_stock"),
            path(
                "<int:product_id>/codes/",
                self.admin_site.admin_view(self.codes_import_view),
                name="catalog_product_codes",
            ),
            *super().get_urls(),
        ]

    # List columns

    @admin.display(description="")
    def thumbnail(self, obj: Product) -> str:
        images = list(obj.images.all())
        if not images or not images[0].thumb_list:
            return mark_safe(
                '<span style="display:inline-block;width:48px;height:48px;border-radius:6px;background:#f0f0f0"></span>'
            )
        return format_html(
            '<img src="{}" alt="" width="48" height="48" loading="lazy" style="border-radius:6px;object-fit:cover">',
            images[0].thumb_list.url,
        )

    @admin.display(description=_("product"), ordering="name_zh")
    def name_column(self, obj: Product) -> str:
        return format_html(
            '<div style="min-width:12em">{}<br><span style="color:var(--body-quiet-color)">{}</span><br>'
            '<span style="color:var(--body-quiet-color);font-size:.85em">{} · {}</span></div>',
            obj.name_zh,
            obj.name_en,
            obj.get_kind_display(),
            obj.category.name_en,
        )

    @admin.display(description=_("price"), ordering="points_price")
    def price_column(self, obj: Product) -> str:
        points = _("%(points)s points") % {"points": obj.points_price}
        if obj.cash_price:
            return format_html('{}<br><span style="white-space:nowrap">+ ¥{}</span>', points, obj.cash_price)
        return points

    @admin.display(description=_("stock"), ordering="stock")
    def stock_column(self, obj: Product) -> str:
        url = reverse("admin:catalog_product_stock", args=[obj.pk])
        if obj.stock <= obj.low_stock_threshold:
            label = _("out") if obj.stock == 0 else _("low")
            return format_html('<a href="{}" style="{}">{} · {}</a>', url, WARNING_PILL, obj.stock, label)
        return format_html('<a href="{}" style="{}">{}</a>', url, PLAIN_LINK, obj.stock)

    @admin.display(description=_("codes"))
    def pool_counts(self, obj: Product) -> str:
        if obj.kind not in CODE_KINDS:
            return "—"
        return _pool_text(obj.pool_free, obj.pool_given, obj.pool_used)

    @admin.display(description=_("codes"))
    def pool_column(self, obj: Product) -> str:
        if obj.kind not in CODE_KINDS:
            return "—"
        url = reverse("admin:catalog_product_codes", args=[obj.pk])
        text = f"{obj.pool_free} / {obj.pool_given} / {obj.pool_used}"
        if obj.pool_free == 0:
            return format_html(
                '<a href="{}" style="{}" title="{}">{} · {}</a>',
                url,
                WARNING_PILL,
                _("free / given / used"),
                text,
                _("empty"),
            )
        return format_html('<a href="{}" style="{}" title="{}">{}</a>', url, PLAIN_LINK, _("free / given / used"), text)

    # Change page

    @admin.display(description=_("stock"))
    def stock_summary(self, obj: Product) -> str:
        url = reverse("admin:catalog_product_stock", args=[obj.pk])
        style = WARNING_STYLE if obj.stock <= obj.low_stock_threshold else ""
        return format_html(
            '<span style="{}">{}</span> · {} · <a href="{}">{}</a>',
            style,
            _("%(stock)s in stock") % {"stock": obj.stock},
            _("%(sold)s redeemed") % {"sold": obj.sold},
            url,
            _("Restock, correct and audit →"),
        )

    @admin.display(description=_("code pool"))
    def pool_summary(self, obj: Product) -> str:
        if obj.kind not in CODE_KINDS:
            return _("Physical goods and privileges have no code pool.")
        # The change page's object comes from get_queryset, counts included.
        url = reverse("admin:catalog_product_codes", args=[obj.pk])
        text = _pool_text(obj.pool_free, obj.pool_given, obj.pool_used)
        if obj.pool_free == 0:
            return format_html(
                '<span style="{}">{} — {}</span> <a href="{}">{}</a>',
                WARNING_STYLE,
                text,
                _("the pool is empty: members can't redeem this item"),
                url,
                _("Import codes →"),
            )
        return format_html('{} <a href="{}">{}</a>', text, url, _("Import codes →"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        if request.method == "GET":
            product = self.get_object(request, object_id)
            if product is not None and product.kind in CODE_KINDS and product.pool_free == 0:
                messages.warning(
                    request, _("The code pool of this item is empty: members can't redeem it until codes are imported.")
                )
        extra_context = {**(extra_context or {}), "can_import_codes": self.can_import_codes(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Product, form, change: bool) -> None:
        if change:
            # Never write stock or sold from the form's copy: a redemption committed since it was
            # read would be undone. Stock changes go through catalog.services (docs/decisions/0020).
            fields = [f.name for f in Product._meta.concrete_fields if f.name not in ("id", "stock", "sold")]
            obj.save(update_fields=fields)
            if "flash_sale" in form.changed_data:
                flash_gate.product_changed(product_id=obj.pk)
        else:
            super().save_model(request, obj, form, change)
        initial = form.cleaned_data.get("initial_stock") if not change else None
        if initial:
            # Through the service, so even the first stock has its movement row for the audit.
            obj.stock = services.stock_adjust(
                product_id=obj.pk, delta=initial, actor_id=request.user.pk, reason=str(_("Initial stock")), restock=True
            )

    # Actions

    @admin.action(description=_("Put selected products on the shelf"), permissions=["change"])
    def put_on_shelf(self, request: HttpRequest, queryset: QuerySet) -> None:
        # A privilege whose effect isn't available stays off the shelf (docs/decisions/0020).
        candidates = list(queryset.filter(on_shelf=False))
        refused = [p for p in candidates if not privileges.product_sellable(p)]
        changed = Product.objects.filter(pk__in=[p.pk for p in candidates if p not in refused]).update(on_shelf=True)
        self.message_user(
            request,
            ngettext("%(n)d product put on the shelf.", "%(n)d products put on the shelf.", changed) % {"n": changed},
        )
        if refused:
            self.message_user(
                request,
                _("Not put on sale, their effect is not available yet: %(names)s")
                % {"names": ", ".join(p.name for p in refused)},
                level=messages.WARNING,
            )

    @admin.action(description=_("Take selected products off the shelf"), permissions=["change"])
    def take_off_shelf(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = queryset.filter(on_shelf=True).update(on_shelf=False)
        self.message_user(
            request,
            ngettext("%(n)d product taken off the shelf.", "%(n)d products taken off the shelf.", changed)
            % {"n": changed},
        )

    # Stock page (盘点)

    def stock_view(self, request: HttpRequest, product_id: int) -> HttpResponse:
        product = get_object_or_404(Product.objects.select_related("category"), pk=product_id)
        if not self.has_view_permission(request, product):
            raise PermissionDenied
        can_change = self.has_change_permission(request, product)
        form = StockAdjustForm(request.POST if request.method == "POST" else None, product=product)
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            if form.is_valid():
                try:
                    stock = services.stock_adjust(
                        product_id=product.pk,
                        delta=form.cleaned_data["delta"],
                        actor_id=request.user.pk,
                        reason=form.cleaned_data["reason"],
                        restock=form.cleaned_data["kind"] == StockAdjustForm.RESTOCK,
                    )
                except DomainError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(
                        request,
                        _("Stock of %(product)s changed by %(delta)+d: %(stock)s now.")
                        % {"product": product.name, "delta": form.cleaned_data["delta"], "stock": stock},
                    )
                    return redirect(reverse("admin:catalog_product_stock", args=[product.pk]))
        movements = (
            StockMovement.objects.filter(product=product)
            .select_related("actor", "order")
            .annotate(running=Window(Sum("delta"), order_by=F("pk").asc()))
            .order_by("-pk")
        )
        page = Paginator(movements, MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
        recorded = StockMovement.objects.filter(product=product).aggregate(total=Coalesce(Sum("delta"), 0))["total"]
        broken_rows = (
            StockMovement.objects.filter(product=product)
            .annotate(running=Window(Sum("delta"), order_by=F("pk").asc()))
            .exclude(running=F("stock_after"))
            .count()
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Stock of %(product)s") % {"product": product.name},
            "opts": self.model._meta,
            "product": product,
            "form": form if can_change else None,
            "can_import_codes": self.can_import_codes(request),
            "page": page,
            "recorded": recorded,
            "audit_ok": recorded == product.stock and broken_rows == 0,
            "broken_rows": broken_rows,
            "difference": product.stock - recorded,
        }
        return TemplateResponse(request, "admin/catalog/product/stock.html", context)

    # Code import

    def codes_import_view(self, request: HttpRequest, product_id: int) -> HttpResponse:
        product = get_object_or_404(Product, pk=product_id)
        if not (self.has_view_permission(request, product) and request.user.has_perm("catalog.add_code")):
            raise PermissionDenied
        form = None
        if product.kind in CODE_KINDS:
            form = CodeImportForm(request.POST, request.FILES) if request.method == "POST" else CodeImportForm()
        report = None
        if form is not None and request.method == "POST" and form.is_valid():
            try:
                report = services.codes_import(
                    product_id=product.pk, text=form.cleaned_data["codes"], actor_id=request.user.pk
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                level = messages.SUCCESS if report.added else messages.WARNING
                self.message_user(
                    request,
                    ngettext("%(n)d code added to the pool.", "%(n)d codes added to the pool.", report.added)
                    % {"n": report.added},
                    level,
                )
                form = CodeImportForm()
        counts = Product.objects.filter(pk=product.pk).annotate(**_pool_counts()).values(*_pool_counts()).get()
        product.refresh_from_db(fields=["stock"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import codes for %(product)s") % {"product": product.name},
            "opts": self.model._meta,
            "product": product,
            "form": form,
            "report": report,
            "duplicates_shown": report.duplicates[:REPORT_LIST_LIMIT] if report else [],
            "rejected_shown": report.rejected[:REPORT_LIST_LIMIT] if report else [],
            "pool": counts,
            "codes_url": reverse("admin:catalog_code_changelist") + "?" + urlencode({"product__id__exact": product.pk})
            if request.user.has_perm("catalog.view_code")
            else None,
        }
        return TemplateResponse(request, "admin/catalog/product/codes_import.html", context)


@admin.register(SalePrice)
class SalePriceAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = SalePriceForm
    list_display = ("product", "points_price", "regular_price", "starts_at", "ends_at", "running")
    list_filter = (("starts_at", admin.DateFieldListFilter),)
    search_fields = ("product__name_zh", "product__name_en")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)
    fields = ("product", "points_price", "starts_at", "ends_at")
    ordering = ("-starts_at",)

    @admin.display(description=_("regular price"))
    def regular_price(self, obj: SalePrice) -> int:
        return obj.product.points_price

    @admin.display(description=_("running now"), boolean=True)
    def running(self, obj: SalePrice) -> bool:
        return obj.starts_at <= timezone.now() < obj.ends_at


# --- Codes, stock movements, reviews -------------------------------------------------


class CodeStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("free", _("In the pool")), ("given", _("Given out, not used")), ("used", _("Used in store"))]

    def queryset(self, request, queryset):
        if self.value() == "free":
            return queryset.filter(order__isnull=True)
        if self.value() == "given":
            return queryset.filter(order__isnull=False, used_at__isnull=True)
        if self.value() == "used":
            return queryset.filter(used_at__isnull=False)
        return queryset


@admin.register(Code)
class CodeAdmin(ReadOnlyAdmin):
    list_display = ("code_value", "product", "state", "order_link", "assigned_at", "valid_until", "used_at", "used_by")
    list_filter = (CodeStateFilter, "product__kind", ("product", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=code", "order__member__email")
    list_select_related = ("product", "order", "used_by")
    ordering = ("-pk",)
    fields = ("product", "code", "order", "assigned_at", "valid_until", "used_at", "used_by", "imported_at")
    show_full_result_count = False

    @admin.display(description=_("code"), ordering="code")
    def code_value(self, obj: Code) -> str:
        return format_html('<code style="white-space:nowrap">{}</code>', obj.code)

    @admin.display(description=_("state"))
    def state(self, obj: Code) -> str:
        if obj.used_at:
            return _("used")
        return _("given") if obj.order_id else _("free")

    @admin.display(description=_("order"))
    def order_link(self, obj: Code) -> str:
        if not obj.order_id:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:catalog_order_change", args=[obj.order_id]), obj.order_id
        )


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "product", "delta", "stock_after", "reason", "order", "actor", "note")
    list_filter = ("reason", ("created_at", admin.DateFieldListFilter))
    search_fields = ("product__name_zh", "product__name_en", "note")
    list_select_related = ("product", "order", "actor")
    date_hierarchy = "created_at"
    ordering = ("-pk",)
    fields = ("product", "delta", "stock_after", "reason", "order", "actor", "note", "created_at")
    show_full_result_count = False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews are posted by members; operators read them and delete abusive ones.

    Deleting goes through ``services.review_remove``: the review points go with the review.
    """

    list_display = ("created_at", "product", "member", "stars", "excerpt", "has_photo")
    list_filter = ("rating", ("created_at", admin.DateFieldListFilter))
    search_fields = ("product__name_zh", "product__name_en", "member__email", "text")
    list_select_related = ("product", "member")
    date_hierarchy = "created_at"
    ordering = ("-pk",)
    fields = ("product", "member", "order", "rating", "text", "photo_preview", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Review) -> None:
        self._remove(request, [obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._remove(request, list(queryset.values_list("pk", flat=True)))

    def _remove(self, request: HttpRequest, review_ids: list[int]) -> None:
        taken = 0
        for review_id in review_ids:
            try:
                taken += services.review_remove(review_id=review_id, actor_id=request.user.pk)
            except services.ReviewNotFound:
                continue  # removed meanwhile by someone else: already done
        if taken:
            self.message_user(request, _("Review points taken back: %(points)s.") % {"points": taken}, messages.INFO)

    @admin.display(description=_("stars"), ordering="rating")
    def stars(self, obj: Review) -> str:
        return "★" * obj.rating + "☆" * (5 - obj.rating)

    @admin.display(description=_("review"))
    def excerpt(self, obj: Review) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description=_("photo"), boolean=True)
    def has_photo(self, obj: Review) -> bool:
        return bool(obj.photo)

    @admin.display(description=_("photo"))
    def photo_preview(self, obj: Review) -> str:
        if not obj.photo:
            return "—"
        return format_html('<img src="{}" alt="" style="max-width:320px;border-radius:8px">', obj.photo.url)


# --- Orders -------------------------------------------------------------------------


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "shown_note")
    readonly_fields = fields
    ordering = ("created_at", "pk")
    verbose_name_plural = _("status history")

    @admin.display(description=_("note"))
    def shown_note(self, obj: OrderEvent) -> str:
        """A note the mall wrote, in the operator's language; a person's note as written."""
        return notices.note_text(obj.note)


class OrderStockMovementInline(ReadOnlyInline):
    model = StockMovement
    fk_name = "order"
    fields = ("created_at", "delta", "stock_after", "reason", "actor", "note")
    readonly_fields = fields
    verbose_name_plural = _("stock movements")


class _Echo:
    """A file-like object csv.writer writes to that just hands the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: object) -> object:
    # A member's address starting with "=" must not become a formula in the operator's spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


EXPORT_COLUMNS: list[tuple[str, Callable[[Order], object]]] = [
    (_("Order"), lambda o: o.pk),
    (_("ordered"), lambda o: timezone.localtime(o.created_at).strftime("%Y-%m-%d %H:%M:%S")),
    (_("member"), lambda o: o.member.email),
    (_("product"), lambda o: o.product_name),
    (_("type"), lambda o: o.get_kind_display()),
    (_("quantity"), lambda o: o.quantity),
    (_("points each"), lambda o: o.unit_points),
    (_("points"), lambda o: o.points_total),
    (_("points saved by tier"), lambda o: o.points_saved),
    (_("cash, yuan"), lambda o: o.cash_total),
    (_("status"), lambda o: o.get_status_display()),
    (_("payment"), lambda o: o.get_payment_backend_display()),
    (_("payment reference"), lambda o: o.payment_reference),
    (_("paid"), lambda o: timezone.localtime(o.paid_at).strftime("%Y-%m-%d %H:%M:%S") if o.paid_at else ""),
    (_("recipient"), lambda o: o.recipient),
    (_("phone"), lambda o: o.phone),
    (_("address"), lambda o: o.address),
    (_("postal code"), lambda o: o.postal_code),
    (_("carrier"), lambda o: o.carrier),
    (_("tracking number"), lambda o: o.tracking_number),
    (_("reason"), lambda o: o.reject_reason),
]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "status_badge", "ordered", "item", "price", "shipping")
    list_display_links = ("number",)
    list_filter = (
        "status",
        CashRefundFilter,
        "kind",
        ("product", admin.RelatedOnlyFieldListFilter),
        "payment_backend",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("member__email", "product_name", "tracking_number", "payment_reference")
    search_help_text = _("Search by member e-mail, product, tracking number or payment reference.")
    date_hierarchy = "created_at"
    list_select_related = ("member",)
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    view_on_site = False
    inlines = [OrderEventInline, OrderStockMovementInline]
    actions = (
        "approve_orders",
        "reject_orders",
        "ship_orders",
        "deliver_orders",
        "confirm_cash_payment",
        "record_cash_refund",
        "retry_cash_refunds",
        "record_late_offline_payment",
        "export_csv",
    )
    readonly_fields = (
        "number",
        "member_link",
        "product_link",
        "code_info",
        "effect_info",
        "ledger_links",
        "cash_refunds",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "status",
                    "member_link",
                    "product_link",
                    "kind",
                    "quantity",
                    "unit_points",
                    "points_total",
                    "points_saved",
                    "cash_total",
                    "created_at",
                    "updated_at",
                    "reject_reason",
                )
            },
        ),
        (_("Points ledger"), {"fields": ("ledger_links",)}),
        (_("Code"), {"fields": ("code_info",)}),
        (_("Privilege effect"), {"fields": ("effect_info",)}),
        (_("Payment"), {"fields": ("payment_backend", "payment_reference", "paid_at", "pay_by", "cash_refunds")}),
        (
            _("Shipping"),
            {"fields": ("recipient", "phone", "address", "postal_code", "carrier", "tracking_number")},
        ),
        (_("Technical"), {"fields": ("idempotency_key",), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The order page is read-only (orders move only through the actions); the list keeps the actions.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        latest = CashRefund.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-pk")
        return super().get_queryset(request).annotate(refund_status=Subquery(latest.values("status")[:1]))

    # Columns

    @admin.display(description=_("order"), ordering="pk")
    def number(self, obj: Order) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("ordered"), ordering="created_at")
    def ordered(self, obj: Order) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("item and member"), ordering="product_name")
    def item(self, obj: Order) -> str:
        return format_html(
            '<div style="min-width:11em">{} ×{}<br><span style="color:var(--body-quiet-color)">{}</span></div>',
            obj.product_name,
            obj.quantity,
            obj.member.email,
        )

    @admin.display(description=_("paid with"), ordering="points_total")
    def price(self, obj: Order) -> str:
        points = _("%(points)s points") % {"points": obj.points_total}
        if not obj.cash_total:
            return points
        refund_status = getattr(obj, "refund_status", None)
        if refund_status:
            return format_html(
                '{}<br><span style="white-space:nowrap">+ ¥{}</span><br>{}',
                points,
                obj.cash_total,
                refund_pill(refund_status, RefundStatus(refund_status).label),
            )
        return format_html('{}<br><span style="white-space:nowrap">+ ¥{}</span>', points, obj.cash_total)

    @admin.display(description=_("cash refunds"))
    def cash_refunds(self, obj: Order) -> str:
        return refund_summary(obj)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Order) -> str:
        background, colour = STATUS_COLOURS.get(obj.status, ("#f5f5f5", "#595959"))
        return format_html(
            '<span style="background:{};color:{};padding:2px 8px;border-radius:999px;white-space:nowrap;'
            'font-weight:600;font-size:.85em">{}</span>',
            background,
            colour,
            obj.get_status_display(),
        )

    @admin.display(description=_("shipping"))
    def shipping(self, obj: Order) -> str:
        if obj.tracking_number:
            return f"{obj.carrier} {obj.tracking_number}"
        return obj.recipient or "—"

    @admin.display(description=_("effect"))
    def effect_info(self, obj: Order) -> str:
        effect = OrderEffect.objects.filter(order=obj).first()
        if effect is None:
            return "—"
        if effect.applied_at is None:
            state = _("not applied yet: it applies when the order completes")
        elif effect.ends_at:
            state = _("applied %(at)s, lasts until %(until)s") % {
                "at": timezone.localtime(effect.applied_at).strftime("%Y-%m-%d %H:%M"),
                "until": timezone.localtime(effect.ends_at).strftime("%Y-%m-%d %H:%M"),
            }
        else:
            state = _("applied %(at)s") % {"at": timezone.localtime(effect.applied_at).strftime("%Y-%m-%d %H:%M")}
        return format_html("{} · {}", effect.get_effect_display(), state)

    @admin.display(description=_("member"))
    def member_link(self, obj: Order) -> str:
        url = reverse("admin:accounts_user_change", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, obj.member.email)

    @admin.display(description=_("product"))
    def product_link(self, obj: Order) -> str:
        url = reverse("admin:catalog_product_change", args=[obj.product_id])
        return format_html('<a href="{}">{}</a>', url, obj.product_name)

    @admin.display(description=_("code"))
    def code_info(self, obj: Order) -> str:
        code = Code.objects.filter(order=obj).select_related("used_by").first()
        if code is None:
            return "—"
        parts = [format_html("<code>{}</code>", code.code)]
        if code.valid_until:
            parts.append(
                format_html("{} {}", _("valid until"), timezone.localtime(code.valid_until).strftime("%Y-%m-%d %H:%M"))
            )
        if code.used_at:
            parts.append(
                format_html(
                    "{} {} · {}",
                    _("used"),
                    timezone.localtime(code.used_at).strftime("%Y-%m-%d %H:%M"),
                    code.used_by or "—",
                )
            )
        return format_html_join(" · ", "{}", ((p,) for p in parts))

    @admin.display(description=_("ledger entries"))
    def ledger_links(self, obj: Order) -> str:
        entries = reverse("admin:points_entry_changelist") + "?" + urlencode({"reference": f"catalog.order:{obj.pk}"})
        if not obj.spend_entry_id:
            return format_html('<a href="{}">{}</a>', entries, _("All ledger entries of this order"))
        spend = reverse("admin:points_entry_change", args=[obj.spend_entry_id])
        return format_html(
            '{} <a href="{}">#{}</a> · <a href="{}">{}</a>',
            _("Spend entry"),
            spend,
            obj.spend_entry_id,
            entries,
            _("all ledger entries of this order (spend, refund)"),
        )

    # Actions

    def _each(self, request: HttpRequest, queryset: QuerySet, call: Callable[[int], object], done_message) -> None:
        """Run ``call`` on every selected order; a refused order is reported and the others still go through.

        Nobody acts on their own order (approving it, confirming its cash, shipping it): staff
        never grant themselves what members must earn or pay for (docs/decisions/0013).
        """
        done = 0
        for order_id, member_id in queryset.order_by("pk").values_list("pk", "member_id"):
            if member_id == request.user.pk:
                self.message_user(
                    request,
                    _("Order #%(id)s: %(message)s")
                    % {"id": order_id, "message": _("this is your own order; another operator must handle it.")},
                    messages.ERROR,
                )
                continue
            try:
                call(order_id)
            except DomainError as error:
                self.message_user(
                    request,
                    _("Order #%(id)s: %(message)s") % {"id": order_id, "message": error.message},
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done) % {"n": done}, messages.SUCCESS)

    def _intermediate(self, request: HttpRequest, queryset: QuerySet, template: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "orders": list(queryset.select_related("member").order_by("pk")),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
                **context,
            },
        )

    @admin.action(description=_("Approve selected orders"), permissions=["change"])
    def approve_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.order_approve(order_id=order_id, actor_id=request.user.pk),
            lambda n: ngettext("%(n)d order approved.", "%(n)d orders approved.", n),
        )

    @admin.action(description=_("Reject selected orders and refund the points…"), permissions=["change"])
    def reject_orders(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            base, started = payments.callback_base(request), timezone.now()
            self._each(
                request,
                queryset,
                lambda order_id: services.order_reject(
                    order_id=order_id, actor_id=request.user.pk, reason=reason, callback_base=base
                ),
                lambda n: ngettext(
                    "%(n)d order rejected; points refunded.", "%(n)d orders rejected; points refunded.", n
                ),
            )
            self._report_refunds_opened(request, queryset, since=started)
            return None
        return self._intermediate(
            request, queryset, "admin/catalog/order/reject.html", title=_("Reject orders"), form=form
        )

    @admin.action(description=_("Ship selected orders (enter tracking numbers)…"), permissions=["change"])
    def ship_orders(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        orders = list(queryset.select_related("member").order_by("pk"))
        shippable = [o for o in orders if o.status == OrderStatus.APPROVED]
        others = [o for o in orders if o.status != OrderStatus.APPROVED]
        if not shippable:
            self.message_user(
                request, _("None of the selected orders can be shipped: only approved orders ship."), messages.ERROR
            )
            return None
        form = ShipForm(request.POST if "apply" in request.POST else None, orders=shippable)
        if form.is_bound and form.is_valid():
            shipments = form.cleaned_data["shipments"]
            self._each(
                request,
                queryset.filter(pk__in=shipments),
                lambda order_id: services.order_ship(
                    order_id=order_id,
                    actor_id=request.user.pk,
                    carrier=shipments[order_id][0],
                    tracking_number=shipments[order_id][1],
                ),
                lambda n: ngettext("%(n)d order shipped.", "%(n)d orders shipped.", n),
            )
            for order in others:
                self.message_user(
                    request,
                    _("Order #%(id)s was not shipped: it is %(status)s.")
                    % {"id": order.pk, "status": order.get_status_display()},
                    messages.ERROR,
                )
            return None
        return self._intermediate(
            request,
            queryset,
            "admin/catalog/order/ship.html",
            title=_("Ship orders"),
            form=form,
            others=others,
            carriers=CARRIERS,
        )

    @admin.action(description=_("Mark selected orders delivered"), permissions=["change"])
    def deliver_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.order_deliver(order_id=order_id, actor_id=request.user.pk),
            lambda n: ngettext("%(n)d order marked delivered.", "%(n)d orders marked delivered.", n),
        )

    @admin.action(description=_("Confirm cash payment received (offline)"), permissions=["change"])
    def confirm_cash_payment(self, request: HttpRequest, queryset: QuerySet) -> None:
        sandbox = set(queryset.filter(payment_backend=PaymentBackendName.SANDBOX).values_list("pk", flat=True))

        def confirm(order_id: int) -> None:
            if order_id in sandbox:
                raise DomainError(_("paid through the sandbox gateway: its signed notification confirms the payment."))
            services.order_mark_paid(
                order_id=order_id, payment_reference=f"offline:{request.user.pk}:{order_id}", actor_id=request.user.pk
            )

        self._each(
            request,
            queryset,
            confirm,
            lambda n: ngettext("Payment confirmed for %(n)d order.", "Payment confirmed for %(n)d orders.", n),
        )

    def _report_refunds_opened(self, request: HttpRequest, queryset: QuerySet, *, since) -> None:
        """Say which rejected orders now owe cash back, and who moves it (the gateway, or the operator)."""
        opened = CashRefund.objects.filter(
            order__in=queryset, reason=RefundReason.REJECTED, created_by_id=request.user.pk, created_at__gte=since
        ).order_by("order_id")
        for refund in opened:
            by_gateway = payments.backend_named(refund.backend).refunds_by_gateway
            self.message_user(
                request,
                (
                    _("Order #%(id)s: cash refund of ¥%(amount)s due; the payment gateway refunds it.")
                    if by_gateway
                    else _(
                        "Order #%(id)s: cash refund of ¥%(amount)s due. Pay it back, then record it with "
                        '"Record cash refund made".'
                    )
                )
                % {"id": refund.order_id, "amount": refund.amount},
                messages.WARNING,
            )

    @admin.action(description=_("Record cash refund made (bank or counter)…"), permissions=["refund"])
    def record_cash_refund(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        owed = list(
            CashRefund.objects.filter(order__in=queryset, status__in=(RefundStatus.DUE, RefundStatus.FAILED))
            .select_related("order", "member")
            .order_by("order_id", "pk")
        )
        # A gateway refund still due is the gateway's: paying it by hand as well would pay twice.
        recordable = [
            r
            for r in owed
            if r.status == RefundStatus.FAILED or not payments.backend_named(r.backend).refunds_by_gateway
        ]
        if not recordable:
            self.message_user(
                request,
                _(
                    "None of the selected orders has a cash refund to record by hand: only refunds due on offline "
                    "payments, and gateway refunds that failed, are recorded here."
                ),
                messages.ERROR,
            )
            return None
        form = RefundRecordForm(request.POST if "apply" in request.POST else None, refunds=recordable)
        if form.is_bound and form.is_valid():
            done = 0
            for refund_id, reference in form.references().items():
                try:
                    services.cash_refund_record(refund_id=refund_id, actor_id=request.user.pk, reference=reference)
                except DomainError as error:
                    self.message_user(request, error.message, messages.ERROR)
                else:
                    done += 1
            if done:
                self.message_user(
                    request,
                    ngettext("Cash refund recorded for %(n)d order.", "Cash refunds recorded for %(n)d orders.", done)
                    % {"n": done},
                    messages.SUCCESS,
                )
            return None
        return self._intermediate(
            request,
            queryset,
            "admin/catalog/order/refund_record.html",
            title=_("Record cash refunds"),
            form=form,
            skipped=[r for r in owed if r not in recordable],
        )

    @admin.action(description=_("Retry failed cash refunds (payment gateway)"), permissions=["refund"])
    def retry_cash_refunds(self, request: HttpRequest, queryset: QuerySet) -> None:
        failed = CashRefund.objects.filter(order__in=queryset, status=RefundStatus.FAILED).order_by("pk")
        if not failed.exists():
            self.message_user(request, _("None of the selected orders has a failed cash refund."), messages.ERROR)
            return
        done = 0
        for refund in failed:
            try:
                services.cash_refund_retry(refund_id=refund.pk, actor_id=request.user.pk)
            except DomainError as error:
                self.message_user(
                    request,
                    _("Order #%(id)s: %(message)s") % {"id": refund.order_id, "message": error.message},
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(n)d cash refund asked of the gateway again.",
                    "%(n)d cash refunds asked of the gateway again.",
                    done,
                )
                % {"n": done},
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Record an offline payment received after cancellation (refund due)"), permissions=["refund"]
    )
    def record_late_offline_payment(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.payment_offline_late_record(order_id=order_id, actor_id=request.user.pk),
            lambda n: ngettext(
                "Late payment recorded for %(n)d order: its cash refund is due.",
                "Late payments recorded for %(n)d orders: their cash refunds are due.",
                n,
            ),
        )

    @admin.action(description=_("Export selected orders as CSV"), permissions=["change"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())
        orders = queryset.select_related("member").order_by("pk")

        def lines() -> Iterator[str]:
            yield "\ufeff"  # so spreadsheet programs read the Chinese names as UTF-8
            yield writer.writerow([str(title) for title, _value in EXPORT_COLUMNS])
            for order in orders.iterator(chunk_size=500):
                yield writer.writerow([_csv_cell(value(order)) for _title, value in EXPORT_COLUMNS])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
        return response
