"""Forms of the catalog admin: they validate what operators type; services and ``catalog.images`` do the writing."""

from __future__ import annotations

import csv
import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.uploads.exceptions import ImageRefusedError
from catalog.enums import ProductKind
from catalog.images import PreparedImage, product_image_attach, product_image_prepare
from catalog.models import Category, Order, Product, ProductImage, SalePrice
from catalog.rules import tier_price
from points import selectors as points_selectors
from points.validators import INT_MAX
from pointsmall.kernel.csv import csv_data_rows, csv_size_text
from pointsmall.kernel.errors import form_error

MAX_STOCK_CHANGE = 1_000_000
TRACKING_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]{5,39}")
# Suggestions for the carrier field (free text: regional couriers exist too).
CARRIERS = [
    "顺丰速运 SF Express",
    "京东物流 JD Logistics",
    "中通快递 ZTO",
    "圆通速递 YTO",
    "申通快递 STO",
    "韵达快递 Yunda",
    "EMS",
    "中国邮政 China Post",
]


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("name_zh", "name_en", "slug", "parent", "sort", "active")

    def clean_parent(self) -> Category | None:
        parent = self.cleaned_data.get("parent")
        if parent is None or self.instance.pk is None:
            return parent
        # Walk up from the new parent: meeting this category means the tree would loop.
        seen: set[int] = set()
        node: Category | None = parent
        while node is not None and node.pk not in seen:
            if node.pk == self.instance.pk:
                raise ValidationError(_("A category can't be placed under itself or one of its subcategories."))
            seen.add(node.pk)
            node = node.parent
        return parent


def _tier_choices() -> list[tuple[int, str]]:
    ladder = points_selectors.tier_ladder()
    choices = [(0, _("Everyone"))]
    choices += [(t.rank, _("%(tier)s and above") % {"tier": t.name}) for t in ladder if t.rank > 0]
    return choices


