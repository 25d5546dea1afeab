"""Forms of the ledger's admin for what operators configure (campaigns, tiers): they validate
what operators type as strictly as member input (docs/decisions/0014). The range checks
live on the model fields and ``Model.clean()``, so every form and ``full_clean`` applies them.
"""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from points import features, locks
from points.enums import RULE_SOURCES, EarningSource
from points.models import Campaign, EarningRule, Tier


class CampaignForm(forms.ModelForm):
    sources = forms.MultipleChoiceField(
        label=_("sources"),
        choices=[(value, label) for value, label in EarningSource.choices if value in RULE_SOURCES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every source whose rule lets multipliers apply."),
    )

    class Meta:
        model = Campaign
        fields = ("name", "name_en", "multiplier", "starts_at", "ends_at", "sources", "tiers", "budget", "active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # What the row names, read defensively: a stored value the form can't show is not shown.
            codes = self.instance.source_codes or frozenset()
            self.initial["sources"] = [code for code in EarningSource.values if code in codes]

    def clean_sources(self) -> list[str]:
        chosen = set(self.cleaned_data.get("sources") or [])
        if self.instance.pk and self.instance.source_codes == frozenset() and not chosen:
            # A stored value that named no known source applied to nothing; saving it empty would
            # silently make it apply to everything.
            raise forms.ValidationError(_("The saved sources named no earning source the mall knows: tick them."))
        rules = {rule.source: rule for rule in EarningRule.objects.filter(source__in=chosen)}
        ignored = [
            str(EarningSource(code).label)
            for code in EarningSource.values
            if code in chosen and (code not in rules or not rules[code].apply_multipliers)
        ]
        if ignored:
            raise forms.ValidationError(
                _("Campaigns don't change these points (their earning rule has multipliers off): %(sources)s.")
                % {"sources": ", ".join(ignored)}
            )
        unbuilt = [
            str(EarningSource(code).label)
            for code in EarningSource.values
            if code in chosen and not features.source_live(code)
        ]
        if unbuilt:
            # A campaign for something members cannot do yet would be announced for nothing (0020).
            raise forms.ValidationError(
                _("These ways to earn don't exist in the mall yet: %(sources)s.") % {"sources": ", ".join(unbuilt)}
            )
        # Stored in the enum's order, so the history shows real changes only.
        return [code for code in EarningSource.values if code in chosen]

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk and transaction.get_connection().in_atomic_block:
            # Read the extra points given under the row lock (the admin view is one transaction),
            # so the budget check compares with what earnings have really used.
            self.instance.budget_used = locks.campaign_budget_used_for_update(campaign_id=self.instance.pk)
        return data


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = (
            "code",
            "rank",
            "name_zh",
            "name_en",
            "threshold",
            "price_percent",
            "earn_multiplier",
            "monthly_free_draws",
        )

    def clean(self) -> dict:
        data = super().clean()
        if transaction.get_connection().in_atomic_block:
            # Two operators editing two tiers at once must not each pass the ladder check against
            # the other's old values: lock the ladder until this save commits.
            locks.tier_ladder_for_update()
        return data
