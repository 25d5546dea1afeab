"""Form fields for what members type: the one text rule (accounts.rules.clean_member_text) and the
payment PIN's format, for every form of every app, so a field cannot forget them."""

from __future__ import annotations

from django import forms

from accounts import rules
from accounts.exceptions import InvalidTextError, PinInvalidError, PinTooWeakError
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


PIN_WIDGET_ATTRS = {
    "inputmode": "numeric",
    "pattern": "[0-9]*",
    "maxlength": str(rules.PIN_LENGTH),
    "autocomplete": "off",
    "class": "pin-input",
}


class PinField(forms.CharField):
    """The payment PIN as typed: a password box with the numeric keypad, checked against
    ``rules.is_pin_format`` (``PinInvalidError``'s message). A format typo is refused here,
    before any service sees it, so it never counts towards the PIN lock.

    ``new``: a PIN being chosen, so an easy one is refused too (``PinTooWeakError``).
    ``repeat``: the "enter it again" box, only compared with the PIN above by the form, no check of its own.
    No max_length: a too-long entry gets the same "exactly 6 digits" message as a short one.
    """

    def __init__(self, *, new: bool = False, repeat: bool = False, **kwargs) -> None:
        self.new, self.repeat = new, repeat
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.PasswordInput(attrs=PIN_WIDGET_ATTRS))
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        super().validate(value)
        if self.repeat or value in self.empty_values:
            return
        if not rules.is_pin_format(value):
            raise validation_error(PinInvalidError())
        if self.new and rules.is_weak_pin(value):
            raise validation_error(PinTooWeakError())
