"""Read-only lists of the daily traffic tables (the dashboard shows them as charts)."""

from django.contrib import admin

from pointsmall.analytics.models import PageDaily, ProductDaily


class _ReadOnly(admin.ModelAdmin):
    date_hierarchy = "day"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PageDaily)
class PageDailyAdmin(_ReadOnly):
    list_display = ["day", "page_type", "views", "visitors", "timed_views", "time_on_page_ms", "rolled_up_at"]
    list_filter = ["page_type"]


@admin.register(ProductDaily)
class ProductDailyAdmin(_ReadOnly):
    list_display = ["day", "product", "views", "visitors", "redeem_starts", "rolled_up_at"]
    list_select_related = ["product"]
    search_fields = ["product__name_zh", "product__name_en"]
