from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from points.enums import HistoryFilter


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Show"), choices=HistoryFilter.choices, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date must be on or before the end date."))
        return data


class AdjustPointsForm(forms.Form):
    amount = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to credit, negative to debit."),
        min_value=-10_000_000,
        max_value=10_000_000,
    )
    reason = forms.CharField(
        label=_("Reason shown to the member"),
        help_text=_("The member reads this, word for word, in their points history."),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Internal note"),
        help_text=_("Only staff see this: the ticket, who asked, what you checked. Optional."),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a number other than zero."))
        return amount

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason
