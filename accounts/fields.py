"""Form fields for text members type: the one text rule (accounts.rules.clean_member_text) for
every form of every app, so a field cannot forget it."""

from __future__ import annotations

from django import forms

from accounts import rules
from accounts.exceptions import InvalidTextError
from pointsmall.kernel.errors import validation_error


class MemberTextField(forms.CharField):
    """A CharField whose value is cleaned by ``rules.clean_member_text``: direction overrides
    and control characters are refused with a clear message; invisible characters are
    removed and whitespace is tidied before ``required`` and ``max_length`` are checked, so
    a value of only zero-width spaces is empty. ``multiline`` keeps line breaks (reviews)."""

    def __init__(self, *, multiline: bool = False, **kwargs) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return rules.clean_member_text(value, multiline=self.multiline)
        except rules.UnsafeTextError:
            raise validation_error(InvalidTextError()) from None


class InvisibleFreeField(forms.CharField):
    """A CharField for values checked against a strict format afterwards (phone numbers, codes,
    search words): every invisible and control character is dropped, never refused."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return " ".join(rules.strip_invisible(value).split())
