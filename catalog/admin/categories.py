"""Categories: an ordinary admin form, listed as a tree."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import Count, F, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from catalog.admin.forms import (
    CategoryForm,
)
from catalog.models import (
    Category,
)
from points.validators import BoundedNumbersMixin


class CategoryTreeChangeList(ChangeList):
    """Lists each subcategory right under its parent unless the operator sorts by a column."""

    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list:
        if ORDER_VAR in self.params:
            return super().get_ordering(request, queryset)
        return ["root_sort", "root_id", F("parent_id").asc(nulls_first=True), "sort", "pk"]


@admin.register(Category)
class CategoryAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = CategoryForm
    list_display = ("tree_name", "name_en", "slug", "icon", "sort", "active", "product_count")
    list_display_links = ("tree_name",)
    list_editable = ("sort", "active")
    list_filter = ("active",)
    search_fields = ("name_zh", "name_en", "slug")
    prepopulated_fields = {"slug": ("name_en",)}
    list_select_related = ("parent__parent",)
    fields = ("name_zh", "name_en", "slug", "parent", "icon", "sort", "active")

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
