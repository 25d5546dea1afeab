"""Shop staff pages: verifying coupons at the till (核销)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from catalog import services
from catalog.exceptions import CouponNotFoundError
from catalog.services.coupons import MAX_CODE_LENGTH, CouponView, normalize_code
from pointsmall.kernel.errors import DomainError, form_error, message_error

VERIFY_PERMISSION = "catalog.verify_coupon"


class CouponLookupForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Coupon code"),
        max_length=MAX_CODE_LENGTH + 16,  # room for the spaces a scanner or a paste may add
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "enterkeyhint": "search",
                "class": "mono coupon-input",
            }
        ),
    )

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("Enter or scan a coupon code."))
        return code


class CouponUseForm(forms.Form):
    code = forms.CharField(max_length=MAX_CODE_LENGTH)
    code_id = forms.IntegerField(min_value=1)


def _state(coupon: CouponView, now) -> str:
    if coupon.is_used:
        return "used"
    if not coupon.is_active:
        return "inactive"
    return "expired" if coupon.is_expired(now) else "valid"


def _render(request: HttpRequest, form: CouponLookupForm, coupons: list[CouponView] | tuple = ()) -> HttpResponse:
    # After a lookup the input is empty again, so the next scan goes straight in.
    now = timezone.now()
    rows = [{"coupon": coupon, "state": _state(coupon, now)} for coupon in coupons]
    return render(request, "catalog/staff/coupon_verify.html", {"form": form, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def coupon_verify(request: HttpRequest) -> HttpResponse:
    """Look a coupon up (POST action=lookup, so codes stay out of URLs and logs) and mark it used (action=use)."""
    if not request.user.has_perm(VERIFY_PERMISSION):
        raise PermissionDenied
    if request.method == "GET":
        return _render(request, CouponLookupForm())
    if request.POST.get("action") == "use":
        use = CouponUseForm(request.POST)
        if not use.is_valid():
            messages.error(request, _("This coupon could not be read. Scan it again."))
            return redirect("coupon_verify")
        try:
            coupon = services.coupon_redeem_in_store(
                code_id=use.cleaned_data["code_id"], code=use.cleaned_data["code"], actor_id=request.user.pk
            )
        except DomainError as error:
            # Already used, expired, not active: the refusal and the coupon as it stands now.
            message_error(request, error)
            return _render(request, CouponLookupForm(), _lookup(use))
        messages.success(
            request,
            _("Used: %(item)s for %(owner)s. Hand over the item.")
            % {"item": coupon.product_name, "owner": coupon.owner},
        )
        # Redirect, so reloading the page can't submit the same coupon a second time.
        return redirect("coupon_verify")
    form = CouponLookupForm(request.POST)
    if not form.is_valid():
        return _render(request, form)
    try:
        coupons = services.coupon_lookup(code=form.cleaned_data["code"])
    except CouponNotFoundError as error:
        form_error(form, error, "code")
        return _render(request, form)
    return _render(request, CouponLookupForm(), coupons)


def _lookup(use: CouponUseForm) -> list[CouponView]:
    try:
        return services.coupon_lookup(code=use.cleaned_data["code"])
    except CouponNotFoundError:
        return []
