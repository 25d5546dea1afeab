"""Admin of daily check-in: the policy (one row), the streak table and cycle bonuses as editable
rows, and read-only lists of check-ins, make-up cards and boosts (only the services write them)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from points.validators import BoundedNumbersMixin
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin, SingletonAdminMixin
from pointsmall.kernel.singleton import SINGLETON_PK
from tasks.models.checkin import (
    Checkin,
    CheckinBoost,
    CheckinPolicy,
    CycleBonus,
    MakeupCardGrant,
    StreakReward,
)


@admin.register(CheckinPolicy)
class CheckinPolicyAdmin(BoundedNumbersMixin, SingletonAdminMixin, SimpleHistoryAdmin):
    """The one policy row. Until an operator saves it, the page shows the defaults the mall runs on."""

    fields = ("cycle", "streak_reset", "after_table", "makeup_enabled", "makeup_price", "makeup_limit")

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:tasks_checkinpolicy_change", args=[SINGLETON_PK]))

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        if str(object_id) != str(SINGLETON_PK):
            return None
        return CheckinPolicy.objects.filter(pk=SINGLETON_PK).first() or CheckinPolicy(pk=SINGLETON_PK)


@admin.register(StreakReward)
class StreakRewardAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    list_display = ("day", "points")
    list_editable = ("points",)
    ordering = ("day",)


@admin.register(CycleBonus)
class CycleBonusAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    list_display = ("days", "points")
    list_editable = ("points",)
    ordering = ("days",)


@admin.register(Checkin)
class CheckinAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("day", "member", "kind", "paid_with", "price", "streak", "points", "bonus_points", "created_at")
    list_filter = ("kind", "paid_with", "day")
    search_fields = ("member__email",)
    date_hierarchy = "day"
    list_select_related = ("member",)
    show_full_result_count = False


@admin.register(MakeupCardGrant)
class MakeupCardGrantAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("member", "quantity", "used", "reference", "created_at", "reversed_at")
    search_fields = ("member__email", "reference")
    list_select_related = ("member",)


@admin.register(CheckinBoost)
class CheckinBoostAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("member", "multiplier", "starts_at", "ends_at", "reference", "reversed_at")
    search_fields = ("member__email", "reference")
    list_select_related = ("member",)
