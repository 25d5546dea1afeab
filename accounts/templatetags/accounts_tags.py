"""Template helpers for pages that show member state outside the accounts views (the account nav)."""

from __future__ import annotations

from django import template

from accounts import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread_count(context) -> int:
    """The signed-in member's unread messages; 0 for visitors. One indexed count query per page:
    the header and the account nav both show it, so it is kept on the request once counted."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    if not hasattr(request, "_pointsmall_unread"):
        request._pointsmall_unread = selectors.notification_unread_count(user_id=user.pk)
    return request._pointsmall_unread


@register.filter
def startswith(value: str, prefix: str) -> bool:
    """For the account nav: a section stays highlighted on its sub-pages (/me/addresses/12/edit/)."""
    return str(value).startswith(str(prefix))
