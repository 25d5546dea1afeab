"""Forms of the member's catalog pages: the catalog filters, the redemption steps, the review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.fields import InvisibleFreeField, MemberTextField, PinField
from accounts.forms import AddressFieldsForm
from accounts.uploads.forms import picture_lost, pictures_clean
from catalog.enums import ProductKind, SortOrder
from catalog.images import review_photo_prepare
from catalog.rules import REVIEW_PHOTOS_MAX
from catalog.selectors import CatalogQuery, CategoryView
from catalog.services.reviews import REVIEW_MAX_LENGTH

MAX_POINTS_FILTER = 100_000_000
# The catalog's points-range chips, (min, max) inclusive, None an open side. Their own group beside
# the typed minimum and maximum: a chip is just those two values filled in.
POINTS_RANGES: tuple[tuple[int | None, int | None], ...] = ((None, 999), (1000, 4999), (5000, 9999), (10000, None))
_POINTS_ERRORS = {
    "invalid": _("not a whole number."),
    "min_value": _("points can't be negative."),
    "max_value": _("more than any item costs (at most 100,000,000)."),
}
_CHOICE_ERRORS = {"invalid_choice": _("not one of the choices.")}
# How much of a refused value the message repeats.
_SHOWN_VALUE_LENGTH = 24


class CatalogFilterForm(forms.Form):
    """The catalog page's GET filters. A bad value is dropped (and named), the rest still apply."""

    q = InvisibleFreeField(
        label=_("Search"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Search the mall"), "autocomplete": "off"}),
    )
    category = forms.ChoiceField(label=_("Category"), required=False, error_messages=_CHOICE_ERRORS)
    kind = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("All types")), *ProductKind.choices],
        error_messages=_CHOICE_ERRORS,
    )
    min_points = forms.IntegerField(
        label=_("Minimum points"),
        required=False,
        min_value=0,
        max_value=MAX_POINTS_FILTER,
        error_messages=_POINTS_ERRORS,
        widget=forms.NumberInput(attrs={"placeholder": _("Min"), "inputmode": "numeric"}),
    )
    max_points = forms.IntegerField(
        label=_("Maximum points"),
        required=False,
        min_value=0,
        max_value=MAX_POINTS_FILTER,
        error_messages=_POINTS_ERRORS,
        widget=forms.NumberInput(attrs={"placeholder": _("Max"), "inputmode": "numeric"}),
    )
    affordable = forms.BooleanField(label=_("Only what I can afford"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False, choices=SortOrder.choices, error_messages=_CHOICE_ERRORS
    )

    def __init__(self, *args, categories: list[CategoryView], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [(c.slug, c.name) for c in categories]

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_points"), data.get("max_points")
        if low is not None and high is not None and low > high:
            self.add_error("max_points", _("below the minimum (%(min)s).") % {"min": f"{low:,}"})
        return data

    def query(self) -> CatalogQuery:
        """The filters that are valid; an invalid one is left out (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        return CatalogQuery(
            search=data.get("q") or "",
            category=data.get("category") or "",
            kind=data.get("kind") or "",
            min_points=data.get("min_points"),
            max_points=data.get("max_points"),
            affordable=bool(data.get("affordable")),
            sort=data.get("sort") or SortOrder.POPULAR,
        )

    def error_summary(self) -> list[str]:
        """One line per refused filter, naming the field and the value given, which was ignored:
        "Maximum points “200” ignored: below the minimum (500)."."""
        lines = []
        for name, errors in self.errors.items():
            value = str(self.data.get(name, ""))
            if len(value) > _SHOWN_VALUE_LENGTH:
                value = value[: _SHOWN_VALUE_LENGTH - 1] + "…"
            lines.append(
                _("%(field)s “%(value)s” ignored: %(reason)s")
                % {"field": self.fields[name].label, "value": value, "reason": " ".join(errors)}
            )
        return lines


@dataclass(frozen=True)
class PointsRangeChip:
    """One chip of the catalog's points-range group: its label, the query string it links to
    (the other filters kept, no page) and whether it is the range applied."""

    label: str
    min_points: int | None
    max_points: int | None
    querystring: str
    current: bool


def _points_range_label(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return str(_("Any points"))
    if low is None:
        return str(_("Under %(n)s")) % {"n": f"{(high or 0) + 1:,}"}
    if high is None:
        return str(_("%(n)s and up")) % {"n": f"{low:,}"}
    return f"{low:,}–{high:,}"


def points_range_chips(*, params: QueryDict, query: CatalogQuery) -> list[PointsRangeChip]:
    """The points-range group for the catalog page: "any", each of POINTS_RANGES, and, when the
    applied range is none of them, a chip for that custom range. Exactly one is ``current``:
    the range the results were filtered by (an ignored value counts as absent)."""
    # A minimum of 0 is no minimum (points are never negative): the same chip as none typed.
    applied = (query.min_points or None, query.max_points)
    ranges = [(None, None), *POINTS_RANGES]
    if applied not in ranges:
        ranges.append(applied)
    chips = []
    for low, high in ranges:
        linked = params.copy()
        for name in ("page", "min_points", "max_points"):
            linked.pop(name, None)
        if low is not None:
            linked["min_points"] = str(low)
        if high is not None:
            linked["max_points"] = str(high)
        label = _points_range_label(low, high)
        if (low, high) not in [(None, None), *POINTS_RANGES]:
            if low is None and high is not None:
                # Named as typed: a maximum of 4,321 is "up to 4,321", not "under 4,322".
                label = str(_("up to %(n)s")) % {"n": f"{high:,}"}
            label = str(_("Custom: %(range)s")) % {"range": label}
        chips.append(
            PointsRangeChip(
                label=label,
                min_points=low,
                max_points=high,
                querystring=linked.urlencode(),
                current=(low, high) == applied,
            )
        )
    return chips


class RedeemChoiceForm(forms.Form):
    """What the product page sends to the confirmation page (GET): how many, and where to."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=999)
    address = forms.IntegerField(label=_("Shipping address"), required=False, min_value=1)


class RedeemForm(RedeemChoiceForm):
    """The confirmation page's POST: the choice again, the payment PIN, the request's idempotency key
    and the signed totals the page showed (``confirmation``).

    The token is read by the view (``catalog.services.redemption_confirmation_read``): it needs the
    member and the product, and a missing or altered one is a 400, not a form error to correct.
    """

    confirmation = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput,
        validators=[RegexValidator(r"^[0-9a-f]{32}$", _("This form is out of date. Please try again."))],
        error_messages={"required": _("This form is out of date. Please try again.")},
    )
    # A typo in the format is not a guess: PinField refuses it, it does not count towards the PIN lock.
    pin = PinField(label=_("Payment PIN"), error_messages={"required": _("Enter your 6-digit payment PIN.")})


class InlineAddressForm(AddressFieldsForm):
    """A new shipping address added from the product page, then used for this redemption.

    The address book's fields and checks (``accounts.forms.AddressFieldsForm``), plus the quantity chosen.
    """

    field_order = ("quantity",)

    quantity = forms.IntegerField(min_value=1, max_value=999, initial=1, widget=forms.HiddenInput)


RATING_CHOICES = [(5, _("5 stars")), (4, _("4 stars")), (3, _("3 stars")), (2, _("2 stars")), (1, _("1 star"))]


class PhotosInput(forms.FileInput):
    """A file input that takes several files (``multiple``)."""

    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several uploaded files: ``clean`` gives a list (``[]`` for none), each file checked as one."""

    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [file for file in files if file]
        if not files:
            return list(super().clean(None, initial) or [])
        return [super(PhotosField, self).clean(file, initial) for file in files]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose 1 to 5 stars.")},
    )
    text = MemberTextField(
        multiline=True,
        label=_("Your review"),
        max_length=REVIEW_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "maxlength": str(REVIEW_MAX_LENGTH),
                "placeholder": _("How is it? Quality, delivery, anything other members should know."),
            }
        ),
        error_messages={"required": _("Write a few words about the item.")},
    )
    photos = PhotosField(
        label=_("Photos"),
        required=False,
        widget=PhotosInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )

    def __init__(self, *args, request: HttpRequest | None = None, **kwargs) -> None:
        # The member's request, to count their uploads (accounts.uploads.rate); None counts nothing.
        self.request = request
        super().__init__(*args, **kwargs)
        self.fields["photos"].help_text = gettext(
            "Up to %(max)s photos. PNG, JPEG or WebP, up to 5 MB each. Large photos work best as JPEG "
            "(up to 20 megapixels)."
        ) % {"max": REVIEW_PHOTOS_MAX}

    @property
    def photos_lost(self) -> bool:
        """Sent back with a mistake elsewhere after photos were sent: the page asks for them again."""
        return picture_lost(self, "photos")

    def clean_photos(self) -> list:
        photos = self.cleaned_data["photos"]
        if len(photos) > REVIEW_PHOTOS_MAX:
            # Refused before any is decoded or counted (the tile picker never sends more).
            raise forms.ValidationError(
                _("A review can have up to %(max)s photos; you sent %(sent)s. Choose again."),
                code="too_many_photos",
                params={"max": REVIEW_PHOTOS_MAX, "sent": len(photos)},
            )
        return photos

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Decoded (and counted against the member's upload budget, one per photo) only once the
        # rating and the text are valid: a typo costs no upload (accounts.uploads.forms).
        pictures_clean(self, "photos", prepare=review_photo_prepare, request=self.request)
        photos = self.cleaned_data.get("photos") or []
        # Only decoded photos carry ``image`` (a refused rating or text leaves them undecoded).
        if photos and all(hasattr(photo, "image") for photo in photos):
            # The same picture chosen twice (picked again, or a copy under another name) shows once.
            unique: dict[bytes, Any] = {}
            for photo in self.cleaned_data["photos"]:
                unique.setdefault(photo.image, photo)
            self.cleaned_data["photos"] = list(unique.values())
        return self.cleaned_data
