"""The member's side of the catalog: the mall home, the catalog, a product, redeeming, orders, reviews.

Thin views: read through ``catalog.selectors``, write through ``catalog.services``, and
turn every refusal (a DomainError) into a message that says why.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import cast
from urllib.parse import unquote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.exceptions import AddressLimitReachedError, InvalidPhoneError, PinLockedError, PinNotSetError
from accounts.rate import pin_rate_hit
from catalog import payments, selectors, services
from catalog.enums import ProductKind
from catalog.exceptions import OrderNotFoundError, RequestConflictError, SoldOutError
from catalog.forms import (
    CatalogFilterForm,
    InlineAddressForm,
    RedeemChoiceForm,
    RedeemForm,
    ReviewForm,
    points_range_chips,
)
from catalog.rules import REVIEW_PHOTOS_MAX, RedemptionQuota
from catalog.selectors import ORDER_TABS, CatalogQuery, MemberPricing, cached
from points import selectors as points_selectors
from points.enums import EarningSource
from points.exceptions import ConfirmationInvalidError, InsufficientPointsError
from pointsmall.kernel.admission import BusyError
from pointsmall.kernel.errors import DomainError, form_error, message_error
from pointsmall.kernel.ratelimit import rate_hit

REDEEM_RATE_GROUP = "catalog.redeem"
REVIEW_RATE_GROUP = "catalog.review"

ORDER_TAB_LABELS = {
    "all": gettext_lazy("All"),
    "to_pay": gettext_lazy("To pay"),
    "to_ship": gettext_lazy("To ship"),
    "to_receive": gettext_lazy("To receive"),
    "to_review": gettext_lazy("To review"),
    "done": gettext_lazy("Completed"),
    "refund": gettext_lazy("Refunds"),
}


def _pricing(request: HttpRequest) -> MemberPricing:
    if not request.user.is_authenticated:
        return MemberPricing()
    # One query per request, shared with the header (accounts.selectors.viewer_status).
    return selectors.pricing_from_status(user_id=request.user.pk, status=accounts_selectors.viewer_status(request))


def _is_partial(request: HttpRequest) -> bool:
    # A history restore asks for the whole page: htmx has nothing cached to put the fragment into.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _new_request_key() -> str:
    return uuid.uuid4().hex


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    pricing = _pricing(request)
    return render(request, "catalog/home.html", {"home": cached.mall_home(pricing=pricing), "pricing": pricing})


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    categories = cached.category_list()
    form = CatalogFilterForm(request.GET or None, categories=categories)
    filter_errors: list[str] = []
    query = CatalogQuery()
    if form.is_bound:
        if not form.is_valid():
            filter_errors = form.error_summary()
        query = form.query()
    pricing = _pricing(request)
    if query.affordable and not pricing.signed_in:
        query = replace(query, affordable=False)
    per_page = selectors.page_size(request.GET.get("size"))
    page = cached.product_page(query=query, pricing=pricing, page=request.GET.get("page", 1), per_page=per_page)
    params = request.GET.copy()
    params.pop("page", None)
    if per_page == selectors.PAGE_SIZE:
        params.pop("size", None)  # the default: links carry no "size" (nor an invalid one)
    else:
        params["size"] = str(per_page)
    context = {
        "form": form,
        "query": query,
        "page": page,
        "pricing": pricing,
        "categories": categories,
        "filter_errors": filter_errors,
        "querystring": params.urlencode(),
        "per_page": per_page,
        "page_sizes": selectors.PAGE_SIZES,
        "points_ranges": points_range_chips(params=params, query=query),
        # An htmx answer also sends the points-range chips (out of band), so they show the range applied.
        "oob": _is_partial(request),
    }
    template = "catalog/partials/product_results.html" if context["oob"] else "catalog/product_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _product_page(request: HttpRequest, pk: int, *, address_form: InlineAddressForm | None = None) -> HttpResponse:
    pricing = _pricing(request)
    detail = cached.product_detail(product_id=pk, pricing=pricing)
    if detail is None:
        raise Http404
    quota = RedemptionQuota(per_day_limit=detail.per_day_limit, lifetime_limit=detail.lifetime_limit)
    if request.user.is_authenticated:
        # Read fresh on every view (never cached): it moves with the member's own orders.
        quota = selectors.redemption_quota(
            user_id=request.user.pk,
            product_id=pk,
            per_day_limit=detail.per_day_limit,
            lifetime_limit=detail.lifetime_limit,
            now=timezone.now(),
        )
    max_quantity = detail.quantity_cap(quota)
    choice = RedeemChoiceForm(request.GET)
    quantity, address_id = 1, None
    if choice.is_valid():
        quantity = min(choice.cleaned_data["quantity"], max_quantity)
        address_id = choice.cleaned_data["address"]
    addresses = []
    if request.user.is_authenticated:
        if request.method == "GET":
            # The page shown again for a refused inline address form (a POST) is not a new look
            # at the product, and a refused form writes nothing.
            services.product_view_record(member_id=request.user.pk, product_id=pk)
        if detail.needs_address:
            addresses = accounts_selectors.address_list(user_id=request.user.pk)
    if address_id is None and addresses:
        address_id = addresses[0].id
    context = {
        "detail": detail,
        "card": detail.card,
        "pricing": pricing,
        "quantity": quantity,
        "max_quantity": max_quantity,
        "quota": quota,
        "addresses": addresses,
        "address_id": address_id,
        "address_form": address_form or InlineAddressForm(initial={"quantity": quantity}, auto_id="addr_%s"),
    }
    return render(request, "catalog/product_detail.html", context)


@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_page(request, pk)


@login_required
@require_POST
def redeem_address_add(request: HttpRequest, pk: int) -> HttpResponse:
    """The product page's inline "new address" form: save it, then go on to the confirmation with it."""
    if selectors.product_card(product_id=pk, pricing=MemberPricing()) is None:
        raise Http404
    form = InlineAddressForm(request.POST, auto_id="addr_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            address = accounts_services.address_create(user_id=request.user.pk, **form.address_fields())
        except InvalidPhoneError as error:
            form_error(form, error, "phone")
        except AddressLimitReachedError as error:
            form_error(form, error)
        else:
            messages.success(request, _("Address saved."))
            query = urlencode({"quantity": data["quantity"], "address": address.id})
            return redirect(f"{reverse('redeem_confirm', args=[pk])}?{query}")
    return _product_page(request, pk, address_form=form)


def _address_for(user_id: int, address_id: int | None):
    """(the member's addresses, the chosen one or their default, an error message)."""
    addresses = accounts_selectors.address_list(user_id=user_id)
    if address_id is None:
        return addresses, (addresses[0] if addresses else None), ""
    chosen = next((a for a in addresses if a.id == address_id), None)
    if chosen is None:
        return addresses, None, _("This address does not exist.")
    return addresses, chosen, ""


@login_required
@require_http_methods(["GET", "POST"])
def redeem_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2 of 3: what it costs, where it goes, the PIN. The POST redeems; a refusal re-shows this page.

    The page signs the totals it shows into the form (docs/decisions/0016); the POST charges
    exactly those or nothing. A missing or altered token is a 400; a price that changed
    meanwhile is refused by the service, and the page comes back with the new price and a
    fresh token to confirm.
    """
    # A flash item that cannot sell (sold out, not started, ended) is answered first, from Redis
    # (or one product read): no card, no form, no quote, no PIN for a crowd's losers (issue #18).
    if (refused := _flash_refusal(request, pk)) is not None:
        return refused
    if request.method == "GET":
        return _confirm_get(request, pk)
    # Admission (a place among ADMISSION_REDEEM_SLOTS, else 503 + Retry-After) was taken before
    # the session by catalog.middleware.RedeemGateMiddleware: docs/decisions/0044.
    # Past a rate: 429 (pointsmall.throttle) before the PIN is checked or anything written. Per
    # member and generous: a member told "busy" sends again (docs/decisions/0051).
    rate_hit(request, group=REDEEM_RATE_GROUP, key="user", rate=settings.REDEEM_RATE_LIMIT)
    if request.POST.get("pin"):
        pin_rate_hit(request=request)
    return _redeem_post(request, pk)


def _flash_refusal(request: HttpRequest, pk: int) -> HttpResponse | None:
    """The light "sold out" (or "not started", "ended") page of a flash item, or None to go on."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        quantity = int(data.get("quantity") or 1)
    except ValueError:
        return None  # the form says what is wrong with it
    key = data.get("idempotency_key", "")
    try:
        services.redemption_precheck(
            product_id=pk,
            quantity=quantity,
            idempotency_key=f"web:{request.user.pk}:{key}" if key else "",
            user_id=request.user.pk,
        )
    except DomainError as refusal:
        return render(request, "catalog/redeem_refused.html", {"refusal": refusal})
    return None


def _off_shelf(request: HttpRequest, pk: int) -> HttpResponse:
    """An item off the shelf: "sold out" when it left because it sold out (``auto_off_shelf``), else 404.

    The buyers who raced for its last unit hear the true reason, not "page not found" (issue #18).
    """
    try:
        # The redeem views are login_required: the member has a primary key.
        services.redemption_quote(user_id=cast(int, request.user.pk), product_id=pk, quantity=1)
    except SoldOutError as refusal:
        return render(request, "catalog/redeem_refused.html", {"refusal": refusal})
    except DomainError:
        pass
    raise Http404


def _confirm_get(request: HttpRequest, pk: int) -> HttpResponse:
    pricing = _pricing(request)
    card = selectors.product_card(product_id=pk, pricing=pricing)
    if card is None:
        return _off_shelf(request, pk)
    choice = RedeemChoiceForm(request.GET or {"quantity": 1})
    choice.is_valid()
    return _confirm_page(request, card, pricing, choice, key=_new_request_key())


def _redeem_post(request: HttpRequest, pk: int) -> HttpResponse:
    user_id = request.user.pk
    form = RedeemForm(request.POST)
    refusal: DomainError | None = None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            confirmed = services.redemption_confirmation_read(
                token=data["confirmation"], user_id=user_id, product_id=pk, quantity=data["quantity"]
            )
            order = services.order_redeem(
                user_id=user_id,
                product_id=pk,
                quantity=data["quantity"],
                # Namespaced per member: one member's key can never collide with another's.
                idempotency_key=f"web:{user_id}:{data['idempotency_key']}",
                pin=data["pin"],
                address_id=data["address"],
                confirmed=confirmed,
            )
        except ConfirmationInvalidError as error:
            # A forged or stale token is a bad request; any other refusal re-shows the page (200).
            refusal, status = error, error.http_status
        except BusyError:
            raise  # answered by pointsmall.admission.BusyMiddleware (503 + Retry-After)
        except DomainError as error:
            refusal = error
        else:
            return redirect(f"{reverse('order_detail', args=[order.pk])}?placed=1")
    # The page is built only for a refusal: a sale reads no card (docs/decisions/0049).
    pricing = _pricing(request)
    card = selectors.product_card(product_id=pk, pricing=pricing)
    if card is None:
        # Off the shelf, or its last unit sold (and the item left the shelf) since the check above.
        return _flash_refusal(request, pk) or _off_shelf(request, pk)
    # Nothing was written, so the same key may be sent again; a key already spent on another redemption may not.
    key = form.cleaned_data.get("idempotency_key")
    if not key or isinstance(refusal, RequestConflictError):
        key = _new_request_key()
    return _confirm_page(request, card, pricing, form, key=key, refusal=refusal, status=status)


def _confirm_page(
    request: HttpRequest,
    card: selectors.ProductCard,
    pricing: MemberPricing,
    form: RedeemChoiceForm,
    *,
    key: str,
    refusal: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    user_id = request.user.pk
    quantity = form.cleaned_data.get("quantity")
    quote = None
    if quantity is not None:
        try:
            quote = services.redemption_quote(user_id=user_id, product_id=card.id, quantity=quantity)
        except DomainError as error:
            refusal = refusal or error
        else:
            if refusal is None and not quote.affordable:
                refusal = InsufficientPointsError(available=quote.balance, required=quote.points_total)
    addresses, address, address_error = [], None, ""
    if card.kind == ProductKind.PHYSICAL:
        addresses, address, address_error = _address_for(user_id, form.cleaned_data.get("address"))
    pin = accounts_selectors.pin_status(user_id=user_id)
    context = {
        "card": card,
        "pricing": pricing,
        "quote": quote,
        "quantity": quantity or 1,
        "addresses": addresses,
        "address": address,
        "address_error": address_error,
        "idempotency_key": key,
        # Always signed afresh from the quote shown now: after a price change, the new price.
        "confirmation": services.redemption_confirmation_sign(
            user_id=user_id, product_id=quote.product_id, quantity=quote.quantity, totals=quote.totals
        )
        if quote
        else "",
        "refusal": refusal,
        "pin_not_set": not pin.is_set or isinstance(refusal, PinNotSetError),
        "pin_locked_minutes": refusal.minutes
        if isinstance(refusal, PinLockedError)
        else pin.minutes_locked(timezone.now()),
        "pin_error": " ".join(form.errors.get("pin", [])),
        "form_errors": [error for name, errors in form.errors.items() if name != "pin" for error in errors],
    }
    return render(request, "catalog/redeem_confirm.html", context, status=status)


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    # An empty filter (a form sent with nothing chosen, a hand-trimmed link) is no filter, not a bad one.
    tab = request.GET.get("status", "").strip() or "all"
    if tab not in ORDER_TABS:
        # A stale or mistyped link still shows the orders, and says which filter it dropped.
        messages.info(request, _("There is no order filter “%(value)s”: showing all orders.") % {"value": tab[:40]})
        tab = "all"
    counts = selectors.order_tab_counts(member_id=request.user.pk)
    tabs = [(value, ORDER_TAB_LABELS[value], counts[value]) for value in ORDER_TABS]
    page = selectors.order_page(member_id=request.user.pk, tab=tab, page=request.GET.get("page", 1))
    return render(
        request,
        "catalog/order_list.html",
        {
            "page": page,
            "rows": [(row, _payment_url(row.id) if row.awaiting_payment else None) for row in page],
            "tab": tab,
            "tabs": tabs,
            "receipt_question": RECEIPT_QUESTION,
        },
    )


def _payment_url(order_id: int) -> str | None:
    # The payment pages are another part of the mall; until they are mounted the order page still works.
    try:
        return reverse("payment_start", args=[order_id])
    except NoReverseMatch:
        return None


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    detail = selectors.order_detail(member_id=request.user.pk, order_id=pk)
    if detail is None:
        raise Http404
    cash = selectors.order_cash(member_id=request.user.pk, order_id=pk)
    return render(
        request,
        "catalog/order_detail.html",
        {
            "order": detail,
            "cash": cash,
            "placed": request.GET.get("placed") == "1",
            "payment_url": _payment_url(pk) if detail.awaiting_payment else None,
            "cancel_question": _cancel_question(detail, cash),
            "receipt_question": RECEIPT_QUESTION,
        },
    )


RECEIPT_QUESTION = gettext_lazy(
    "Have you received this item? Confirm only once it has arrived: the order is then completed and can't be undone."
)


def _cancel_question(order: selectors.OrderDetail, cash: selectors.OrderCash | None) -> str:
    """What the cancel button asks first (the dialog, or the server's page without JavaScript)."""
    paid_cash = cash if order.paid_at and cash else None
    if order.can_cancel_unused:
        if paid_cash is None:
            return _(
                "Cancel this order? The privilege is taken back and your points come back at once. "
                "This works only while you haven't used it."
            )
        return ngettext(
            "Cancel this order? The privilege is taken back, your points come back at once, and the cash "
            "¥%(amount)s will be refunded to your original payment method within %(days)s working day. "
            "This works only while you haven't used it.",
            "Cancel this order? The privilege is taken back, your points come back at once, and the cash "
            "¥%(amount)s will be refunded to your original payment method within %(days)s working days. "
            "This works only while you haven't used it.",
            paid_cash.refund_working_days,
        ) % {"amount": paid_cash.amount, "days": paid_cash.refund_working_days}
    if paid_cash is None:
        return _("Cancel this order? Your points come back at once.")
    return ngettext(
        "Cancel this order? Your points come back at once, and the cash ¥%(amount)s will be refunded to "
        "your original payment method within %(days)s working day.",
        "Cancel this order? Your points come back at once, and the cash ¥%(amount)s will be refunded to "
        "your original payment method within %(days)s working days.",
        paid_cash.refund_working_days,
    ) % {"amount": paid_cash.amount, "days": paid_cash.refund_working_days}


def _ask_first(request: HttpRequest, pk: int, *, action: str) -> HttpResponse | None:
    """The server's own confirmation, for a POST the dialog did not confirm (no JavaScript, an old
    bookmark): a page with the question and one button that sends ``confirmed=1``. None: go ahead."""
    if request.POST.get("confirmed") == "1":
        return None
    member_id = cast(int, request.user.pk)
    detail = selectors.order_detail(member_id=member_id, order_id=pk)
    if detail is None:
        raise Http404
    if action == "cancel":
        if not detail.can_cancel:
            return None  # the service refuses it with its own message
        question = _cancel_question(detail, selectors.order_cash(member_id=member_id, order_id=pk))
        url, label, testid = reverse("order_cancel", args=[pk]), _("Cancel order"), "cancel-order"
    else:
        if not detail.can_confirm_receipt:
            return None  # already confirmed, or not shipped: the view answers as for any repeat
        question = str(RECEIPT_QUESTION)
        url, label, testid = reverse("order_confirm_receipt", args=[pk]), _("Confirm receipt"), "confirm-receipt"
    context = {"order": detail, "question": question, "action_url": url, "action_label": label, "testid": testid}
    return render(request, "catalog/order_confirm_action.html", context)


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    question = _ask_first(request, pk, action="cancel")
    if question is not None:
        return question
    try:
        order = services.order_cancel(
            order_id=pk,
            member_id=request.user.pk,
            actor_id=request.user.pk,
            callback_base=payments.callback_base(request),
        )
    except OrderNotFoundError:
        raise Http404 from None
    except DomainError as error:
        message_error(request, error)
    else:
        _tell_points_back(request, order)
        _tell_cash_back(request, pk)
    return redirect("order_detail", pk=pk)


def _flash_points(request: HttpRequest, level: int, message, points: int) -> None:
    """Flash ``message``, an ``ngettext_lazy(singular, plural, "points")`` saying ``%(points)s``,
    in the singular or plural ``points`` asks for."""
    messages.add_message(request, level, message % {"points": points})


def _tell_points_back(request: HttpRequest, order) -> None:
    """Say what the refund really gave back: points refunded into lots that expired since the
    redemption expire again at once (docs/decisions/0005), and are not "back in your account"."""
    outcome = points_selectors.refund_outcome(user_id=order.member_id, spend_entry_id=order.spend_entry_id)
    if outcome.spendable:
        _flash_points(
            request,
            messages.SUCCESS,
            ngettext_lazy(
                "Order cancelled. %(points)s point is back in your account.",
                "Order cancelled. %(points)s points are back in your account.",
                "points",
            ),
            outcome.spendable,
        )
    else:
        messages.success(request, _("Order cancelled."))
    if outcome.expired:
        _flash_points(
            request,
            messages.INFO,
            ngettext_lazy(
                "%(points)s point of this order had passed its expiry date since you redeemed, "
                "so it expired as it came back.",
                "%(points)s points of this order had passed their expiry date since you redeemed, "
                "so they expired as they came back.",
                "points",
            ),
            outcome.expired,
        )


def _tell_cash_back(request: HttpRequest, order_id: int) -> None:
    """A paid order's cash goes back by its own refund (docs/decisions/0015): say how much and when."""
    cash = selectors.order_cash(member_id=request.user.pk, order_id=order_id)
    if cash is not None and cash.refund is not None:
        messages.info(
            request,
            ngettext(
                "¥%(cash)s will be refunded to your original payment method within %(days)s working day.",
                "¥%(cash)s will be refunded to your original payment method within %(days)s working days.",
                cash.refund_working_days,
            )
            % {"cash": cash.refund.amount, "days": cash.refund_working_days},
        )


@login_required
@require_POST
def order_confirm_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    question = _ask_first(request, pk, action="receipt")
    if question is not None:
        return question
    try:
        # Safe to send twice (a double tap, a second tab): the order completes once.
        services.order_confirm_receipt(order_id=pk, member_id=request.user.pk)
    except OrderNotFoundError:
        raise Http404 from None
    except DomainError as error:
        message_error(request, error)
    else:
        messages.success(request, _("Thanks for confirming. How was it? Write a review and earn points."))
    return redirect(_next_or_order(request, pk))


def _next_or_order(request: HttpRequest, pk: int) -> str:
    """Back to the order list the form was sent from (``next``, same site only), else the order page."""
    target = request.POST.get("next", "")
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and target.startswith(reverse("order_list"))
        # No way out of the list by a dotted path: browsers read %2e%2e as ".." too.
        and ".." not in unquote(target)
    ):
        return target
    return reverse("order_detail", args=[pk])


@login_required
@require_http_methods(["GET", "POST"])
def order_review(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "POST":
        # Every review POST counts, before the order is read or the photo decoded (docs/decisions/0051).
        rate_hit(request, group=REVIEW_RATE_GROUP, key="user", rate=settings.REVIEW_RATE_LIMIT)
    user_id = request.user.pk
    detail = selectors.order_detail(member_id=user_id, order_id=pk)
    if detail is None:
        raise Http404
    if detail.review is not None:
        messages.info(request, _("You have already reviewed this order."))
        return redirect("order_detail", pk=pk)
    if not detail.can_review:
        messages.error(request, _("You can review this item once it has been delivered."))
        return redirect("order_detail", pk=pk)
    form = ReviewForm(request.POST or None, request.FILES or None, request=request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.review_post(
                order_id=pk, member_id=user_id, rating=data["rating"], text=data["text"], photos=data["photos"]
            )
        except OrderNotFoundError:
            raise Http404 from None
        except DomainError as error:
            message_error(request, error)
            return redirect("order_detail", pk=pk)
        if result.points:
            _flash_points(
                request,
                messages.SUCCESS,
                ngettext_lazy(
                    "Thanks for your review! You earned %(points)s point.",
                    "Thanks for your review! You earned %(points)s points.",
                    "points",
                ),
                result.points,
            )
        else:
            messages.success(request, _("Thanks for your review!"))
        if result.message:
            messages.info(request, result.message)
        return redirect("order_detail", pk=pk)
    context = {
        "order": detail,
        "form": form,
        "review_points": points_selectors.earning_points_for(user_id=cast(int, user_id), source=EarningSource.REVIEW),
        "photos_max": REVIEW_PHOTOS_MAX,
    }
    return render(request, "catalog/order_review.html", context)
