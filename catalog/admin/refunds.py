"""Cash refunds in the admin: the order list's "cash refund" filter, the refund list, the record form.

Refund rows are written by ``catalog.services`` only. Operators act on them from the order
list (record a refund paid back by hand, retry a failed gateway refund, record a late
offline payment), which needs ``catalog.change_cashrefund``; here they are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog import refund_states
from catalog.enums import RefundStatus
from catalog.models import CashRefund, Order
from pointsmall.kernel import clock
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin

REFUND_PERMISSION = "catalog.change_cashrefund"


def _when(value) -> str:
    return clock.minute_text(value) or "—"


def refund_pill(status: str, label: str) -> str:
    """A cash refund's state as a pill; its colour is ``.pm-refund[data-refund=…]`` in static/css/admin.css."""
    return format_html('<span class="pm-refund" data-refund="{}">{}</span>', status, label)


class CashRefundFilter(admin.SimpleListFilter):
    """Orders by the state of their cash refund: "refund due" lists every order whose money is still owed."""

    title = _("cash refund")
    parameter_name = "refund"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("due", _("Refund due (not refunded yet)")),
            ("failed", pgettext_lazy("cash refund", "Refund failed")),
            ("refunded", pgettext_lazy("cash refund", "Refunded")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        statuses = {
            "due": refund_states.OWED,
            "failed": (RefundStatus.FAILED,),
            "refunded": (RefundStatus.REFUNDED,),
        }.get(self.value() or "")
        if statuses is None:
            return queryset
        return queryset.filter(Exists(CashRefund.objects.filter(order=OuterRef("pk"), status__in=statuses)))


def refund_summary(order: Order) -> str:
    """Every refund of ``order`` for its change page: amount, state, reference, who and when."""
    refunds = list(
        CashRefund.objects.filter(order=order).select_related("recorded_by", "created_by").order_by("created_at", "pk")
    )
    if not refunds:
        return "—"
    rows = []
    for refund in refunds:
        facts = [
            format_html("¥{} {}", refund.amount, refund_pill(refund.status, refund.get_status_display())),
            format_html("<code>{}</code>", refund.reference),
            str(refund.get_reason_display()),
            format_html("{} {}", pgettext_lazy("cash refund", "opened"), _when(refund.created_at)),
        ]
        if refund.refunded_at:
            facts.append(format_html("{} {}", pgettext_lazy("cash refund", "refunded"), _when(refund.refunded_at)))
        if refund.recorded_by:
            facts.append(
                format_html(
                    "{} {} · {} <code>{}</code>",
                    _("recorded by"),
                    refund.recorded_by.email,
                    _("Refund reference"),
                    refund.settled_reference,
                )
            )
        if refund_states.owed(refund.status) and refund.failure:
            facts.append(format_html('<span class="pm-failure">{} {}</span>', _("last failure:"), refund.failure))
        if refund.retry_at:
            facts.append(format_html("{} {}", _("next automatic try"), _when(refund.retry_at)))
        rows.append((format_html_join(" · ", "{}", ((f,) for f in facts)),))
    listing = reverse("admin:catalog_cashrefund_changelist") + f"?order__id__exact={order.pk}"
    return format_html(
        '{}<br><a href="{}">{}</a>', format_html_join("<br>", "{}", rows), listing, _("In the list of cash refunds")
    )


class RefundRecordForm(forms.Form):
    """One reference per refund paid back by hand (the bank transfer's or the receipt's number)."""

    def __init__(self, *args, refunds: list[CashRefund], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refunds = refunds
        for refund in refunds:
            self.fields[f"reference_{refund.pk}"] = forms.CharField(
                label=_("Refund reference"),
                max_length=64,
                error_messages={"required": _("Enter the reference of the bank transfer or receipt.")},
            )

    def rows(self) -> list[tuple[CashRefund, forms.BoundField]]:
        return [(refund, self[f"reference_{refund.pk}"]) for refund in self.refunds]

    def references(self) -> dict[int, str]:
        return {refund.pk: self.cleaned_data[f"reference_{refund.pk}"] for refund in self.refunds}


@admin.register(CashRefund)
class CashRefundAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = (
        "reference",
        "order_link",
        "member_email",
        "amount",
        "status_pill",
        "reason",
        "backend",
        "created_at",
        "refunded_at",
        "recorded_by",
        "attempt",
        "failure",
    )
    list_filter = ("status", "backend", "reason", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reference", "payment_reference", "settled_reference", "member__email", "order__id")
    search_help_text = _("Search by refund or payment reference, bank reference, member e-mail or order number.")
    list_select_related = ("member", "recorded_by")
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description=_("order"), ordering="order_id")
    def order_link(self, obj: CashRefund) -> str:
        url = reverse("admin:catalog_order_change", args=[obj.order_id])
        return format_html('<a href="{}">#{}</a>', url, obj.order_id)

    @admin.display(description=_("owed to"), ordering="member__email")
    def member_email(self, obj: CashRefund) -> str:
        return obj.member.email

    @admin.display(description=_("status"), ordering="status")
    def status_pill(self, obj: CashRefund) -> str:
        return refund_pill(obj.status, obj.get_status_display())
