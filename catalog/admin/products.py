"""Products, pictures and sale prices; stock changes and code imports have pages that call catalog.services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import flash_gate, services
from catalog.admin.forms import (
    CodeImportForm,
    ProductForm,
    ProductImageForm,
    SalePriceForm,
    StockAdjustForm,
)
from catalog.enums import ProductKind
from catalog.models import (
    Product,
    ProductImage,
    SalePrice,
)
from catalog.selectors import backoffice
from catalog.services import shelf
from points.validators import BoundedNumbersMixin
from pointsmall.kernel.errors import DomainError, form_error

CODE_KINDS = (ProductKind.VIRTUAL, ProductKind.COUPON)
REPORT_LIST_LIMIT = 50
MOVEMENTS_PER_PAGE = 50


def _pool_text(free: int, given: int, used: int) -> str:
    return _("%(free)s free · %(given)s given · %(used)s used") % {"free": free, "given": given, "used": used}


# --- Categories ---------------------------------------------------------------------


class ProductImageInline(BoundedNumbersMixin, admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    fields = ("preview", "upload", "sort", "alt_zh", "alt_en")
    readonly_fields = ("preview",)
    extra = 1

    @admin.display(description=_("preview"))
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk or not obj.thumb_list:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" width="96" height="96" '
            'class="pm-picture"></a>',
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
            return queryset.low_stock()
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
        return super().get_queryset(request).annotate(**backoffice.code_pool_annotations()).prefetch_related(images)

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
            return mark_safe('<span class="pm-thumb-empty"></span>')
        return format_html(
            '<img src="{}" alt="" width="48" height="48" loading="lazy" class="pm-thumb">',
            images[0].thumb_list.url,
        )

    @admin.display(description=_("product"), ordering="name_zh")
    def name_column(self, obj: Product) -> str:
        return format_html(
            '<div class="pm-cell-product">{}<br><span class="pm-quiet">{}</span><br>'
            '<span class="pm-quiet-small">{} · {}</span></div>',
            obj.name_zh,
            obj.name_en,
            obj.get_kind_display(),
            obj.category.name_en,
        )

    @admin.display(description=_("price"), ordering="points_price")
    def price_column(self, obj: Product) -> str:
        points = _("%(points)s points") % {"points": obj.points_price}
        if obj.cash_price:
            return format_html('{}<br><span class="pm-nowrap">+ ¥{}</span>', points, obj.cash_price)
        return points

    @admin.display(description=_("stock"), ordering="stock")
    def stock_column(self, obj: Product) -> str:
        url = reverse("admin:catalog_product_stock", args=[obj.pk])
        if obj.is_low_stock:
            label = _("out") if obj.stock == 0 else _("low")
            return format_html('<a href="{}" class="pm-warning-pill">{} · {}</a>', url, obj.stock, label)
        return format_html('<a href="{}" class="pm-plain-link">{}</a>', url, obj.stock)

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
                '<a href="{}" class="pm-warning-pill" title="{}">{} · {}</a>',
                url,
                _("free / given / used"),
                text,
                _("empty"),
            )
        return format_html('<a href="{}" class="pm-plain-link" title="{}">{}</a>', url, _("free / given / used"), text)

    # Change page

    @admin.display(description=_("stock"))
    def stock_summary(self, obj: Product) -> str:
        url = reverse("admin:catalog_product_stock", args=[obj.pk])
        warning = "pm-warning" if obj.is_low_stock else ""
        return format_html(
            '<span class="{}">{}</span> · {} · <a href="{}">{}</a>',
            warning,
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
                '<span class="pm-warning">{} — {}</span> <a href="{}">{}</a>',
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
        result = shelf.products_shelve(product_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%(n)d product put on the shelf.", "%(n)d products put on the shelf.", result.changed)
            % {"n": result.changed},
        )
        if result.refused:
            self.message_user(
                request,
                _("Not put on sale, their effect is not available yet: %(names)s")
                % {"names": ", ".join(result.refused)},
                level=messages.WARNING,
            )

    @admin.action(description=_("Take selected products off the shelf"), permissions=["change"])
    def take_off_shelf(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = shelf.products_unshelve(product_ids=list(queryset.values_list("pk", flat=True)))
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
                    form_error(form, error)
                else:
                    messages.success(
                        request,
                        _("Stock of %(product)s changed by %(delta)+d: %(stock)s now.")
                        % {"product": product.name, "delta": form.cleaned_data["delta"], "stock": stock},
                    )
                    return redirect(reverse("admin:catalog_product_stock", args=[product.pk]))
        movements = backoffice.stock_movements(product_id=product.pk)
        page = Paginator(movements, MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
        audit = backoffice.stock_audit(product_id=product.pk, stock=product.stock)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Stock of %(product)s") % {"product": product.name},
            "opts": self.model._meta,
            "product": product,
            "form": form if can_change else None,
            "can_import_codes": self.can_import_codes(request),
            "page": page,
            "recorded": audit.recorded,
            "audit_ok": audit.ok,
            "broken_rows": audit.broken_rows,
            "difference": audit.difference,
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
                form_error(form, error)
            else:
                level = messages.SUCCESS if report.added else messages.WARNING
                self.message_user(
                    request,
                    ngettext("%(n)d code added to the pool.", "%(n)d codes added to the pool.", report.added)
                    % {"n": report.added},
                    level,
                )
                form = CodeImportForm()
        counts = backoffice.product_code_pool(product_id=product.pk)
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
