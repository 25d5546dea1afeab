"""The admin actions that freeze and unfreeze members' points accounts (docs/decisions/0055).

Like Django's delete confirmation, the action first answers a page that asks for the reason;
the page posts the same action back with the reason, and each member then goes through
``accounts.services.account_freeze``/``account_unfreeze`` on their own (a refused one is
listed, the others go through).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import selectors, services
from accounts.models import User
from points.services import MAX_FREEZE_REASON_CHARS
from pointsmall.kernel.admin import apply_to_selected

FREEZE_PERMISSION = "accounts.freeze_account"


class FreezeReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("Why: the member reads it in their inbox, and it stays in the freeze history."),
        max_length=MAX_FREEZE_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


def _refusal(request: HttpRequest, member: User, actor_id: int) -> str | None:
    """Why this operator may not freeze or unfreeze ``member``, or None. Nobody acts on their own
    account; only a superuser acts on a back-office account (``selectors.privileged_q``: the member
    admin lets only a superuser edit, block or delete one, docs/decisions/0013)."""
    if member.pk == actor_id:
        return str(_("this is your own account; another operator must do it."))
    if not request.user.is_superuser and User.objects.filter(selectors.privileged_q(), pk=member.pk).exists():
        return str(_("this is a staff account; only a superuser may do it."))
    return None


def freeze_action(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, user_ids: Iterable[int], *, freezing: bool
) -> TemplateResponse | None:
    """Ask for the reason (a page), or, when it came with the POST, freeze (``freezing``) or
    unfreeze each member of ``user_ids``. Nobody acts on their own account (the service refuses
    too). Raises PermissionDenied without ``accounts.freeze_account``."""
    if not request.user.has_perm(FREEZE_PERMISSION):
        raise PermissionDenied
    members = list(User.objects.filter(pk__in=set(user_ids)).order_by("pk"))
    form = FreezeReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        service = services.account_freeze if freezing else services.account_unfreeze
        reason = form.cleaned_data["reason"]
        actor_id = request.user.pk
        assert actor_id is not None  # logged-in staff: has_perm above passed
        apply_to_selected(
            modeladmin,
            request,
            members,
            lambda member: service(user_id=member.pk, actor_id=actor_id, reason=reason),
            refuse=lambda member: _refusal(request, member, actor_id),
            refused_message=lambda member, why: f"{member}: {why}",
            done_message=lambda n: (
                (
                    ngettext("%(n)s points account frozen.", "%(n)s points accounts frozen.", n)
                    if freezing
                    else ngettext("%(n)s points account unfrozen.", "%(n)s points accounts unfrozen.", n)
                )
                % {"n": n}
            ),
        )
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Freeze points accounts") if freezing else _("Unfreeze points accounts"),
        "explanation": _("These members will neither earn nor spend points until their account is unfrozen:")
        if freezing
        else _("These members will earn and spend points again:"),
        "members": members,
        "form": form,
        "opts": opts,
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/accounts/freeze_confirm.html", context)
