"""Admin of the leaderboard: its policy, exclusions, monthly prize bands; standings and payouts read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.admin import ReadOnlyAdmin, SingletonAdminMixin
from tasks.models import (
    LeaderboardExclusion,
    LeaderboardPayout,
    LeaderboardPolicy,
    LeaderboardPrize,
    LeaderboardStanding,
)
from tasks.models.leaderboard import MAX_PRIZE_RANK
from tasks.rules import leaderboard as rules


@admin.register(LeaderboardPolicy)
class LeaderboardPolicyAdmin(SingletonAdminMixin, admin.ModelAdmin):
    """One row (pk=1). Until it is saved the defaults apply, so the first save adds it."""

    list_display = ("__str__", "size", "exclude_staff", "monthly_rewards")
    fields = ("size", "exclude_staff", "monthly_rewards")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not LeaderboardPolicy.objects.exists() and super(SingletonAdminMixin, self).has_add_permission(request)

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(LeaderboardExclusion)
class LeaderboardExclusionAdmin(admin.ModelAdmin):
    list_display = ("member", "reason", "created_at", "created_by")
    search_fields = ("member__email", "member__display_name", "reason")
    raw_id_fields = ("member",)
    fields = ("member", "reason")

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class LeaderboardPrizeForm(forms.ModelForm):
    class Meta:
        model = LeaderboardPrize
        fields = ("rank_from", "rank_to", "points")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rank_from, rank_to = data.get("rank_from"), data.get("rank_to")
        if rank_from is None or rank_to is None:
            return data
        if not (1 <= rank_from <= MAX_PRIZE_RANK and 1 <= rank_to <= MAX_PRIZE_RANK):
            return data  # the field's own range error is the one message
        if rank_from > rank_to:
            # The model's check constraint (tasks_prize_ranks_in_order) reports it: one message, not two.
            return data
        others = LeaderboardPrize.objects.exclude(pk=self.instance.pk).values_list("rank_from", "rank_to")
        clash = rules.overlapping_band(rank_from, rank_to, others)
        if clash is not None:
            raise forms.ValidationError(
                _("Ranks %(first)s to %(last)s already have a prize: bands must not overlap."),
                code="bands_overlap",
                params={"first": clash[0], "last": clash[1]},
            )
        return data


@admin.register(LeaderboardPrize)
class LeaderboardPrizeAdmin(admin.ModelAdmin):
    form = LeaderboardPrizeForm
    list_display = ("__str__", "rank_from", "rank_to", "points")


@admin.register(LeaderboardStanding)
class LeaderboardStandingAdmin(ReadOnlyAdmin):
    list_display = ("board", "period_start", "rank", "member", "points", "refreshed_at")
    list_filter = ("board",)
    search_fields = ("member__email",)
    ordering = ("board", "rank")


@admin.register(LeaderboardPayout)
class LeaderboardPayoutAdmin(ReadOnlyAdmin):
    list_display = ("month", "rank", "member", "points", "entry_id", "created_at")
    list_filter = ("month",)
    search_fields = ("member__email",)
