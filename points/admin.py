"""Operators' view of the ledger: read-only rows, one write path (adjust) through the service."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from points import admin_import, selectors, services, signals
from points.admin_forms import CampaignForm, TierForm
from points.enums import FreezeAction
from points.forms import AdjustPointsForm
from points.models import (
    Account,
    AccountFreeze,
    Campaign,
    EarningRule,
    Entry,
    ExpiryPolicy,
    Hold,
    IdentityClaim,
    Lot,
    LotMovement,
    PointValuePolicy,
    Purchase,
    PurchasePolicy,
    PurchaseRate,
    PurchaseRefund,
    RulesPage,
    Tier,
    TierPolicy,
)
from points.validators import BoundedNumbersMixin
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin, ReadOnlyInline, SingletonAdminMixin
from pointsmall.kernel.errors import DomainError, form_error


class LotMovementInline(ReadOnlyInline):
    model = LotMovement
    fields = ("lot", "amount")
    readonly_fields = fields


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    """Accounts are read-only; the change page links to the account's entries and lots, and to
    the adjustment form for those who may adjust (never on their own account)."""

    list_display = (
        "user",
        "balance",
        "held",
        "pending",
        "debt",
        "lifetime_earned",
        "lifetime_spent",
        "lifetime_expired",
    )
    search_fields = ("user__email", "user__display_name", "=user__phone")  # the phone in full only (0057)
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "balance",
        "held",
        "pending",
        "debt",
        "lifetime_earned",
        "lifetime_spent",
        "lifetime_expired",
        "frozen_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    list_filter = (("frozen_at", admin.EmptyFieldListFilter),)
    ordering = ("-pk",)

    def get_urls(self):
        return [
            path(
                "<int:account_id>/adjust/", self.admin_site.admin_view(self.adjust_view), name="points_account_adjust"
            ),
            *super().get_urls(),
        ]

    def has_adjust_permission(self, request: HttpRequest, account: Account) -> bool:
        # Staff never grant themselves points, whatever their permissions (the service refuses too).
        return request.user.has_perm("points.change_account") and account.user_id != request.user.pk

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        account = self.get_object(request, object_id)
        if account is not None:
            query = f"?account__id__exact={account.pk}"
            extra_context = {
                **(extra_context or {}),
                # Only the links this user may follow: a link that ends in a 403 is a broken promise.
                "entries_url": reverse("admin:points_entry_changelist") + query
                if request.user.has_perm("points.view_entry")
                else None,
                "lots_url": reverse("admin:points_lot_changelist") + query
                if request.user.has_perm("points.view_lot")
                else None,
                "adjust_url": reverse("admin:points_account_adjust", args=[account.pk])
                if self.has_adjust_permission(request, account)
                else None,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_view(self, request: HttpRequest, account_id: int) -> HttpResponse:
        account = get_object_or_404(Account.objects.select_related("user"), pk=account_id)
        if not self.has_adjust_permission(request, account):
            raise PermissionDenied
        form = AdjustPointsForm(request.POST or None, initial={"idempotency_key": f"admin-adjust:{uuid.uuid4()}"})
        if request.method == "POST" and form.is_valid():
            try:
                receipt = services.points_adjust(
                    user_id=account.user_id,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    actor_id=request.user.pk,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except DomainError as error:
                form_error(form, error)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Adjusted %(member)s by %(amount)+d point. Balance now %(balance)d.",
                        "Adjusted %(member)s by %(amount)+d points. Balance now %(balance)d.",
                        abs(receipt.amount),
                    )
                    % {"member": account.user, "amount": receipt.amount, "balance": receipt.balance},
                )
                return redirect(reverse("admin:points_account_change", args=[account.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust points"),
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/points/account/adjust.html", context)


@admin.register(Entry)
class EntryAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "account",
        "kind",
        "amount",
        "pending_amount",
        "balance_after",
        "description",
        "actor",
    )
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("account__user__email", "reference", "idempotency_key", "memo", "memo_code", "staff_note")
    list_select_related = ("account__user", "actor", "related_entry")
    date_hierarchy = "created_at"
    inlines = [LotMovementInline]
    ordering = ("-pk",)
    readonly_fields = (
        "account",
        "kind",
        "amount",
        "pending_amount",
        "debt_change",
        "balance_after",
        "pending_after",
        "reference",
        "description",
        "memo_code",
        "memo_params",
        "memo",
        "staff_note",
        "related_entry",
        "idempotency_key",
        "actor",
        "created_at",
    )
    fields = readonly_fields
    show_full_result_count = False  # counting millions of rows on every page is not worth it

    @admin.display(description=_("description"))
    def description(self, entry: Entry) -> str:
        """What the member reads, in the operator's language (rendered from the stored code)."""
        return selectors.entry_description(entry)


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    """Host checkout holds (积分抵扣), read-only: only the host's calls and the expiry job change them."""

    list_display = ("id", "account", "key", "reference", "amount", "status", "created_at", "expires_at", "settled_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("key", "reference", "account__user__email", "=account__user__phone", "account__user__display_name")
    list_select_related = ("account__user",)
    ordering = ("-pk",)
    readonly_fields = (
        "account",
        "key",
        "reference",
        "amount",
        "status",
        "created_at",
        "expires_at",
        "settled_at",
        "spend_entry",
    )
    fields = readonly_fields
    show_full_result_count = False


@admin.register(Lot)
class LotAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("id", "account", "amount", "remaining", "status", "earned_at", "available_at", "expires_at")
    list_filter = ("status", ("expires_at", admin.DateFieldListFilter))
    search_fields = ("account__user__email",)
    list_select_related = ("account__user",)
    ordering = ("-pk",)
    readonly_fields = (
        "account",
        "entry",
        "amount",
        "remaining",
        "status",
        "earned_at",
        "available_at",
        "expires_at",
        "reminded_at",
    )
    fields = readonly_fields
    show_full_result_count = False


class SingletonAdmin(SingletonAdminMixin, SimpleHistoryAdmin):
    """One row, pk=1, created by a migration; operators edit it and the history keeps every change."""


@admin.register(ExpiryPolicy)
class ExpiryPolicyAdmin(BoundedNumbersMixin, SingletonAdmin):
    list_display = ("__str__", "mode", "months", "rounding", "reminder_days")
    fields = ("mode", "months", "rounding", "reminder_days")


@admin.register(PointValuePolicy)
class PointValuePolicyAdmin(BoundedNumbersMixin, SingletonAdmin):
    """The value of a point, bounded by ``points.validators.MAX_YUAN_PER_POINT``. After a change
    the page warns with what the listeners of ``points.signals.point_value_changed`` return (the
    lottery: live campaigns whose prizes are now above the top-prize cap)."""

    list_display = ("__str__", "yuan_per_point")
    fields = ("yuan_per_point",)

    def save_model(self, request: HttpRequest, obj: PointValuePolicy, form, change: bool) -> None:
        old = form.initial.get("yuan_per_point")
        super().save_model(request, obj, form, change)
        if change and "yuan_per_point" in form.changed_data:
            responses = signals.point_value_changed.send(sender=PointValuePolicy, old=old, new=obj.yuan_per_point)
            for _receiver, warnings in responses:
                for warning in warnings or ():
                    messages.warning(request, warning)


@admin.register(RulesPage)
class RulesPageAdmin(SingletonAdmin):
    list_display = ("__str__", "updated_at")
    fields = ("title_zh", "body_zh", "title_en", "body_en")


@admin.register(Tier)
class TierAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    form = TierForm
    list_display = ("rank", "name_zh", "name_en", "threshold", "price_percent", "earn_multiplier", "monthly_free_draws")
    list_display_links = ("name_zh", "name_en")
    fields = TierForm.Meta.fields
    ordering = ("rank",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Every member starts in the entry tier (the lowest rank): the ladder can't lose it.
        if obj is not None and not Tier.objects.filter(rank__lt=obj.rank).exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(TierPolicy)
class TierPolicyAdmin(BoundedNumbersMixin, SingletonAdmin):
    list_display = ("__str__", "window_months", "max_downgrade_steps", "warn_days_before")
    fields = ("window_months", "max_downgrade_steps", "warn_days_before")


@admin.register(EarningRule)
class EarningRuleAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    list_display = ("source", "points", "daily_cap", "weekly_cap", "monthly_cap", "apply_multipliers", "active")
    list_editable = ("active",)
    fields = ("source", "points", "daily_cap", "weekly_cap", "monthly_cap", "apply_multipliers", "active")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("source",) if obj else ()


@admin.register(PurchasePolicy)
class PurchasePolicyAdmin(BoundedNumbersMixin, SingletonAdmin):
    list_display = ("__str__", "points_per_yuan", "pending_days")
    fields = ("points_per_yuan", "pending_days")


@admin.register(PurchaseRate)
class PurchaseRateAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    list_display = ("scope", "key", "points_per_yuan", "excluded")
    list_filter = ("scope", "excluded")
    search_fields = ("key",)
    fields = ("scope", "key", "points_per_yuan", "excluded")


@admin.register(Campaign)
class CampaignAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    form = CampaignForm
    list_display = ("name", "multiplier", "starts_at", "ends_at", "budget", "budget_used", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    fields = (
        "name",
        "name_en",
        "multiplier",
        "starts_at",
        "ends_at",
        "sources",
        "tiers",
        "budget",
        "budget_used",
        "active",
    )
    readonly_fields = ("budget_used",)
    filter_horizontal = ("tiers",)
    actions = ("switch_off",)

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        if change:
            # budget_used belongs to the earning service (F() updates under the row lock);
            # writing back the value read with the form would give spent budget out again.
            obj.save(
                update_fields=[f.name for f in Campaign._meta.concrete_fields if f.name not in ("id", "budget_used")]
            )
        else:
            obj.save()

    @admin.action(description=_("Switch off now"), permissions=["change"])
    def switch_off(self, request: HttpRequest, queryset) -> None:
        services.points_campaigns_switch_off(campaign_ids=queryset.values_list("pk", flat=True))
        messages.success(request, _("Switched off."))


@admin.register(Purchase)
class PurchaseAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("external_id", "account", "amount", "points", "refunded_amount", "points_taken_back", "occurred_at")
    search_fields = ("external_id", "account__user__email")
    list_select_related = ("account__user",)
    date_hierarchy = "occurred_at"
    ordering = ("-pk",)
    readonly_fields = (
        "external_id",
        "account",
        "amount",
        "base_points",
        "points",
        "earn_entry",
        "bonus_entry",
        "refunded_amount",
        "points_taken_back",
        "occurred_at",
        "created_at",
    )
    fields = readonly_fields
    show_full_result_count = False

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="points_purchase_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        return admin_import.purchases_import_view(request, self.admin_site, self.model._meta)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # Only a link this user may follow.
        import_url = reverse("admin:points_purchase_import") if admin_import.may_import(request) else None
        return super().changelist_view(request, {**(extra_context or {}), "import_url": import_url})


@admin.register(PurchaseRefund)
class PurchaseRefundAdmin(ReadOnlyAdmin):
    list_display = ("purchase", "amount", "points_taken_back", "created_at")
    search_fields = ("purchase__external_id",)
    ordering = ("-pk",)
    readonly_fields = ("purchase", "idempotency_key", "amount", "points_taken_back", "created_at")
    fields = readonly_fields


@admin.register(IdentityClaim)
class IdentityClaimAdmin(ReadOnlyAdmin):
    list_display = ("reward", "identity_hash", "account", "created_at")
    list_filter = ("reward",)
    ordering = ("-pk",)
    readonly_fields = ("reward", "identity_hash", "account", "created_at")
    fields = readonly_fields


@admin.register(AccountFreeze)
class AccountFreezeAdmin(MemberSearchMixin, ReadOnlyAdmin):
    """Every freeze and unfreeze of a points account (docs/decisions/0055): who, when, why, which
    way. Written by the services only; nobody edits or deletes a row."""

    list_display = ("created_at", "account", "action", "state_change", "reason", "actor")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("account__user__email",)
    list_select_related = ("account__user", "actor")
    ordering = ("-created_at", "-pk")
    fields = ("account", "action", "state_change", "reason", "actor", "created_at")
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request=None) -> bool:
        # The member admin links a member's freeze history by user id (it does not know the account's).
        return lookup == "account__user__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("old → new"))
    def state_change(self, freeze: AccountFreeze) -> str:
        # The services refuse a change to the state the account is in: every row flips it.
        if freeze.action == FreezeAction.FREEZE:
            return str(_("not frozen → frozen"))
        return str(_("frozen → not frozen"))