class ProductForm(forms.ModelForm):
    initial_stock = forms.IntegerField(
        label=_("Initial stock"),
        min_value=0,
        max_value=MAX_STOCK_CHANGE,
        required=False,
        help_text=_("Recorded as a restock. Later changes go through the product's Stock page."),
    )

    class Meta:
        model = Product
        fields = (
            "name_zh",
            "name_en",
            "description_zh",
            "description_en",
            "category",
            "kind",
            "market_price",
            "points_price",
            "cash_price",
            "per_order_limit",
            "per_day_limit",
            "lifetime_limit",
            "min_tier_rank",
            "on_shelf",
            "sale_starts_at",
            "sale_ends_at",
            "flash_sale",
            "requires_review",
            "coupon_valid_days",
            "sort_weight",
            "low_stock_threshold",
            "auto_off_shelf",
            "supplier",
            "cost_price",
            "effect",
            "effect_tier",
            "effect_days",
            "effect_multiplier",
        )
        widgets = {
            "description_zh": forms.Textarea(attrs={"rows": 4}),
            "description_en": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "min_tier_rank" in self.fields:
            choices = _tier_choices()
            current = self.instance.min_tier_rank if self.instance.pk else 0
            if current not in {rank for rank, _label in choices}:
                choices.append((current, str(current)))
            self.fields["min_tier_rank"] = forms.TypedChoiceField(
                label=self.fields["min_tier_rank"].label,
                choices=choices,
                coerce=int,
                initial=current,
                help_text=_("Members below this tier see the item but can't redeem it."),
            )
        if "effect_tier" in self.fields:
            # The tier a trial lends: any tier above the entry tier (Product.clean checks it too).
            current_code = self.instance.effect_tier if self.instance.pk else ""
            codes = [(t.code, t.name) for t in points_selectors.tier_ladder()[1:]]
            if current_code and current_code not in {code for code, _name in codes}:
                codes.append((current_code, current_code))
            self.fields["effect_tier"] = forms.ChoiceField(
                label=self.fields["effect_tier"].label,
                choices=[("", "—"), *codes],
                required=False,
                help_text=self.fields["effect_tier"].help_text,
            )
        if self.instance.pk:
            self.fields.pop("initial_stock", None)

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("sale_starts_at"), data.get("sale_ends_at")
        if starts and ends and ends <= starts:
            self.add_error("sale_ends_at", _("The sale must end after it starts."))
        if data.get("flash_sale") and not (starts and ends):
            self.add_error("flash_sale", _("A flash sale needs both a start and an end."))
        kind = data.get("kind")
        if data.get("initial_stock") and kind in (ProductKind.VIRTUAL, ProductKind.COUPON):
            self.add_error("initial_stock", _("The stock of a code item is its pool: import codes instead."))
        points = data.get("points_price")
        if points and self._cheapest_price(points, data.get("min_tier_rank") or 0) > settings.CATALOG_ORDER_CAP_POINTS:
            # The redemption service refuses any order above the cap: such an item could never be redeemed.
            self.add_error(
                "points_price",
                _("One order may use at most %(cap)s points, so no member could redeem this item: lower the price.")
                % {"cap": settings.CATALOG_ORDER_CAP_POINTS},
            )
        return data

    @staticmethod
    def _cheapest_price(points: int, min_rank: int) -> int:
        """The lowest price any member who may redeem the item pays for one (the best tier's share)."""
        percents = [t.price_percent for t in points_selectors.tier_ladder() if t.rank >= min_rank]
        return tier_price(points, min(percents, default=100))


class ProductImageForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("Picture"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, up to 5 MB. Large photos work best as JPEG (up to 20 megapixels)."),
    )

    class Meta:
        model = ProductImage
        fields = ("sort", "alt_zh", "alt_en")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: PreparedImage | None = None

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("upload")
        if upload:
            try:
                self.prepared = product_image_prepare(upload=upload)
            except ImageRefusedError as error:
                form_error(self, error, "upload")
        elif self.instance.pk is None:
            self.add_error("upload", _("Choose a picture."))
        return data

    def save(self, commit: bool = True) -> ProductImage:
        image = super().save(commit=False)
        if self.prepared is not None:
            product_image_attach(image=image, prepared=self.prepared)
        if commit:
            image.save()
        return image


class SalePriceForm(forms.ModelForm):
    class Meta:
        model = SalePrice
        fields = ("product", "points_price", "starts_at", "ends_at")

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The sale price must end after it starts."))
        product, points = data.get("product"), data.get("points_price")
        if product is not None and points is not None and points >= product.points_price:
            self.add_error("points_price", _("A sale price must be lower than the regular price."))
        return data


class StockAdjustForm(forms.Form):
    RESTOCK, CORRECTION = "restock", "correction"
    kind = forms.ChoiceField(
        label=_("Change"),
        choices=[(RESTOCK, _("Restock (goods arrived)")), (CORRECTION, _("Correction (stocktake, damage, loss)"))],
        widget=forms.RadioSelect,
        initial=RESTOCK,
    )
    delta = forms.IntegerField(
        label=_("Quantity"),
        min_value=-MAX_STOCK_CHANGE,
        max_value=MAX_STOCK_CHANGE,
        help_text=_("Restock: how many arrived. Correction: positive adds, negative removes."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Kept with the movement for the stock audit, e.g. a delivery note or stocktake number."),
        error_messages={"required": _("A reason is required.")},
    )

    def __init__(self, *args, product: Product, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        if product.needs_code:
            # A code item's stock is its pool: it only grows by importing codes.
            self.fields["kind"].choices = [c for c in self.fields["kind"].choices if c[0] == self.CORRECTION]
            self.fields["kind"].initial = self.CORRECTION

    def clean(self) -> dict:
        data = super().clean()
        delta, kind = data.get("delta"), data.get("kind")
        if delta is None or kind is None:
            return data
        if delta == 0:
            self.add_error("delta", _("Enter a number other than zero."))
        elif kind == self.RESTOCK and delta < 0:
            self.add_error("delta", _("A restock adds goods: use a correction to remove some."))
        elif delta > 0 and self.product.needs_code:
            self.add_error("delta", _("The stock of a code item is its pool: import codes to add to it."))
        elif self.product.stock + delta > INT_MAX:
            self.add_error("delta", _("The stock can't go above %(max)s.") % {"max": INT_MAX})
        return data


class CodeImportForm(forms.Form):
    """A CSV file or a pasted list of codes, within settings.CSV_IMPORT_MAX_BYTES and
    CSV_IMPORT_MAX_ROWS_CODES (docs/decisions/0054): ``cleaned_data["codes"]`` is the text."""

    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        help_text=_("UTF-8, one code per line or in the first column; a header row named “code” is skipped."),
    )
    text = forms.CharField(
        label=_("Or paste codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60, "spellcheck": "false", "autocomplete": "off"}),
    )

    def clean_text(self) -> str:
        # The same bound as a file, in bytes: what one import may make the server parse and look up.
        text = self.cleaned_data.get("text") or ""
        if len(text.encode()) > settings.CSV_IMPORT_MAX_BYTES:
            raise ValidationError(
                _("Paste at most %(size)s of codes at once: split a longer list into several imports.")
                % {"size": csv_size_text(settings.CSV_IMPORT_MAX_BYTES)}
            )
        return text

    def clean_file(self) -> str:
        upload = self.cleaned_data.get("file")
        if not upload:
            return ""
        if upload.size > settings.CSV_IMPORT_MAX_BYTES:
            raise ValidationError(
                _("The file is too large: at most %(size)s per import.")
                % {"size": csv_size_text(settings.CSV_IMPORT_MAX_BYTES)}
            )
        raw = upload.read()
        if b"\x00" in raw:
            raise ValidationError(_("This is not a text file. Upload a UTF-8 CSV file."))
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from None

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        uploaded, pasted = data.get("file") or "", (data.get("text") or "").strip()
        if uploaded and pasted:
            # One source per import, so the line numbers in the report point into it.
            raise ValidationError(_("Choose a CSV file or paste codes, not both."))
        if not (uploaded.strip() or pasted):
            raise ValidationError(_("Choose a CSV file or paste some codes."))
        try:
            rows = csv_data_rows(uploaded or pasted, header=False)
        except csv.Error:
            raise ValidationError(
                _(
                    "This file can't be read as CSV: a cell is longer than 128 KB, or a quote is not closed. "
                    "Check the file and try again."
                )
            ) from None
        if rows > settings.CSV_IMPORT_MAX_ROWS_CODES:
            raise ValidationError(
                _("There are %(rows)s codes; one import takes at most %(max)s. Split them into several imports.")
                % {"rows": rows, "max": settings.CSV_IMPORT_MAX_ROWS_CODES}
            )
        data["codes"] = uploaded or pasted
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason shown to the member"),
        max_length=200,
        widget=forms.TextInput(attrs={"size": 70}),
        error_messages={"required": _("A reason is required.")},
    )


class CancelUnusedForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason shown to the member"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"size": 70}),
    )


class ShipForm(forms.Form):
    """One carrier and tracking number per order; a carrier typed at the top fills the rows left empty."""

    default_carrier = forms.CharField(label=_("Carrier for every order"), max_length=40, required=False)

    def __init__(self, *args, orders: list[Order], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.orders = orders
        for order in orders:
            self.fields[f"carrier_{order.pk}"] = forms.CharField(label=_("Carrier"), max_length=40, required=False)
            self.fields[f"tracking_{order.pk}"] = forms.CharField(label=_("Tracking number"), max_length=40)

    def rows(self) -> list[tuple[Order, forms.BoundField, forms.BoundField]]:
        return [(o, self[f"carrier_{o.pk}"], self[f"tracking_{o.pk}"]) for o in self.orders]

    def clean(self) -> dict:
        data = super().clean()
        default = (data.get("default_carrier") or "").strip()
        shipments = {}
        for order in self.orders:
            carrier = (data.get(f"carrier_{order.pk}") or "").strip() or default
            tracking = re.sub(r"\s+", "", data.get(f"tracking_{order.pk}") or "").upper()
            if not carrier:
                self.add_error(f"carrier_{order.pk}", _("Enter the carrier, here or for every order above."))
            if f"tracking_{order.pk}" in self.errors:
                continue
            if not TRACKING_NUMBER.fullmatch(tracking):
                self.add_error(
                    f"tracking_{order.pk}",
                    _("A tracking number is 6 to 40 letters, digits or dashes."),
                )
                continue
            shipments[order.pk] = (carrier, tracking)
        data["shipments"] = shipments
        return data
