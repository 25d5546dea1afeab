"""The member's lottery forms: the draw (its idempotency key, signed confirmation and client
seed) and the proof page's "recompute one draw" form. Admin forms are in lottery/forms.py."""

from __future__ import annotations

import secrets
import uuid

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

CLIENT_SEED_MAX = 64
# Printable ASCII without spaces at either end: what a member can type and read back on the proof page.
_printable = RegexValidator(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$", _("Use up to 64 printable characters."))


def client_seed_new() -> str:
    """A default client seed for the draw form (the member may replace it)."""
    return secrets.token_hex(8)


def draw_key_new() -> str:
    """A fresh idempotency key, rendered into the form: a double click sends it twice and draws once."""
    return str(uuid.uuid4())


class DrawForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    confirmation = forms.CharField(max_length=1000, widget=forms.HiddenInput)
    client_seed = forms.CharField(
        label=_("Your client seed"),
        required=False,
        max_length=CLIENT_SEED_MAX,
        strip=False,
        validators=[_printable],
        help_text=_("Mixed into your draw's number; you can recompute it once the seed is revealed."),
    )

    def clean_client_seed(self) -> str:
        return self.cleaned_data["client_seed"] or client_seed_new()


class VerifyForm(forms.Form):
    seed = forms.RegexField(
        label=_("Seed"), regex=r"^[0-9a-f]{64}$", max_length=64,
        error_messages={"invalid": _("The seed is 64 hexadecimal characters.")},
    )  # fmt: skip
    draw_id = forms.IntegerField(label=_("Draw number"), min_value=1)
    client_seed = forms.CharField(
        label=_("Client seed"), max_length=CLIENT_SEED_MAX, strip=False, validators=[_printable]
    )
    nonce = forms.IntegerField(label=_("Nonce"), min_value=0, max_value=2**31 - 1)
