"""The staff's audit pages (thin: permission, the object, one selector, the admin's frame)."""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Product
from pointsmall.audit import selectors
from pointsmall.kernel.masking import mask_contacts_in
from pointsmall.kernel.pii import may_unmask, pii_revealed

PERMISSION = "audit.view_audit"


def audit_allowed(user) -> bool:
    """Active staff with the "view the audit pages" permission (superusers have every permission)."""
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


def _render(request: HttpRequest, *, obj, title: str, timeline: selectors.Timeline) -> HttpResponse:
    opts = obj._meta
    try:
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        change_url = ""
    context = {
        **admin.site.each_context(request),
        "title": title,
        # A member's name may be their e-mail address: masked like the rest of the back office.
        "subtitle": mask_contacts_in(str(obj)),
        "opts": opts,
        "object": obj,
        "change_url": change_url,
        "timeline": timeline,
    }
    response = TemplateResponse(request, "admin/audit/timeline.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


def member_audit(request: HttpRequest, user_id: int) -> HttpResponse:
    """``/admin/audit-trail/member/<id>/``: everything recorded about a member, newest first."""
    if not audit_allowed(request.user):
        raise PermissionDenied
    member = get_object_or_404(get_user_model(), pk=user_id)
    timeline = selectors.member_timeline(user_id=member.pk, page=selectors.page_number(request.GET.get("page")))
    return _render(request, obj=member, title=_("Audit trail of a member"), timeline=timeline)


def object_audit(request: HttpRequest, app_label: str, model_name: str, object_id: str) -> HttpResponse:
    """``/admin/audit-trail/<app>/<model>/<id>/``: a product's or a rule's, campaign's or policy's
    recorded changes. Only models the admin shows and that keep a history (404 otherwise)."""
    if not audit_allowed(request.user):
        raise PermissionDenied
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as error:
        raise Http404 from error
    if not admin.site.is_registered(model) or not selectors.has_history(model):
        raise Http404
    try:
        obj = model._default_manager.filter(pk=object_id).first()
    except (ValueError, TypeError) as error:
        raise Http404 from error
    if obj is None:
        raise Http404
    page = selectors.page_number(request.GET.get("page"))
    if isinstance(obj, Product):
        timeline = selectors.product_timeline(product_id=obj.pk, page=page)
    else:
        timeline = selectors.object_timeline(obj=obj, page=page)
    return _render(
        request, obj=obj, title=_("Audit trail of %(what)s") % {"what": model._meta.verbose_name}, timeline=timeline
    )


# The records whose contact data a reveal shows: (app label, model) → (the member's id field,
# the fields revealed). The province, city and district of an address are never masked.
REVEALABLE = {
    ("accounts", "user"): ("pk", ("email", "phone")),
    ("accounts", "address"): ("user_id", ("recipient", "phone", "detail")),
    ("catalog", "order"): ("member_id", ("recipient", "phone", "address")),
}


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why do you need the full data?"),
        max_length=200,
        help_text=gettext_lazy("Recorded in the member's audit trail with your name, e.g. “shipping order #123”."),
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        # Not only punctuation or invisible characters ("\u200b", "."): the record must say why.
        if not any(character.isalnum() for character in reason):
            raise forms.ValidationError(_("A reason is required."))
        return reason


def pii_reveal(request: HttpRequest, app_label: str, model_name: str, object_id: str) -> HttpResponse:
    """``/admin/audit-trail/reveal/<app>/<model>/<id>/``: GET asks why; POST with a reason records
    the reveal (who, whose, which record and fields, why: ``PiiReveal``) and answers with the
    record's full contact data, once: it is in no other page, and not cached. Only active staff
    holding ``accounts.unmask_pii`` (403); a record that has no contact data to reveal: 404."""
    if not may_unmask(request.user):
        raise PermissionDenied
    if (app_label, model_name) not in REVEALABLE:
        raise Http404
    owner_field, fields = REVEALABLE[app_label, model_name]
    model = apps.get_model(app_label, model_name)
    if not (object_id.isascii() and object_id.isdigit()):  # "²" and "١" are digits to isdigit(), not to int()
        raise Http404
    obj = get_object_or_404(model, pk=object_id)
    form = RevealForm(request.POST if request.method == "POST" else None)
    revealed: list[tuple[str, str]] = []
    if form.is_valid():
        with transaction.atomic():
            pii_revealed.send(
                sender=model,
                actor_id=request.user.pk,
                user_id=getattr(obj, owner_field),
                target=f"{app_label}.{model_name}",
                object_id=str(obj.pk),
                fields=list(fields),
                reason=form.cleaned_data["reason"],
            )
        revealed = [(str(model._meta.get_field(name).verbose_name), getattr(obj, name) or "—") for name in fields]
    context = {
        **admin.site.each_context(request),
        "title": _("Full contact data"),
        "subtitle": f"{model._meta.verbose_name} #{obj.pk}",
        "opts": model._meta,
        "object": obj,
        "change_url": reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]),
        "form": form,
        "revealed": revealed,
    }
    response = TemplateResponse(request, "admin/audit/reveal.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
