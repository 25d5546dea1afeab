"""Paying the cash part of an order: start, the sandbox test gateway, its signed callbacks, the result.

Only the callback marks an order paid (or a refund made), and only after the
notification's signature checked out: the gateway pages and the member's return to the
mall never do (no fake success path). GET never writes: a payment starts with a POST.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog import order_states, payments, selectors, services
from catalog.enums import PaymentBackendName
from catalog.exceptions import InvalidNotificationError, InvalidTransitionError, OrderNotFoundError, PaymentExpiredError
from catalog.models import Order
from pointsmall.kernel import clock
from pointsmall.kernel.errors import error_response, error_text, message_error

logger = logging.getLogger(__name__)


def _own_order(request: HttpRequest, order_pk: int) -> Order:
    return get_object_or_404(Order, pk=order_pk, member_id=request.user.pk)


def _sandbox_order(request: HttpRequest, reference: str) -> Order:
    return get_object_or_404(
        Order, payment_reference=reference, payment_backend=PaymentBackendName.SANDBOX, member_id=request.user.pk
    )


def _deadline(order: Order) -> str:
    return clock.minute_text(order.pay_by)


@login_required
@require_http_methods(["GET", "POST"])
def payment_start(request: HttpRequest, order_pk: int) -> HttpResponse:
    """GET: how to pay (a pay button, or the offline instructions once started); writes nothing.

    POST: create or reuse the order's payment, then send the member to the backend's page
    (sandbox) or back here for its instructions (offline).
    """
    order = _own_order(request, order_pk)
    if request.method == "GET":
        if order.status not in order_states.AWAITING_PAYMENT:
            return redirect("payment_status", order_pk=order.pk)
        if order.payment_reference and order.payment_backend == PaymentBackendName.OFFLINE:
            start = payments.backend_for(order).start(order)
            return render(request, "catalog/payments/offline.html", {"order": order, "start": start})
        expired = order_states.payment_overdue(order, timezone.now())
        return render(
            request,
            "catalog/payments/start.html",
            {"order": order, "expired": expired, "payable": not expired, "deadline": _deadline(order)},
        )
    try:
        start = services.payment_begin(order_id=order.pk, member_id=request.user.pk)
    except OrderNotFoundError:
        raise Http404 from None
    except (InvalidTransitionError, PaymentExpiredError) as error:
        message_error(request, error, level=messages.WARNING)
        return redirect("payment_status", order_pk=order.pk)
    return redirect(start.redirect_url or reverse("payment_start", args=[order.pk]))


@login_required
@require_GET
def sandbox_gateway(request: HttpRequest, reference: str) -> HttpResponse:
    """The test gateway's checkout page: "Pay ¥X" or "Cancel"."""
    order = _sandbox_order(request, reference)
    now = timezone.now()
    # The gateway's page says "expired" by the clock alone, whatever became of the order.
    expired = order_states.payment_overdue(order.pay_by, now)
    payable = order_states.payable(order, now)
    return render(
        request,
        "catalog/payments/sandbox_gateway.html",
        {"order": order, "payable": payable, "expired": expired, "deadline": _deadline(order)},
    )


@login_required
@require_POST
def sandbox_pay(request: HttpRequest, reference: str) -> HttpResponse:
    """The member pays on the test gateway: the gateway notifies the mall asynchronously, signed."""
    order = _sandbox_order(request, reference)
    now = timezone.now()
    if not order_states.payable(order, now):
        if order.paid_at is None and order_states.payment_overdue(order, now):
            messages.error(
                request, _("This payment expired at %(time)s. Nothing was charged.") % {"time": _deadline(order)}
            )
        else:
            messages.info(request, _("There is nothing left to pay for this order."))
        return redirect("payment_status", order_pk=order.pk)
    # The gateway notifies the mall where the member reached it (any host and port), unless
    # CATALOG_PAYMENT_CALLBACK_BASE says otherwise.
    callback = payments.notify_url("payment_callback_sandbox", payments.callback_base(request))
    # Held in the job outbox: a broker outage delays the notification, never loses it or fails the page.
    payments.SandboxBackend.gateway_accept(reference=reference, callback_url=callback)
    messages.info(
        request,
        _("The gateway accepted your payment. Your order goes ahead as soon as the gateway confirms it to the mall."),
    )
    return redirect("payment_status", order_pk=order.pk)


