"""Stored texts of the content app: the inbox message of an announcement and of an operator's
reply to feedback, rendered in the reader's language when read (points.notices, docs/decisions/0019).

points.notices autodiscovers this module (``autodiscover_modules("notices")`` imports
``pointsmall.content.notices`` from the app's dotted name)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from points.notices import Notice, Params, Text, bilingual, localized, register
from pointsmall.content.enums import FeedbackCategory, FeedbackStatus

ANNOUNCEMENT = "content.announcement"
FEEDBACK_REPLY = "content.feedback_reply"


def announcement(*, title_zh: str, title_en: str) -> Notice:
    """Inbox message of a published announcement: its title in both languages; the link opens it."""
    return Notice(ANNOUNCEMENT, {"title": bilingual(zh=title_zh, en=title_en or title_zh)})


def feedback_reply(*, feedback_id: int, category: str, status: str, reply: str) -> Notice:
    """Inbox message of an operator's reply to the member's feedback; the reply is the operator's own words."""
    return Notice(FEEDBACK_REPLY, {"feedback": feedback_id, "category": category, "status": status, "reply": reply})


@register(ANNOUNCEMENT, inbox=True, sample={"title": {"zh": "本周末积分翻倍", "en": "Double points this weekend"}})
def _announcement(params: Params) -> Text:
    title = localized(params["title"])
    return Text(_("Announcement: %(title)s") % {"title": title}, _("Open the announcement to read it."))


@register(
    FEEDBACK_REPLY,
    inbox=True,
    sample={"feedback": 42, "category": "redemption", "status": "resolved", "reply": "Thank you, fixed."},
)
def _feedback_reply(params: Params) -> Text:
    category = FeedbackCategory(params["category"]).label
    status = FeedbackStatus(params["status"]).label
    return Text(
        _("Reply to your feedback #%(id)s (%(category)s)") % {"id": params["feedback"], "category": category},
        _("Status: %(status)s. %(reply)s") % {"status": status, "reply": params["reply"]},
    )
