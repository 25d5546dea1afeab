"""Refusals of the content app (announcements, banners, feedback)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pointsmall.kernel.errors import DomainError


class AnnouncementNotFoundError(DomainError):
    code = "announcement_not_found"
    default_message = _("This announcement does not exist or is not shown to you.")
    http_status = 404


class InvalidBannerLinkError(DomainError):
    code = "banner_link_invalid"
    default_message = _("Enter a path on this site (like /mall/) or an https:// address.")


class InvalidFeedbackError(DomainError):
    code = "feedback_invalid"
    default_message = _("Describe the problem or idea in %(min)s to %(max)s characters.")


class InvalidContactError(DomainError):
    code = "feedback_contact_invalid"
    default_message = _("Enter a phone number or an e-mail address, or leave it empty.")


class FeedbackNotFoundError(DomainError):
    code = "feedback_not_found"
    default_message = _("This feedback does not exist.")
    http_status = 404


class InvalidFeedbackReplyError(DomainError):
    code = "feedback_reply_invalid"
    default_message = _("The reply must be at most %(max)s characters.")


class FeedbackReplyWithdrawalError(DomainError):
    code = "feedback_reply_withdrawal"
    default_message = _(
        "A reply can't be withdrawn once it was sent to the member's inbox. "
        "Write a correction instead (the new text is sent as a new reply)."
    )


class FeedbackRateLimitedError(DomainError):
    code = "feedback_rate_limited"
    default_message = _("You have sent a lot of feedback in a short time. Try again later.")
    http_status = 429

    def __init__(self, *, minutes: int) -> None:
        self.minutes = minutes
        message = ngettext(
            "You have sent a lot of feedback in a short time. Try again in %(minutes)s minute.",
            "You have sent a lot of feedback in a short time. Try again in %(minutes)s minutes.",
            minutes,
        )
        super().__init__(message, minutes=minutes)
