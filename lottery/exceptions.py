"""Refusals of the lottery, each with a code and a message a member or operator can read.
The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError


class CampaignNotFoundError(DomainError):
    """Unknown, or not published yet: members cannot tell the two apart."""

    code = "lottery_campaign_not_found"
    http_status = 404
    default_message = _("This prize draw is not available.")


class CampaignNotRunningError(DomainError):
    code = "lottery_campaign_not_running"
    http_status = 409
    default_message = _("This prize draw is not open now (%(window)s).")


class CampaignInvalidError(DomainError):
    """The campaign cannot be published: ``problems`` lists every reason (translated strings)."""

    code = "lottery_campaign_invalid"
    default_message = _("The campaign can't be published: %(problems)s")

    def __init__(self, message=None, *, problems: list[str]) -> None:
        self.problems = [str(problem) for problem in problems]
        super().__init__(message, problems="; ".join(self.problems))


class CampaignFrozenError(DomainError):
    code = "lottery_campaign_frozen"
    http_status = 409
    default_message = _("This campaign is published: its terms and prizes can no longer change.")


class NotEligibleError(DomainError):
    code = "lottery_not_eligible"
    http_status = 403
    default_message = _("You can't take part in this prize draw: %(reason)s")


class DailyDrawLimitError(DomainError):
    code = "lottery_daily_limit"
    http_status = 429
    default_message = _("You have used all %(limit)s draws of today. Come back tomorrow.")


class CampaignDrawLimitError(DomainError):
    code = "lottery_campaign_limit"
    http_status = 409
    default_message = _("You have used all %(limit)s draws of this campaign.")


class AddressRequiredError(DomainError):
    code = "lottery_address_required"
    http_status = 409
    default_message = _("This draw has physical prizes: add a delivery address before drawing.")


class DrawNotFoundError(DomainError):
    code = "lottery_draw_not_found"
    http_status = 404
    default_message = _("No such draw.")
