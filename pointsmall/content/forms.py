"""The member's feedback form (意见反馈)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.fields import MemberTextField
from accounts.uploads.forms import picture_clean, picture_lost
from pointsmall.content import images, rules
from pointsmall.content.enums import FeedbackCategory
from pointsmall.content.exceptions import InvalidContactError, InvalidFeedbackError
from pointsmall.content.models import CONTACT_MAX, FEEDBACK_TEXT_MAX, FEEDBACK_TEXT_MIN
from pointsmall.kernel.errors import validation_error


class FeedbackForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What is it about?"),
        choices=FeedbackCategory.choices,
        error_messages={"required": _("Choose what it is about.")},
    )
    text = MemberTextField(
        multiline=True,
        label=_("Your feedback"),
        max_length=FEEDBACK_TEXT_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "maxlength": str(FEEDBACK_TEXT_MAX),
                "placeholder": _("What happened, or what would make the mall better?"),
            }
        ),
        error_messages={"required": _("Write a few words.")},
    )
    screenshot = forms.FileField(
        label=_("Screenshot"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, up to 5 MB."),
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        max_length=CONTACT_MAX,
        help_text=_("A phone number or e-mail address if you'd like us to reach you there too."),
    )

    def __init__(self, *args, request: HttpRequest | None = None, **kwargs) -> None:
        # The member's request, to count their uploads (accounts.uploads.rate); None counts nothing.
        self.request = request
        super().__init__(*args, **kwargs)

    @property
    def screenshot_lost(self) -> bool:
        """The form came back with a mistake elsewhere and a screenshot had been sent: a browser
        can't refill a file input, so the page asks the member to attach it again."""
        return picture_lost(self, "screenshot")

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        if len(text) < FEEDBACK_TEXT_MIN:
            raise validation_error(InvalidFeedbackError(min=FEEDBACK_TEXT_MIN, max=FEEDBACK_TEXT_MAX))
        return text

    def clean_contact(self) -> str:
        contact = self.cleaned_data["contact"].strip()
        if contact and not rules.is_contact(contact):
            raise validation_error(InvalidContactError())
        return contact

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Decoded (and counted against the member's upload budget) only when everything else is
        # valid: a post refused for its text or contact costs no upload (accounts.uploads.forms).
        picture_clean(self, "screenshot", prepare=images.screenshot_prepare, request=self.request)
        return self.cleaned_data
