"""Admin of tasks and surveys: operators define tasks (with a survey's questions inline);
members' progress and answers are shown read-only (written by tasks.services only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from points import selectors as points_selectors
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin
from tasks.models import SurveyQuestion, SurveyResponse, Task, TaskCompletion, TaskEventReceipt, TaskProgress


class TaskForm(forms.ModelForm):
    tier_codes = forms.MultipleChoiceField(
        label=_("tiers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only members of these tiers see the task; none ticked: everyone."),
    )

    class Meta:
        model = Task
        fields = (
            "title",
            "title_en",
            "description",
            "description_en",
            "reward_points",
            "kind",
            "starts_at",
            "ends_at",
            "tier_codes",
            "active",
            "position",
            "completion",
            "event",
            "target",
            "visit_url",
            "restartable",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tiers = self.fields["tier_codes"]
        assert isinstance(tiers, forms.MultipleChoiceField)
        # The tiers' names in the reader's language (TierView.name is picked per request).
        tiers.choices = points_selectors.tier_choices()


class SurveyQuestionFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        completion = self.instance.completion if self.instance is not None else ""
        if completion == TaskCompletion.SURVEY and not kept:
            raise forms.ValidationError(_("A survey needs at least one question."))
        if completion != TaskCompletion.SURVEY and kept:
            raise forms.ValidationError(_("Only a survey task has questions."))


class SurveyQuestionInline(admin.StackedInline):
    model = SurveyQuestion
    formset = SurveyQuestionFormSet
    extra = 0
    fields = (("position", "kind", "required"), ("text", "text_en"), "choices")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskForm
    inlines = (SurveyQuestionInline,)
    list_display = ("title", "kind", "completion", "event", "target", "reward_points", "active", "position")
    list_filter = ("active", "kind", "completion")
    list_editable = ("active", "position")
    search_fields = ("title", "title_en")
    # Set by tasks.announce when members were told the task is available (once).
    readonly_fields = ("announced_at",)
    fieldsets = (
        (None, {"fields": (("title", "title_en"), ("description", "description_en"), "reward_points")}),
        (
            _("When and for whom"),
            {"fields": ("kind", ("starts_at", "ends_at"), "tier_codes", "active", "position", "announced_at")},
        ),
        (_("How it is completed"), {"fields": ("completion", "event", "target", "visit_url", "restartable")}),
    )


class TaskEventReceiptInline(admin.TabularInline):
    model = TaskEventReceipt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("reference", "created_at", "undone_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TaskProgress)
class TaskProgressAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("member", "task", "period_key", "status", "progress", "completed_at", "claimed_at", "reward_points")
    list_filter = ("status", "task")
    search_fields = ("member__email", "task__title")
    list_select_related = ("member", "task")
    inlines = (TaskEventReceiptInline,)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("member", "task", "period_key", "submitted_at")
    list_filter = ("task",)
    search_fields = ("member__email", "task__title")
    list_select_related = ("member", "task")
