"""Shared pieces of the catalog admin: read-only bases and the colours of order states."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from catalog.enums import OrderStatus

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