@login_required
@require_POST
def sandbox_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """The member leaves the test gateway without paying; the gateway tells the mall nothing."""
    order = _sandbox_order(request, reference)
    messages.info(
        request,
        _(
            "You left the payment page without paying. You can still pay until %(time)s; "
            "after that the order is cancelled and your points are refunded."
        )
        % {"time": _deadline(order)},
    )
    return redirect("payment_status", order_pk=order.pk)


def _in_english(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A payment gateway is a machine: its replies (and the refusals in them) are always in English."""

    @wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        with translation.override("en"):
            return view(request)

    return wrapped


def _verified_and_applied(
    request: HttpRequest, kind: str, verify: Callable[[HttpRequest], Any], apply: Callable[[Any], Any]
) -> tuple[Any, Any] | HttpResponse:
    """A gateway's callback: ``verify`` its signed notification, then ``apply`` it.

    Returns (notification, what ``apply`` returned); or, when either refuses it with an
    InvalidNotificationError, the 400 answer, after logging the refusal (``kind``: "payment", "refund").
    """
    try:
        notification = verify(request)
        return notification, apply(notification)
    except InvalidNotificationError as error:
        logger.warning(
            "sandbox %s callback refused (%s) from %s: %s", kind, error.code, request.META.get("REMOTE_ADDR"), error
        )
        return error_response(request, error)


@csrf_exempt  # the gateway's servers post here: the HMAC signature is the authentication
@require_POST
@_in_english
def payment_callback_sandbox(request: HttpRequest) -> HttpResponse:
    """The sandbox gateway's signed notification. 200: paid (or already was); 400: refused; 409: too late."""
    backend = payments.backend_named(PaymentBackendName.SANDBOX)

    def apply(notification):
        try:
            return services.payment_notification_apply(
                notification=notification, backend=backend.name, callback_base=payments.callback_base(request)
            )
        except InvalidTransitionError as error:
            logger.error("sandbox payment %s could not be applied: %s", notification.reference, error)
            # The gateway reads "conflict: …" (409): the payment is real but the order can't take it.
            return HttpResponse(f"conflict: {error_text(error)}", status=error.http_status, content_type="text/plain")

    applied = _verified_and_applied(request, "payment", backend.verify_notification, apply)
    if isinstance(applied, HttpResponse):
        return applied
    notification, outcome = applied
    if isinstance(outcome, HttpResponse):
        return outcome
    if outcome == services.PaymentOutcome.LATE:
        # Acknowledged (a gateway retries anything else for a day): the order stays cancelled,
        # and the mall has opened a refund of this payment, which it asks the gateway for.
        return HttpResponse(
            f"late: order {notification.order_id} was cancelled before this payment arrived. "
            f"It stays cancelled; the mall refunds {notification.amount} to the payer "
            f"(payment {notification.reference}).",
            content_type="text/plain",
        )
    if outcome == services.PaymentOutcome.ALREADY_PROCESSED:
        return HttpResponse("already processed", content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt  # the gateway's servers post here: the HMAC signature is the authentication
@require_POST
@_in_english
def refund_callback_sandbox(request: HttpRequest) -> HttpResponse:
    """The sandbox gateway's signed refund confirmation. 200: applied, already applied or superseded; 400: refused."""
    backend = payments.backend_named(PaymentBackendName.SANDBOX)
    applied = _verified_and_applied(
        request,
        "refund",
        backend.verify_refund_notification,
        lambda notification: services.refund_notification_apply(notification=notification, backend=backend.name),
    )
    if isinstance(applied, HttpResponse):
        return applied
    _notification, outcome = applied
    body = {
        services.RefundOutcome.ALREADY_PROCESSED: "already processed",
        services.RefundOutcome.SUPERSEDED: "superseded: a later attempt is under way",
    }.get(outcome, "ok")
    return HttpResponse(body, content_type="text/plain")


@login_required
@require_GET
def payment_status(request: HttpRequest, order_pk: int) -> HttpResponse:
    """Where the gateway sends the member back: what the mall knows about the payment, nothing more."""
    order = _own_order(request, order_pk)
    waiting = order.status in order_states.AWAITING_PAYMENT
    expired = order_states.payment_overdue(order, timezone.now())
    return render(
        request,
        "catalog/payments/status.html",
        {
            "order": order,
            "waiting": waiting,
            "expired": expired,
            "cancelled": order.status in order_states.CANCELLED,
            # Refresh while a started payment may still be confirmed by the gateway's notification.
            "payable": waiting and not expired,  # the pay button (payments/partials/pay_actions.html)
            "refresh": waiting and not expired and bool(order.payment_reference),
            "deadline": _deadline(order),
            "cash": selectors.order_cash(member_id=request.user.pk, order_id=order.pk),
        },
    )
