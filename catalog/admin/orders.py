"""Orders: read-only rows that move only through actions calling the order services with the operator as actor."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import notices, order_states, payments, rules, selectors, services
from catalog.admin.forms import (
    CARRIERS,
    CancelUnusedForm,
    RejectForm,
    ShipForm,
)
from catalog.admin.refunds import REFUND_PERMISSION, CashRefundFilter, RefundRecordForm, refund_pill, refund_summary
from catalog.enums import RefundStatus
from catalog.models import (
    CashRefund,
    Code,
    Order,
    OrderEffect,
    OrderEvent,
    StockMovement,
)
from catalog.order_states import Action, Actor
from catalog.selectors import backoffice
from pointsmall.kernel import clock
from pointsmall.kernel.admin import ContactRevealMixin, MemberSearchMixin, ReadOnlyInline, apply_to_selected
from pointsmall.kernel.csv import csv_cell
from pointsmall.kernel.masking import mask_address, mask_email, mask_name, mask_phone
from pointsmall.kernel.pii import may_unmask, pii_revealed


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "shown_note")
    readonly_fields = fields
    ordering = ("created_at", "pk")
    verbose_name_plural = _("status history")

    @admin.display(description=_("note"))
    def shown_note(self, obj: OrderEvent) -> str:
        """A note the mall wrote, in the operator's language; a person's note as written."""
        return notices.note_text(obj.note)


class OrderStockMovementInline(ReadOnlyInline):
    model = StockMovement
    fk_name = "order"
    fields = ("created_at", "delta", "stock_after", "reason", "actor", "shown_note")
    readonly_fields = fields
    verbose_name_plural = _("stock movements")

    @admin.display(description=_("note"))
    def shown_note(self, obj: StockMovement) -> str:
        """A note the mall wrote, in the operator's language; a person's note as written."""
        return notices.note_text(obj.note)


class _Echo:
    """A file-like object csv.writer writes to that just hands the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


SHIPPING_FIELDS = ("recipient", "phone", "address")
_MASKS: dict[str, Callable[[str], str]] = {"recipient": mask_name, "phone": mask_phone, "address": mask_address}


def _shipping(field: str, *, full: bool) -> Callable[[Order], object]:
    if full:
        return lambda o: getattr(o, field)
    return lambda o: _MASKS[field](getattr(o, field))


def _export_columns(*, full: bool) -> list[tuple[str, Callable[[Order], object]]]:
    """The CSV's columns: the delivery details masked, or in full for the shipping list a holder
    of the unmask permission exports (operators ship from it; each order's export is recorded as
    a reveal, decision 0057). The member's e-mail address is masked in both."""
    return [
        (_("Order"), lambda o: o.pk),
        (_("ordered"), lambda o: clock.business_time(o.created_at).strftime("%Y-%m-%d %H:%M:%S")),
        (_("member"), lambda o: mask_email(o.member.email)),
        (_("product"), lambda o: o.product_name),
        (_("type"), lambda o: o.get_kind_display()),
        (_("quantity"), lambda o: o.quantity),
        (_("points each"), lambda o: o.unit_points),
        (_("points"), lambda o: o.points_total),
        (_("points saved by tier"), lambda o: o.points_saved),
        (_("cash, yuan"), lambda o: o.cash_total),
        (_("status"), lambda o: o.get_status_display()),
        (_("payment"), lambda o: o.get_payment_backend_display()),
        (_("payment reference"), lambda o: o.payment_reference),
        (_("paid"), lambda o: clock.business_time(o.paid_at).strftime("%Y-%m-%d %H:%M:%S") if o.paid_at else ""),
        (_("recipient"), _shipping("recipient", full=full)),
        (_("phone"), _shipping("phone", full=full)),
        (_("address"), _shipping("address", full=full)),
        (_("postal code"), lambda o: o.postal_code),
        (_("carrier"), lambda o: o.carrier),
        (_("tracking number"), lambda o: o.tracking_number),
        (_("reason"), lambda o: o.reject_reason),
    ]


EXPORT_COLUMNS = _export_columns(full=False)
FULL_EXPORT_COLUMNS = _export_columns(full=True)


