"""Code pools and stock movements: rows written by catalog.services only, read here."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog import notices
from catalog.models import (
    Code,
    StockMovement,
)
from catalog.selectors.backoffice import CODE_STATES
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin


class CodeStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("free", _("In the pool")), ("given", _("Given out, not used")), ("used", _("Used in store"))]

    def queryset(self, request, queryset):
        state = CODE_STATES.get(self.value() or "")
        return queryset if state is None else queryset.filter(state)


@admin.register(Code)
class CodeAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("code_value", "product", "state", "order_link", "assigned_at", "valid_until", "used_at", "used_by")
    list_filter = (CodeStateFilter, "product__kind", ("product", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=code", "order__member__email")
    list_select_related = ("product", "order", "used_by")
    ordering = ("-pk",)
    fields = ("product", "code", "order", "assigned_at", "valid_until", "used_at", "used_by", "imported_at")
    show_full_result_count = False

    @admin.display(description=_("code"), ordering="code")
    def code_value(self, obj: Code) -> str:
        return format_html('<code class="pm-nowrap">{}</code>', obj.code)

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
    list_display = ("created_at", "product", "delta", "stock_after", "reason", "order", "actor", "shown_note")
    list_filter = ("reason", ("created_at", admin.DateFieldListFilter))
    search_fields = ("product__name_zh", "product__name_en", "note")
    list_select_related = ("product", "order", "actor")
    date_hierarchy = "created_at"
    ordering = ("-pk",)
    fields = ("product", "delta", "stock_after", "reason", "order", "actor", "shown_note", "created_at")
    readonly_fields = ("shown_note",)
    show_full_result_count = False

    @admin.display(description=_("note"))
    def shown_note(self, obj: StockMovement) -> str:
        """A note the mall wrote, in the operator's language; a person's note as written."""
        return notices.note_text(obj.note)
