"""Reviews: members post them; operators read them and remove abusive ones through the service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from catalog import exceptions, services
from catalog.models import (
    Review,
)
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin


@admin.register(Review)
class ReviewAdmin(MemberSearchMixin, ReadOnlyAdmin):
    """Reviews are posted by members; operators read them and delete abusive ones.

    Deleting goes through ``services.review_remove``: the review points go with the review.
    """

    list_display = ("created_at", "product", "member", "stars", "excerpt", "photo_count")
    list_filter = ("rating", ("created_at", admin.DateFieldListFilter))
    search_fields = ("product__name_zh", "product__name_en", "member__email", "text")
    list_select_related = ("product", "member")
    date_hierarchy = "created_at"
    ordering = ("-pk",)
    fields = ("product", "member", "order", "rating", "text", "photo_preview", "created_at")
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Review | None = None) -> bool:
        # Unlike other service-written rows, an abusive review may be deleted (through the service, below).
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request: HttpRequest, obj: Review) -> None:
        self._remove(request, [obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._remove(request, list(queryset.values_list("pk", flat=True)))

    def _remove(self, request: HttpRequest, review_ids: list[int]) -> None:
        taken = 0
        for review_id in review_ids:
            try:
                taken += services.review_remove(review_id=review_id, actor_id=request.user.pk)
            except exceptions.ReviewNotFoundError:
                continue  # removed meanwhile by someone else: already done
        if taken:
            self.message_user(request, _("Review points taken back: %(points)s.") % {"points": taken}, messages.INFO)

    @admin.display(description=_("stars"), ordering="rating")
    def stars(self, obj: Review) -> str:
        return "★" * obj.rating + "☆" * (5 - obj.rating)

    @admin.display(description=_("review"))
    def excerpt(self, obj: Review) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("photos")

    @admin.display(description=_("photos"))
    def photo_count(self, obj: Review) -> int:
        return len(obj.photos.all())

    @admin.display(description=_("photos"))
    def photo_preview(self, obj: Review) -> str:
        photos = obj.photos.all()
        if not photos:
            return "—"
        return format_html_join(
            " ", '<img src="{}" alt="" class="pm-review-photo">', ((photo.photo.url,) for photo in photos)
        )