@admin.register(Order)
class OrderAdmin(ContactRevealMixin, MemberSearchMixin, admin.ModelAdmin):
    list_display = ("number", "status_badge", "ordered", "item", "price", "shipping")
    list_display_links = ("number",)
    list_filter = (
        "status",
        CashRefundFilter,
        "kind",
        ("product", admin.RelatedOnlyFieldListFilter),
        "payment_backend",
        ("created_at", admin.DateFieldListFilter),
    )
    # The recipient's phone is searchable in full and shown masked (decision 0057).
    # In full only ("="): a part of the number would spell out the masked digits.
    search_fields = ("member__email", "product_name", "tracking_number", "payment_reference", "=phone")
    masked_fields = ("recipient", "phone", "address")
    search_help_text = _("Search by member e-mail, product, tracking number, payment reference or recipient's phone.")
    date_hierarchy = "created_at"
    list_select_related = ("member",)
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    view_on_site = False
    inlines = [OrderEventInline, OrderStockMovementInline]
    change_form_template = "admin/catalog/order/change_form.html"
    actions = (
        "approve_orders",
        "reject_orders",
        "cancel_unused_privileges",
        "ship_orders",
        "deliver_orders",
        "confirm_cash_payment",
        "record_cash_refund",
        "retry_cash_refunds",
        "record_late_offline_payment",
        "export_csv",
    )
    readonly_fields = (
        "number",
        "masked_recipient",
        "masked_phone",
        "masked_address",
        "member_link",
        "product_link",
        "code_info",
        "effect_info",
        "ledger_links",
        "cash_refunds",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "status",
                    "member_link",
                    "product_link",
                    "kind",
                    "quantity",
                    "unit_points",
                    "points_total",
                    "points_saved",
                    "cash_total",
                    "created_at",
                    "updated_at",
                    "reject_reason",
                )
            },
        ),
        (_("Points ledger"), {"fields": ("ledger_links",)}),
        (_("Code"), {"fields": ("code_info",)}),
        (_("Privilege effect"), {"fields": ("effect_info",)}),
        (_("Payment"), {"fields": ("payment_backend", "payment_reference", "paid_at", "pay_by", "cash_refunds")}),
        (
            _("Shipping"),
            # Masked (decision 0057): "Show full contact data" reveals them, audited.
            {
                "fields": (
                    "masked_recipient",
                    "masked_phone",
                    "masked_address",
                    "postal_code",
                    "carrier",
                    "tracking_number",
                )
            },
        ),
        (_("Technical"), {"fields": ("idempotency_key",), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The order page is read-only (orders move only through the actions); the list keeps the actions.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        # A completed privilege whose effect is unused can still be cancelled (the page offers it
        # the way the member's order page does; the cancel asks whether it was used).
        extra_context = dict(extra_context or {})
        if str(object_id).isdigit() and super().has_change_permission(request):
            unused = selectors.unused_privilege_order_ids(order_ids=[int(object_id)])
            extra_context["can_cancel_unused"] = bool(unused)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        latest = CashRefund.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-pk")
        return super().get_queryset(request).annotate(refund_status=Subquery(latest.values("status")[:1]))

    # Columns

    @admin.display(description=_("order"), ordering="pk")
    def number(self, obj: Order) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("ordered"), ordering="created_at")
    def ordered(self, obj: Order) -> str:
        return clock.minute_text(obj.created_at)

    @admin.display(description=_("item and member"), ordering="product_name")
    def item(self, obj: Order) -> str:
        return format_html(
            '<div class="pm-cell-item">{} ×{}<br><span class="pm-quiet">{}</span></div>',
            obj.product_name,
            obj.quantity,
            mask_email(obj.member.email),
        )

    @admin.display(description=_("paid with"), ordering="points_total")
    def price(self, obj: Order) -> str:
        points = _("%(points)s points") % {"points": obj.points_total}
        if not obj.cash_total:
            return points
        refund_status = getattr(obj, "refund_status", None)
        if refund_status:
            return format_html(
                '{}<br><span class="pm-nowrap">+ ¥{}</span><br>{}',
                points,
                obj.cash_total,
                refund_pill(refund_status, RefundStatus(refund_status).label),
            )
        return format_html('{}<br><span class="pm-nowrap">+ ¥{}</span>', points, obj.cash_total)

    @admin.display(description=_("cash refunds"))
    def cash_refunds(self, obj: Order) -> str:
        return refund_summary(obj)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Order) -> str:
        # The colour of each state is .pm-status[data-status=…] in static/css/admin.css.
        return format_html('<span class="pm-status" data-status="{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description=_("shipping"))
    def shipping(self, obj: Order) -> str:
        if obj.tracking_number:
            return f"{obj.carrier} {obj.tracking_number}"
        return mask_name(obj.recipient) or "—"

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj: Order) -> str:
        return mask_name(obj.recipient) or "—"

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Order) -> str:
        return mask_phone(obj.phone) or "—"

    @admin.display(description=_("address"))
    def masked_address(self, obj: Order) -> str:
        return mask_address(obj.address) or "—"

    @admin.display(description=_("effect"))
    def effect_info(self, obj: Order) -> str:
        effect = OrderEffect.objects.filter(order=obj).first()
        if effect is None:
            return "—"
        if effect.reversed_at is not None:
            state = _("taken back %(at)s: the order was cancelled before use") % {
                "at": clock.minute_text(effect.reversed_at)
            }
        elif effect.applied_at is None:
            state = _("not applied yet: it applies when the order completes")
        elif effect.ends_at:
            state = _("applied %(at)s, lasts until %(until)s") % {
                "at": clock.minute_text(effect.applied_at),
                "until": clock.minute_text(effect.ends_at),
            }
        else:
            state = _("applied %(at)s") % {"at": clock.minute_text(effect.applied_at)}
        return format_html("{} · {}", effect.get_effect_display(), state)

    @admin.display(description=_("member"))
    def member_link(self, obj: Order) -> str:
        url = reverse("admin:accounts_user_change", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, mask_email(obj.member.email))

    @admin.display(description=_("product"))
    def product_link(self, obj: Order) -> str:
        url = reverse("admin:catalog_product_change", args=[obj.product_id])
        return format_html('<a href="{}">{}</a>', url, obj.product_name)

    @admin.display(description=_("code"))
    def code_info(self, obj: Order) -> str:
        code = Code.objects.filter(order=obj).select_related("used_by").first()
        if code is None:
            return "—"
        parts = [format_html("<code>{}</code>", code.code)]
        if code.valid_until:
            parts.append(format_html("{} {}", _("valid until"), clock.minute_text(code.valid_until)))
        if code.used_at:
            parts.append(
                format_html(
                    "{} {} · {}",
                    _("used"),
                    clock.minute_text(code.used_at),
                    code.used_by or "—",
                )
            )
        return format_html_join(" · ", "{}", ((p,) for p in parts))

    @admin.display(description=_("ledger entries"))
    def ledger_links(self, obj: Order) -> str:
        entries = (
            reverse("admin:points_entry_changelist") + "?" + urlencode({"reference": rules.order_reference(obj.pk)})
        )
        if not obj.spend_entry_id:
            return format_html('<a href="{}">{}</a>', entries, _("All ledger entries of this order"))
        spend = reverse("admin:points_entry_change", args=[obj.spend_entry_id])
        return format_html(
            '{} <a href="{}">#{}</a> · <a href="{}">{}</a>',
            _("Spend entry"),
            spend,
            obj.spend_entry_id,
            entries,
            _("all ledger entries of this order (spend, refund)"),
        )

    # Actions

    def _each(self, request: HttpRequest, queryset: QuerySet, call: Callable[[int], object], done_message) -> None:
        """Run ``call`` on every selected order; a refused order is reported and the others still go through.

        Nobody acts on their own order (approving it, confirming its cash, shipping it): staff
        never grant themselves what members must earn or pay for (docs/decisions/0013).
        """
        apply_to_selected(
            self,
            request,
            queryset.order_by("pk").values_list("pk", "member_id"),
            lambda row: call(row[0]),
            refuse=lambda row: (
                _("this is your own order; another operator must handle it.") if row[1] == request.user.pk else None
            ),
            refused_message=lambda row, reason: _("Order #%(id)s: %(message)s") % {"id": row[0], "message": reason},
            done_message=lambda n: done_message(n) % {"n": n},
        )

    def _intermediate(self, request: HttpRequest, queryset: QuerySet, template: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "orders": list(queryset.select_related("member").order_by("pk")),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
                **context,
            },
        )

    @admin.action(description=_("Approve selected orders"), permissions=["change"])
    def approve_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.order_approve(order_id=order_id, actor_id=request.user.pk),
            lambda n: ngettext("%(n)d order approved.", "%(n)d orders approved.", n),
        )

    @admin.action(description=_("Reject selected orders and refund the points…"), permissions=["change"])
    def reject_orders(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            base, started = payments.callback_base(request), timezone.now()
            self._each(
                request,
                queryset,
                lambda order_id: services.order_reject(
                    order_id=order_id, actor_id=request.user.pk, reason=reason, callback_base=base
                ),
                lambda n: ngettext(
                    "%(n)d order rejected; points refunded.", "%(n)d orders rejected; points refunded.", n
                ),
            )
            self._report_refunds_opened(request, queryset, since=started)
            return None
        return self._intermediate(
            request, queryset, "admin/catalog/order/reject.html", title=_("Reject orders"), form=form
        )

    @admin.action(description=_("Cancel unused privileges and refund…"), permissions=["change"])
    def cancel_unused_privileges(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """Cancel completed privilege orders whose effect is still unused: the effect is taken back
        (refused if it was used), the points and any cash go back. Other orders are left alone."""
        ids = list(queryset.values_list("pk", flat=True))
        unused = selectors.unused_privilege_order_ids(order_ids=ids)
        if not unused:
            self.message_user(
                request,
                _(
                    "None of the selected orders can be cancelled here: only completed privileges whose effect "
                    "can be taken back while unused."
                ),
                messages.ERROR,
            )
            return None
        form = CancelUnusedForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            base = payments.callback_base(request)
            self._each(
                request,
                queryset.filter(pk__in=unused),
                lambda order_id: services.order_cancel(
                    order_id=order_id, actor_id=request.user.pk, reason=reason, callback_base=base
                ),
                lambda n: ngettext(
                    "%(n)d order cancelled; its privilege was taken back and the points refunded.",
                    "%(n)d orders cancelled; their privileges were taken back and the points refunded.",
                    n,
                ),
            )
            for order_id in sorted(set(ids) - unused):
                self.message_user(
                    request,
                    _("Order #%(id)s was left as it is: it is not an unused privilege.") % {"id": order_id},
                    messages.ERROR,
                )
            return None
        return self._intermediate(
            request,
            queryset.filter(pk__in=unused),
            "admin/catalog/order/cancel_unused.html",
            title=_("Cancel unused privileges"),
            form=form,
            others=sorted(set(ids) - unused),
        )

    @admin.action(description=_("Ship selected orders (enter tracking numbers)…"), permissions=["change"])
    def ship_orders(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        orders = list(queryset.select_related("member").order_by("pk"))
        ships = {o.pk: order_states.allows(Action.SHIP, o.status, by=Actor.OPERATOR) for o in orders}
        shippable = [o for o in orders if ships[o.pk]]
        others = [o for o in orders if not ships[o.pk]]
        if not shippable:
            self.message_user(
                request, _("None of the selected orders can be shipped: only approved orders ship."), messages.ERROR
            )
            return None
        form = ShipForm(request.POST if "apply" in request.POST else None, orders=shippable)
        if form.is_bound and form.is_valid():
            shipments = form.cleaned_data["shipments"]
            self._each(
                request,
                queryset.filter(pk__in=shipments),
                lambda order_id: services.order_ship(
                    order_id=order_id,
                    actor_id=request.user.pk,
                    carrier=shipments[order_id][0],
                    tracking_number=shipments[order_id][1],
                ),
                lambda n: ngettext("%(n)d order shipped.", "%(n)d orders shipped.", n),
            )
            for order in others:
                self.message_user(
                    request,
                    _("Order #%(id)s was not shipped: it is %(status)s.")
                    % {"id": order.pk, "status": order.get_status_display()},
                    messages.ERROR,
                )
            return None
        return self._intermediate(
            request,
            queryset,
            "admin/catalog/order/ship.html",
            title=_("Ship orders"),
            form=form,
            others=others,
            carriers=CARRIERS,
        )

    @admin.action(description=_("Mark selected orders delivered"), permissions=["change"])
    def deliver_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.order_deliver(order_id=order_id, actor_id=request.user.pk),
            lambda n: ngettext("%(n)d order marked delivered.", "%(n)d orders marked delivered.", n),
        )

    @admin.action(description=_("Confirm cash payment received (offline)"), permissions=["change"])
    def confirm_cash_payment(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.order_mark_paid(
                order_id=order_id, payment_reference=f"offline:{request.user.pk}:{order_id}", actor_id=request.user.pk
            ),
            lambda n: ngettext("Payment confirmed for %(n)d order.", "Payment confirmed for %(n)d orders.", n),
        )

    def _report_refunds_opened(self, request: HttpRequest, queryset: QuerySet, *, since) -> None:
        """Say which rejected orders now owe cash back, and who moves it (the gateway, or the operator)."""
        opened = backoffice.cash_refunds_opened_by_rejection(orders=queryset, actor_id=request.user.pk, since=since)
        for refund in opened:
            by_gateway = payments.backend_named(refund.backend).refunds_by_gateway
            self.message_user(
                request,
                (
                    _("Order #%(id)s: cash refund of ¥%(amount)s due; the payment gateway refunds it.")
                    if by_gateway
                    else _(
                        "Order #%(id)s: cash refund of ¥%(amount)s due. Pay it back, then record it with "
                        '"Record cash refund made".'
                    )
                )
                % {"id": refund.order_id, "amount": refund.amount},
                messages.WARNING,
            )

    @admin.action(description=_("Record cash refund made (bank or counter)…"), permissions=["refund"])
    def record_cash_refund(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        recordable, skipped = backoffice.cash_refunds_to_record(orders=queryset)
        if not recordable:
            self.message_user(
                request,
                _(
                    "None of the selected orders has a cash refund to record by hand: only refunds due on offline "
                    "payments, and gateway refunds that failed, are recorded here."
                ),
                messages.ERROR,
            )
            return None
        form = RefundRecordForm(request.POST if "apply" in request.POST else None, refunds=recordable)
        if form.is_bound and form.is_valid():
            apply_to_selected(
                self,
                request,
                form.references().items(),
                lambda row: services.cash_refund_record(refund_id=row[0], actor_id=request.user.pk, reference=row[1]),
                refused_message=lambda row, reason: reason,
                done_message=lambda n: (
                    ngettext("Cash refund recorded for %(n)d order.", "Cash refunds recorded for %(n)d orders.", n)
                    % {"n": n}
                ),
            )
            return None
        return self._intermediate(
            request,
            queryset,
            "admin/catalog/order/refund_record.html",
            title=_("Record cash refunds"),
            form=form,
            skipped=skipped,
        )

    @admin.action(description=_("Retry failed cash refunds (payment gateway)"), permissions=["refund"])
    def retry_cash_refunds(self, request: HttpRequest, queryset: QuerySet) -> None:
        failed = backoffice.cash_refunds_failed(orders=queryset)
        if not failed.exists():
            self.message_user(request, _("None of the selected orders has a failed cash refund."), messages.ERROR)
            return
        apply_to_selected(
            self,
            request,
            failed,
            lambda refund: services.cash_refund_retry(refund_id=refund.pk, actor_id=request.user.pk),
            refused_message=lambda refund, reason: (
                _("Order #%(id)s: %(message)s") % {"id": refund.order_id, "message": reason}
            ),
            done_message=lambda n: (
                ngettext(
                    "%(n)d cash refund asked of the gateway again.", "%(n)d cash refunds asked of the gateway again.", n
                )
                % {"n": n}
            ),
        )

    @admin.action(
        description=_("Record an offline payment received after cancellation (refund due)"), permissions=["refund"]
    )
    def record_late_offline_payment(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda order_id: services.payment_offline_late_record(order_id=order_id, actor_id=request.user.pk),
            lambda n: ngettext(
                "Late payment recorded for %(n)d order: its cash refund is due.",
                "Late payments recorded for %(n)d orders: their cash refunds are due.",
                n,
            ),
        )

    @admin.action(description=_("Export selected orders as CSV"), permissions=["change"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())
        orders = queryset.select_related("member").order_by("pk")
        columns = EXPORT_COLUMNS
        if may_unmask(request.user):
            columns = FULL_EXPORT_COLUMNS
            for order_id, member_id in orders.values_list("pk", "member_id"):
                pii_revealed.send(
                    sender=Order,
                    actor_id=request.user.pk,
                    user_id=member_id,
                    target="catalog.order",
                    object_id=str(order_id),
                    fields=list(SHIPPING_FIELDS),
                    reason="CSV export",
                )

        def lines() -> Iterator[str]:
            yield "\ufeff"  # so spreadsheet programs read the Chinese names as UTF-8
            yield writer.writerow([str(title) for title, _value in columns])
            for order in orders.iterator(chunk_size=500):
                yield writer.writerow([csv_cell(value(order)) for _title, value in columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stamp = clock.business_time(timezone.now()).strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
        return response
