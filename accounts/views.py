from __future__ import annotations

from typing import cast

import qrcode
from allauth.account import views as allauth_views
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from qrcode.image.svg import SvgPathFillImage

from accounts import regions, rules, selectors, services
from accounts.enums import NotificationKind
from accounts.exceptions import (
    AddressLimitReachedError,
    AddressNotFoundError,
    InvalidNotificationPreferenceError,
    InvalidPhoneError,
    InvalidTextError,
    NotificationNotFoundError,
    PasswordIncorrectError,
    PhoneAlreadyVerifiedError,
    PhoneCodeExpiredError,
    PhoneCodeIncorrectError,
    PhoneCodeLimitReachedError,
    PhoneCodeTooSoonError,
    PhoneNotSetError,
    PhoneNotVerifiableError,
    PinAlreadySetError,
    PinIncorrectError,
    PinLockedError,
    PinNotSetError,
    UnsubscribeLinkInvalidError,
)
from accounts.forms import AddressForm, PhoneCodeForm, PinChangeForm, PinCheckForm, PinSetForm, ProfileForm
from accounts.middleware import set_language_cookie
from accounts.rate import pin_rate_hit
from points import selectors as points_selectors
from points.enums import EarningSource
from pointsmall.kernel.errors import error_response, form_error, message_error
from pointsmall.kernel.masking import mask_phone


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    addresses = selectors.address_list(user_id=user_id)
    return render(
        request,
        "accounts/overview.html",
        {
            "summary": points_selectors.balance_summary(user_id=user_id),
            "address_count": len(addresses),
            "default_address": addresses[0] if addresses else None,
            "pin": selectors.pin_status(user_id=user_id),
            "now": timezone.now(),
            "unread_count": selectors.notification_unread_count(user_id=user_id),
            "mfa_enabled": is_mfa_enabled(request.user),
            "phone_masked": mask_phone(request.user.phone) if request.user.phone else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, user_id=user.pk, request=request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.profile_update(
                    user_id=user.pk,
                    display_name=data["display_name"],
                    phone=data["phone"],
                    language=data["language"],
                    avatar=data["avatar"],
                )
            except InvalidPhoneError as error:
                form_error(form, error, "phone")
            except InvalidTextError as error:
                form_error(form, error, "display_name")
            else:
                translation.activate(data["language"])
                messages.success(request, _("Your profile is saved."))
                response = redirect("profile")
                set_language_cookie(response, data["language"])
                return response
    else:
        form = ProfileForm(
            initial={
                "display_name": user.display_name,
                "phone": user.phone or "",
                "language": user.language or translation.get_language(),
            },
            user_id=user.pk,
        )
    return render(request, "accounts/profile.html", {"form": form, "phone": selectors.phone_status(user_id=user.pk)})


@login_required
@require_http_methods(["GET", "POST"])
def phone_verify(request: HttpRequest) -> HttpResponse:
    """Verify the profile phone: "send" texts a code to it, "confirm" checks the code entered."""
    user_id = request.user.pk
    form = PhoneCodeForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "send":
            try:
                sent = services.phone_code_send(user_id=user_id)
            except (PhoneNotSetError, PhoneAlreadyVerifiedError) as error:
                message_error(request, error, level=messages.INFO)
                return redirect("profile")
            except (PhoneCodeTooSoonError, PhoneCodeLimitReachedError) as error:
                message_error(request, error)
            else:
                messages.success(request, _("We sent a code to %(phone)s.") % {"phone": sent.phone_masked})
            return redirect("phone_verify")
        if action == "confirm":
            form = PhoneCodeForm(request.POST)
            if form.is_valid():
                try:
                    services.phone_code_confirm(user_id=user_id, code=form.cleaned_data["code"])
                except PhoneCodeIncorrectError as error:
                    form_error(form, error, "code")
                except (PhoneCodeExpiredError, PhoneNotVerifiableError, PhoneNotSetError) as error:
                    message_error(request, error)
                    return redirect("phone_verify")
                else:
                    messages.success(request, _("Your phone number is verified."))
                    return redirect("profile")
        else:
            messages.error(request, _("This form is out of date. Please try again."))
            return redirect("phone_verify")
    phone = selectors.phone_status(user_id=user_id)
    if phone is None or phone.verified:
        return redirect("profile")
    return render(request, "accounts/phone_verify.html", {"phone": phone, "form": form})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switcher: Django's own view, and for a signed-in member also their profile,
    so the choice follows them to every device they sign in on."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and translation.check_for_language(language):
        services.profile_language_set(user_id=request.user.pk, language=language)
        request.user.language = language
    return response


@login_required
def address_list(request: HttpRequest) -> HttpResponse:
    addresses = selectors.address_list(user_id=request.user.pk)
    return render(
        request,
        "accounts/address_list.html",
        {"addresses": addresses, "limit": rules.ADDRESS_LIMIT, "at_limit": len(addresses) >= rules.ADDRESS_LIMIT},
    )


def _region_refresh(request: HttpRequest, **kwargs) -> AddressForm | None:
    """Without scripts, the address form's "show cities and districts" button posts the form to
    fill the lower region selects: it is shown again with what was typed, saving nothing."""
    if request.method == "POST" and "region_refresh" in request.POST:
        return AddressForm(initial=request.POST.dict(), **kwargs)
    return None


@login_required
@require_GET
@cache_control(private=True, max_age=3600)
def address_regions(request: HttpRequest) -> JsonResponse:
    """The region picker's options (accounts.regions): ``?province=`` gives its cities,
    ``?province=&city=`` the city's districts, nothing the provinces, as ``{"options": [names]}``.
    A province or city that is not in the data is a 404 with a message."""
    province, city = request.GET.get("province", ""), request.GET.get("city", "")
    if not province:
        return JsonResponse({"options": regions.provinces()})
    if province not in regions.provinces():
        return JsonResponse({"error": _("Choose a province from the list.")}, status=404)
    if not city:
        return JsonResponse({"options": regions.cities(province=province)})
    if city not in regions.cities(province=province):
        message = _("%(city)s is not a city of %(province)s.") % {"city": city, "province": province}
        return JsonResponse({"error": message}, status=404)
    return JsonResponse({"options": regions.districts(province=province, city=city)})


@login_required
@require_http_methods(["GET", "POST"])
def address_create(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    if refreshed := _region_refresh(request):
        return render(request, "accounts/address_form.html", {"form": refreshed, "address": None})
    if request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                services.address_create(
                    user_id=user_id, is_default=form.cleaned_data["is_default"], **form.address_fields()
                )
            except AddressLimitReachedError as error:
                message_error(request, error)
                return redirect("address_list")
            except (InvalidTextError, InvalidPhoneError) as error:
                form_error(form, error)
                return render(request, "accounts/address_form.html", {"form": form, "address": None})
            messages.success(request, _("Address added."))
            return redirect("address_list")
    else:
        if selectors.address_count(user_id=user_id) >= rules.ADDRESS_LIMIT:
            message_error(request, AddressLimitReachedError(limit=rules.ADDRESS_LIMIT))
            return redirect("address_list")
        form = AddressForm()
    return render(request, "accounts/address_form.html", {"form": form, "address": None})


def _own_address(request: HttpRequest, pk: int) -> selectors.AddressView:
    try:
        return selectors.address_get(user_id=request.user.pk, address_id=pk)
    except AddressNotFoundError:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def address_update(request: HttpRequest, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    if refreshed := _region_refresh(request, is_current_default=address.is_default):
        return render(request, "accounts/address_form.html", {"form": refreshed, "address": address})
    if request.method == "POST":
        form = AddressForm(request.POST, is_current_default=address.is_default)
        if form.is_valid():
            try:
                services.address_update(
                    user_id=request.user.pk,
                    address_id=pk,
                    is_default=form.cleaned_data["is_default"],
                    **form.address_fields(),
                )
            except AddressNotFoundError:
                raise Http404 from None
            except (InvalidTextError, InvalidPhoneError) as error:
                form_error(form, error)
                return render(request, "accounts/address_form.html", {"form": form, "address": address})
            messages.success(request, _("Address saved."))
            return redirect("address_list")
    else:
        initial = {
            "recipient": address.recipient,
            "phone": address.phone,
            "province": address.province,
            "city": address.city,
            "district": address.district,
            "detail": address.detail,
            "postal_code": address.postal_code,
            "is_default": address.is_default,
        }
        form = AddressForm(initial=initial, is_current_default=address.is_default, saved=True)
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
@require_http_methods(["GET", "POST"])
def address_delete(request: HttpRequest, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    if request.method == "POST":
        try:
            services.address_delete(user_id=request.user.pk, address_id=pk)
        except AddressNotFoundError:
            raise Http404 from None
        messages.success(request, _("Address deleted."))
        return redirect("address_list")
    return render(request, "accounts/address_confirm_delete.html", {"address": address})


@login_required
@require_POST
def address_set_default(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.address_set_default(user_id=request.user.pk, address_id=pk)
    except AddressNotFoundError:
        raise Http404 from None
    messages.success(request, _("Default address changed."))
    return redirect("address_list")


def _pin_context(request: HttpRequest, **bound_forms) -> dict:
    status = selectors.pin_status(user_id=request.user.pk)
    now = timezone.now()
    context = {"pin": status, "locked": status.is_locked(now), "minutes_locked": status.minutes_locked(now)}
    if status.is_set:
        context["change_form"] = bound_forms.get("change_form") or PinChangeForm()
        context["check_form"] = bound_forms.get("check_form") or PinCheckForm()
    else:
        context["set_form"] = bound_forms.get("set_form") or PinSetForm()
    return context


@login_required
@require_http_methods(["GET", "POST"])
def pin_manage(request: HttpRequest) -> HttpResponse:
    """One page, three forms told apart by their ``action``: set (no PIN yet), change, check."""
    if request.method == "GET":
        return render(request, "accounts/pin.html", _pin_context(request))
    user_id = request.user.pk
    action = request.POST.get("action")
    if action in ("check", "change"):
        # A PIN (or the password) is checked: counted with every PIN entry, before the form (0051).
        pin_rate_hit(request=request)
    is_set = selectors.pin_is_set(user_id=user_id)
    if action == "set" and not is_set:
        form = PinSetForm(request.POST)
        if form.is_valid():
            try:
                services.pin_set(user_id=user_id, pin=form.cleaned_data["pin"])
            except PinAlreadySetError as error:
                message_error(request, error)
                return redirect("pin_manage")
            messages.success(request, _("Your payment PIN is set."))
            return redirect("pin_manage")
        return render(request, "accounts/pin.html", _pin_context(request, set_form=form))
    if action == "change" and is_set:
        form = PinChangeForm(request.POST)
        if form.is_valid():
            try:
                services.pin_change(
                    user_id=user_id, password=form.cleaned_data["password"], new_pin=form.cleaned_data["new_pin"]
                )
            except PasswordIncorrectError as error:
                form_error(form, error, "password")
            except (PinLockedError, PinNotSetError) as error:
                message_error(request, error)
                return redirect("pin_manage")
            else:
                messages.success(request, _("Your payment PIN is changed."))
                return redirect("pin_manage")
        return render(request, "accounts/pin.html", _pin_context(request, change_form=form))
    if action == "check" and is_set:
        form = PinCheckForm(request.POST)
        if form.is_valid():
            try:
                services.pin_verify(user_id=user_id, pin=form.cleaned_data["pin"])
            except PinIncorrectError as error:
                form_error(form, error, "pin")
            except (PinLockedError, PinNotSetError) as error:
                message_error(request, error)
                return redirect("pin_manage")
            else:
                messages.success(request, _("That is your payment PIN."))
                return redirect("pin_manage")
        return render(request, "accounts/pin.html", _pin_context(request, check_form=form))
    # A stale page: e.g. "set" posted from a second tab after the PIN was set in the first.
    messages.error(request, _("This form is out of date. Please try again."))
    return redirect("pin_manage")


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    page = selectors.notification_list(user_id=user_id, page=request.GET.get("page", 1))
    return render(
        request,
        "accounts/inbox.html",
        {"page": page, "unread_count": selectors.notification_unread_count(user_id=user_id)},
    )


@login_required
@require_POST
def inbox_mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        link = services.notification_mark_read(user_id=request.user.pk, notification_id=pk)
    except NotificationNotFoundError:
        raise Http404 from None
    # Links are checked to be paths on this site when sent; checked again here so a bad row
    # can never turn the inbox into an open redirect.
    if (
        request.POST.get("go") == "link"
        and link
        and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    ):
        return redirect(link)
    return redirect("inbox")


@login_required
@require_POST
def inbox_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user_id=request.user.pk)
    if count:
        messages.success(request, _("All messages are marked as read."))
    return redirect("inbox")


PREFERENCE_FIELD = "pref"


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """The kinds × channels matrix. Checkboxes are named ``pref:<kind>:<channel>``; an unticked
    box is off. Channels the member cannot receive now (no verified e-mail or phone) are shown
    disabled and left as they are, and always-on cells are shown ticked and disabled: the
    service enforces both, whatever is posted."""
    user_id = cast(int, request.user.pk)  # login_required: a member
    preferences = selectors.notification_preferences(user_id=user_id)
    if request.method == "POST":
        choices: dict[str, dict[str, bool]] = {}
        for row in preferences.rows:
            for cell in row.cells:
                if cell.available and not cell.forced:
                    choices.setdefault(row.kind, {})[cell.channel] = False
        for name in request.POST:
            prefix, _sep, rest = name.partition(":")
            if prefix != PREFERENCE_FIELD:
                continue
            kind, _sep, channel = rest.partition(":")
            choices.setdefault(kind, {})[channel] = True
        try:
            services.notification_preferences_set(user_id=user_id, choices=choices)
        except InvalidNotificationPreferenceError as error:
            return error_response(
                request, error, "accounts/notification_preferences.html", {"preferences": preferences}
            )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notification_preferences")
    return render(request, "accounts/notification_preferences.html", {"preferences": preferences})


# Mail clients POST here on their own (RFC 8058 one-click unsubscribe), without a CSRF token;
# the signed token in the URL is what authorizes the change, and it can only switch e-mail off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@cache_control(private=True, no_store=True)
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    template = "accounts/notification_unsubscribe.html"
    try:
        if request.method == "POST":
            user_id, kind = services.notification_unsubscribe(token=token)
        else:
            user_id, kind = services.unsubscribe_token_read(token=token)
    except UnsubscribeLinkInvalidError as error:
        return error_response(request, error, template)
    # The token names the member: the page speaks their language (the e-mail's), not the browser's.
    with translation.override(selectors.member_language(user_id=user_id)):
        response = render(
            request,
            template,
            {"done": request.method == "POST", "kind_label": NotificationKind(kind).label, "token": token},
        )
        response.headers["Content-Language"] = translation.get_language()
    return response


def _invite_link(request: HttpRequest, code: str) -> str:
    return request.build_absolute_uri(f"{reverse('account_signup')}?{urlencode({'invite': code})}")


@login_required
def invite(request: HttpRequest) -> HttpResponse:
    code = services.invite_code_ensure(user_id=request.user.pk)
    rules_now = points_selectors.live_rules()
    rewards = {rule.source: rule.points for rule in rules_now.earning}
    return render(
        request,
        "accounts/invite.html",
        {
            "code": code,
            "link": _invite_link(request, code),
            "summary": selectors.invite_summary(user_id=request.user.pk, page=request.GET.get("page", 1)),
            "signup_reward": rewards.get(EarningSource.REFERRAL_SIGNUP, 0),
            "first_order_reward": rewards.get(EarningSource.REFERRAL_FIRST_ORDER, 0),
            "pending_days": rules_now.pending_days,
        },
    )


@login_required
@cache_control(private=True, max_age=3600)
def invite_qr(request: HttpRequest) -> HttpResponse:
    """The invite link as a QR code (SVG with a white background, so it scans on any page colour)."""
    code = services.invite_code_ensure(user_id=request.user.pk)
    image = qrcode.make(_invite_link(request, code), image_factory=SvgPathFillImage, border=2)
    return HttpResponse(image.to_string(encoding="unicode"), content_type="image/svg+xml")


class MemberEmailView(allauth_views.EmailView):
    """allauth's e-mail page, without filing a host member's stand-in address as theirs.

    allauth copies ``user.email`` into the member's address list when the page opens; for a
    member a host brought in without an e-mail that is the ``@members.invalid`` stand-in
    (decision 0035), which must never show as theirs. The page sees no address instead
    (only on this request's user object, never saved), so it offers to add one; verifying it
    makes it their primary address and login, as for anyone.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_authenticated and rules.is_placeholder_email(user.email):
            user.email = ""
        return super().dispatch(request, *args, **kwargs)


email_addresses = MemberEmailView.as_view()
