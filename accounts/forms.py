from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts import regions, rules, selectors
from accounts.adapters import bind_invite
from accounts.exceptions import InvalidPhoneError, InviteCodeUnknownError
from accounts.fields import InvisibleFreeField, MemberTextField, PinField
from accounts.services import avatar_prepare
from accounts.uploads.forms import picture_clean, picture_lost
from pointsmall.kernel.errors import validation_error

# The first option of each region select: "prompt" when there is a choice to make, "wait" while
# the level above is not chosen, "none" for a city with no districts (济源市).
REGION_TEXTS = {
    "province": {"prompt": _("Choose a province")},
    "city": {"prompt": _("Choose a city"), "wait": _("Choose a province first")},
    "district": {"prompt": _("Choose a district"), "wait": _("Choose a city first"), "none": _("No district")},
}


class RegionSelect(forms.Select):
    """A select of one level of the region picker (``accounts.regions``). Its options are the
    names under the level above as the form was sent; ``static/js/region-picker.js`` refills the
    lower levels from ``address_regions`` when the member changes a level above."""

    def __init__(self, *, level: str) -> None:
        # The first option's texts, for the script to use as it refills the select.
        texts = {f"data-region-{key}": text for key, text in REGION_TEXTS[level].items()}
        super().__init__(attrs={"data-region-level": level, **texts})

    def options_for(self, names: list[str], *, empty: str) -> None:
        self.choices = [("", empty), *((name, name) for name in names)]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-region-url"] = reverse("address_regions")
        return context


def _clean_phone(value: str) -> str:
    normalized = rules.normalize_phone(value)
    if normalized is None:
        raise validation_error(InvalidPhoneError())
    return normalized


