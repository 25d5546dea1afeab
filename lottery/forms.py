"""Admin forms of the lottery: a campaign's terms and its prizes, validated like every operator
form of the mall (docs/decisions/0014): numbers within their columns, texts members read free of
hidden characters, and each prize's kind with the fields it needs. Whether a campaign may be
published (odds, win floor, top prize, disclosure) is ``lottery.services.lottery_campaign_publish``'s
to say; these forms refuse what is wrong in any draft.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from lottery.models import LotteryCampaign, LotteryPrize, PrizeKind
from points import selectors as points_selectors
from points.validators import INT_MAX, validate_operator_text

CAMPAIGN_FIELDS = (
    "name",
    "name_en",
    "description",
    "description_en",
    "image",
    "starts_at",
    "ends_at",
    "cost_points",
    "tier_codes",
    "min_account_age_days",
    "daily_limit",
    "campaign_limit",
    "tier_free_draws",
    "style",
    "pity_after",
    "consolation_prize",
)
# What members were promised: frozen once the campaign is published. The image is not a term.
CAMPAIGN_TERMS = tuple(f for f in CAMPAIGN_FIELDS if f != "image")
PRIZE_FIELDS = (
    "position",
    "name",
    "name_en",
    "image",
    "kind",
    "points",
    "product",
    "weight_bp",
    "quantity",
    "daily_cap",
    "market_value",
)
TEXT_FIELDS = ("name", "name_en", "description", "description_en")
# Number fields whose model field states no upper bound: the Postgres integer column is the bound.
_UNBOUNDED = ("daily_limit", "campaign_limit", "points", "quantity", "daily_cap")


def _bound_ints(form: forms.BaseForm) -> None:
    for name in _UNBOUNDED:
        field = form.fields.get(name)
        if isinstance(field, forms.IntegerField) and field.max_value is None:
            field.max_value = INT_MAX
            field.validators.append(MaxValueValidator(INT_MAX))
            field.widget.attrs["max"] = INT_MAX


def _check_texts(form: forms.BaseForm, cleaned: dict[str, Any]) -> None:
    for name in TEXT_FIELDS:
        if name in cleaned:
            try:
                validate_operator_text(cleaned[name])
            except ValidationError as error:
                form.add_error(name, error)


class LotteryCampaignForm(forms.ModelForm):
    tier_codes = forms.MultipleChoiceField(
        label=_("tiers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only members of these tiers may draw; none ticked: every tier."),
    )

    class Meta:
        model = LotteryCampaign
        fields = CAMPAIGN_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tiers = self.fields.get("tier_codes")  # absent when read-only (a published campaign)
        if isinstance(tiers, forms.MultipleChoiceField):
            # The tiers' names in the reader's language (TierView.name is picked per request).
            tiers.choices = points_selectors.tier_choices()
        _bound_ints(self)
        consolation = self.fields.get("consolation_prize")
        if isinstance(consolation, forms.ModelChoiceField):
            # Only one of this campaign's own prizes (none before its prizes are saved).
            campaign_id = self.instance.pk
            consolation.queryset = (
                LotteryPrize.objects.filter(campaign_id=campaign_id).exclude(kind=PrizeKind.NONE)
                if campaign_id
                else LotteryPrize.objects.none()
            )
            if not campaign_id:
                consolation.help_text = _("Save the campaign with its prizes first, then choose one of them.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        _check_texts(self, cleaned)
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The campaign must end after it starts."))
        daily, whole = cleaned.get("daily_limit"), cleaned.get("campaign_limit")
        if daily and whole and daily > whole:
            self.add_error(
                "daily_limit", _("Can't be above the draws per member in the campaign (%(n)d).") % {"n": whole}
            )
        return cleaned


class LotteryPrizeForm(forms.ModelForm):
    class Meta:
        model = LotteryPrize
        fields = PRIZE_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _bound_ints(self)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        _check_texts(self, cleaned)
        kind = cleaned.get("kind")
        points, product = cleaned.get("points"), cleaned.get("product")
        if kind == PrizeKind.POINTS:
            if not points:
                self.add_error("points", _("A points prize needs its points (at least 1)."))
            if product is not None:
                self.add_error("product", _("A points prize has no catalog item."))
        elif kind in (PrizeKind.PRODUCT, PrizeKind.CODE):
            if product is None:
                self.add_error("product", _("Choose the catalog item members win."))
            elif kind == PrizeKind.CODE and product.kind not in ("coupon", "virtual"):
                self.add_error("product", _("A coupon or code prize needs an item with a code pool."))
            if points:
                self.add_error("points", _("Only a points prize gives points."))
        elif kind == PrizeKind.NONE:
            if points or product is not None:
                self.add_error("kind", _("“No prize” gives neither points nor an item."))
            if cleaned.get("quantity") is not None or cleaned.get("daily_cap") is not None:
                self.add_error("quantity", _("“No prize” has no quantity or daily cap."))
        quantity, cap = cleaned.get("quantity"), cleaned.get("daily_cap")
        if quantity is not None and cap is not None and cap > quantity:
            self.add_error("daily_cap", _("Can't be above the quantity (%(n)d).") % {"n": quantity})
        return cleaned


class LotteryPrizeFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        total = sum(f.cleaned_data.get("weight_bp") or 0 for f in kept)
        if total > 10_000:
            raise forms.ValidationError(
                _("The prizes' probabilities add up to %(total)d basis points: at most 10000 (100%%)."),
                params={"total": total},
            )
