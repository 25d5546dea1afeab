"""The staff's audit pages (thin: permission, the object, one selector, the admin's frame)."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from catalog.models import Product
from pointsmall.audit import selectors

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
        "subtitle": str(obj),
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