class ProfileForm(forms.Form):
    display_name = MemberTextField(
        label=_("Display name"),
        max_length=40,
        required=False,
        help_text=_("What other members see, e.g. on the winners list. Up to 40 characters."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text=_("A mainland China mobile (13812345678) or an international number (+4915123456789)."),
    )
    avatar = forms.FileField(
        label=_("Avatar"),
        required=False,
        # A plain file input: the current avatar is shown beside it, and the field only ever uploads.
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
        help_text=_("PNG, JPEG, WebP or GIF, up to 5 MB. Large photos work best as JPEG (up to 20 megapixels)."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def __init__(self, *args, user_id: int, request: HttpRequest | None = None, **kwargs) -> None:
        self.user_id = user_id
        # The member's request, to count their uploads (accounts.uploads.rate); None counts nothing.
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_phone(self) -> str | None:
        # Not compared with other members' numbers: that would tell anyone who uses a number.
        # A number counts (and must be unique) once verified by SMS code (services.phone).
        value = self.cleaned_data["phone"]
        if not value:
            return None
        return _clean_phone(value)

    @property
    def avatar_lost(self) -> bool:
        """Sent back with a mistake elsewhere after an avatar was sent: the page asks for it again."""
        return picture_lost(self, "avatar")

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Decoded (and counted against the member's upload budget) only once the name and the
        # phone are valid: a typo costs no upload (accounts.uploads.forms).
        picture_clean(self, "avatar", prepare=avatar_prepare, request=self.request)
        return self.cleaned_data


class AddressFieldsForm(forms.Form):
    """A shipping address as members type it, checked like ``services.address_create`` stores it.

    The one address form: the address book (:class:`AddressForm`) and the product page's
    inline "new address" (``catalog.forms.InlineAddressForm``) both build on it. The phone is
    normalised (mainland mobile or international, ``rules.normalize_phone``), the postal code
    is 6 digits or empty, every text field goes through the member text rule.
    """

    recipient = MemberTextField(
        label=_("Recipient"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=24,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    # Names, not codes, are posted: an address is written with them, and a form posted without
    # the picker (a script, an old page) reads the same. clean() checks that they are one chain.
    province = MemberTextField(label=_("Province"), max_length=40, widget=RegionSelect(level="province"))
    city = MemberTextField(label=_("City"), max_length=40, widget=RegionSelect(level="city"))
    district = MemberTextField(
        label=_("District"),
        max_length=40,
        required=False,
        widget=RegionSelect(level="district"),
        error_messages={"required": _("Choose a district.")},
    )
    detail = MemberTextField(
        label=_("Street address"),
        max_length=200,
        widget=forms.TextInput(
            attrs={"autocomplete": "street-address", "placeholder": _("e.g. 90 Wensan Road, room 501")}
        ),
        help_text=_("Street, building, unit and room."),
    )
    postal_code = InvisibleFreeField(
        label=_("Postal code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
        help_text=_("6 digits."),
    )

    def __init__(self, *args, saved: bool = False, **kwargs) -> None:
        """``saved``: the initial values are an address saved before (the edit page)."""
        super().__init__(*args, **kwargs)
        values = self.data if self.is_bound else self.initial
        province = self._region_value(values, "province")
        city = self._region_value(values, "city")
        district = self._region_value(values, "district")
        self.saved_region = ""
        if not self.is_bound:
            # A level that is not under the one above (the province changed without the script)
            # starts over. A saved address whose names are not one chain of the data (saved before
            # the picker, or through the host API) is shown as saved, to choose again (decision 0061).
            typed = (province, city, district)
            province = province if province in regions.provinces() else ""
            city = city if city in regions.cities(province=province) else ""
            district = district if district in regions.districts(province=province, city=city) else ""
            if saved and (province, city, district) != typed:
                self.saved_region = " ".join(part for part in typed if part)
            self.initial = {**self.initial, "province": province, "city": city, "district": district}
        city_names = regions.cities(province=province)
        district_names = regions.districts(province=province, city=city)
        self.fields["province"].widget.options_for(regions.provinces(), empty=REGION_TEXTS["province"]["prompt"])
        city_texts = REGION_TEXTS["city"]
        self.fields["city"].widget.options_for(city_names, empty=city_texts["prompt" if city_names else "wait"])
        district_texts = REGION_TEXTS["district"]
        district_empty = "prompt" if district_names else ("none" if city in city_names else "wait")
        self.fields["district"].widget.options_for(district_names, empty=district_texts[district_empty])
        # Needed when the city has districts; on a blank form too (shown as needed), unless the
        # city chosen has none (济源市). A bad city sent is the city's error alone.
        self.fields["district"].required = bool(district_names) or (not self.is_bound and district_empty != "none")

    def _region_value(self, values, name: str) -> str:
        value = values.get(self.add_prefix(name) if self.is_bound else name) or ""
        if not isinstance(value, str):
            return ""
        # Tidied as the field will clean it: a padded "浙江省 " is 浙江省 here too, or its city's
        # districts would be missed and the district not be needed.
        try:
            return self.fields[name].to_python(value) or ""
        except forms.ValidationError:
            return ""

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data["phone"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        province, city, district = data.get("province"), data.get("city"), data.get("district")
        if not province or city is None or district is None:
            return data  # a level already has its own error
        if province not in regions.provinces():
            self.add_error("province", _("Choose a province from the list."))
        elif not city:
            return data
        elif city not in regions.cities(province=province):
            self.add_error("city", _("%(city)s is not a city of %(province)s.") % {"city": city, "province": province})
        elif district and district not in regions.districts(province=province, city=city):
            self.add_error(
                "district", _("%(district)s is not a district of %(city)s.") % {"district": district, "city": city}
            )
        return data

    def clean_postal_code(self) -> str:
        code = self.cleaned_data["postal_code"]
        if code and not rules.is_postal_code(code):
            raise forms.ValidationError(_("A postal code is 6 digits, like 310000."))
        return code

    def address_fields(self) -> dict[str, str]:
        """The cleaned address, by the names ``services.address_create``/``address_update`` take
        (call after is_valid(); a subclass's own fields, like ``is_default``, are left out)."""
        return {name: self.cleaned_data[name] for name in AddressFieldsForm.base_fields}


class AddressForm(AddressFieldsForm):
    """The address book's form: the address and whether it is the default."""

    is_default = forms.BooleanField(label=_("Use as my default address"), required=False)

    def __init__(self, *args, is_current_default: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if is_current_default:
            field = self.fields["is_default"]
            field.initial = True
            field.disabled = True
            field.help_text = _("This is your default address. To change that, make another address the default.")


class _NewPinForm(forms.Form):
    new_pin_field = "pin"
    confirm_field = "pin_confirm"

    def clean(self) -> dict:
        data = super().clean()
        pin, confirm = data.get(self.new_pin_field), data.get(self.confirm_field)
        if pin and confirm is not None and pin != confirm:
            self.add_error(self.confirm_field, _("The two PINs do not match."))
        return data


class PinSetForm(_NewPinForm):
    pin = PinField(label=_("New 6-digit PIN"), new=True)
    pin_confirm = PinField(label=_("Enter the PIN again"), repeat=True)


class PinChangeForm(_NewPinForm):
    new_pin_field = "new_pin"
    confirm_field = "new_pin_confirm"

    password = forms.CharField(
        label=_("Account password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("The password you sign in with."),
    )
    new_pin = PinField(label=_("New 6-digit PIN"), new=True)
    new_pin_confirm = PinField(label=_("Enter the new PIN again"), repeat=True)


class PinCheckForm(forms.Form):
    pin = PinField(label=_("Your PIN"))


class PhoneCodeForm(forms.Form):
    """The code the member received by SMS."""

    code = forms.CharField(
        label=_("Verification code"),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "maxlength": str(rules.PHONE_CODE_LENGTH),
                "autocomplete": "one-time-code",
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(rules.strip_invisible(self.cleaned_data["code"]).split())
        if not rules.is_phone_code_format(code):
            raise forms.ValidationError(
                _("The code is the %(length)s digits in the text message.") % {"length": rules.PHONE_CODE_LENGTH}
            )
        return code


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form with an optional invite code (邀请码), pre-filled from an invite link.

    ``/accounts/signup/?invite=CODE`` keeps the code in the session, so it is still there when
    the visitor comes back to the form later, or signs up with a social account instead.
    """

    invite_code = InvisibleFreeField(
        label=_("Invite code"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        help_text=_("Invited by a friend? Enter their code and you both get points."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Last, after whatever fields ACCOUNT_SIGNUP_FIELDS asks for: it is the optional extra.
        self.fields["invite_code"] = self.fields.pop("invite_code")
        self.inviter: selectors.Inviter | None = None
        # allauth's sign-up view does not hand the request to its form; its middleware keeps it here.
        request: HttpRequest | None = context.request
        if request is None or self.is_bound:
            return
        linked = rules.normalize_invite_code(request.GET.get("invite", ""))[:24]
        code = linked or request.session.get(rules.INVITE_SESSION_KEY, "")
        if not code:
            return
        self.fields["invite_code"].initial = code
        self.inviter = selectors.invite_code_owner(code=code)
        if linked and self.inviter:
            # Only a code that works is kept: a mistyped link must not replace a good one.
            request.session[rules.INVITE_SESSION_KEY] = linked

    def clean_invite_code(self) -> str:
        code = rules.normalize_invite_code(self.cleaned_data["invite_code"])
        if not code:
            return ""
        inviter = selectors.invite_code_owner(code=code)
        if inviter is None:
            raise validation_error(InviteCodeUnknownError())
        self.inviter = inviter
        return code

    def signup(self, request: HttpRequest, user) -> None:
        """allauth's hook, called once the new user is saved."""
        # Taken out whatever happens: a code the member cleared from the field must not be used later.
        request.session.pop(rules.INVITE_SESSION_KEY, None)
        if code := self.cleaned_data.get("invite_code"):
            bind_invite(request, user_id=user.pk, code=code)
