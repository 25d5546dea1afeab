from django import forms
from django.utils.translation import gettext_lazy as _


class AccountDeleteForm(forms.Form):
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput, strip=False, max_length=128)
    confirmation = forms.CharField(label=_("Type your e-mail address to confirm"), max_length=254)
