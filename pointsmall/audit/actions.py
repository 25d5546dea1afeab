"""Every admin action leaves a LogEntry per selected row (docs/decisions/0053-audit-trail.md).

Django logs what its forms save and what "delete selected" deletes, but not what a custom
action does. Rather than ask every ModelAdmin (ours and third-party ones) to remember, the
actions each admin offers are wrapped once at start-up: an action that did its work (it
returned nothing or a redirect) writes one CHANGE LogEntry for each row that was selected,
naming the action. An action that answers with a page (a confirmation form, a CSV file) is
not logged then; the form's submission runs the action again and is logged then.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpRequest
from django.http.response import HttpResponseRedirectBase
from django.utils import translation

WRAPPED = "_audit_logged"
LOGGED_BY_DJANGO = {"delete_selected"}  # Django logs each deletion itself


def action_message(name: str, description: Any) -> str:
    """The stored change message, in English (LogEntry keeps plain text): 'Action "…" (name)'."""
    with translation.override("en"):
        return f'Ran the action "{description}" ({name})'


def _logged(func, name: str, description: Any):
    @functools.wraps(func)
    def run(modeladmin, request: HttpRequest, queryset):
        # The selection, read before the action changes the rows (a filtered change list's
        # queryset may no longer match them afterwards).
        pks = list(queryset.values_list("pk", flat=True))
        response = func(modeladmin, request, queryset)
        if pks and request.user.pk is not None and (response is None or isinstance(response, HttpResponseRedirectBase)):
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=queryset.model._default_manager.filter(pk__in=pks).order_by("pk"),
                action_flag=CHANGE,
                change_message=action_message(name, description),
            )
        return response

    setattr(run, WRAPPED, True)
    return run


def _wrap(model_admin) -> None:
    get_actions = model_admin.get_actions
    if getattr(get_actions, WRAPPED, False):
        return

    @functools.wraps(get_actions)
    def logged_actions(request: HttpRequest) -> dict:
        return {
            key: (func if key in LOGGED_BY_DJANGO else _logged(func, name, description), name, description)
            for key, (func, name, description) in get_actions(request).items()
        }

    setattr(logged_actions, WRAPPED, True)
    model_admin.get_actions = logged_actions


def log_admin_actions(site) -> None:
    """Wrap the actions of every ModelAdmin registered on ``site``. Safe to call twice."""
    for model_admin in site._registry.values():
        _wrap(model_admin)
