"""Member pages of the content app: an announcement, and the feedback form with "my feedback"."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pointsmall.content import rate, selectors, services
from pointsmall.content.exceptions import (
    AnnouncementNotFoundError,
    FeedbackNotFoundError,
    FeedbackRateLimitedError,
)
from pointsmall.content.forms import FeedbackForm
from pointsmall.content.storage import private_storage
from pointsmall.kernel.errors import DomainError, error_response, form_error


def announcement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user_id = request.user.pk if request.user.is_authenticated else None
    try:
        announcement = selectors.announcement_detail(announcement_id=pk, user_id=user_id)
    except AnnouncementNotFoundError as error:
        raise Http404(error.message) from None
    return render(request, "content/announcement_detail.html", {"announcement": announcement})


@login_required
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest) -> HttpResponse:
    member_id = cast(int, request.user.pk)  # login_required: a member
    form = FeedbackForm(request=request)
    if request.method == "POST":
        context = {"form": form, "feedback_list": selectors.feedback_of_member(member_id=member_id)}
        try:
            rate.feedback_check(request=request)
        except FeedbackRateLimitedError as error:
            return error_response(request, error, "content/feedback.html", context)
        form = FeedbackForm(request.POST, request.FILES, request=request)
        if form.is_valid():
            try:
                services.feedback_submit(
                    member_id=member_id,
                    category=form.cleaned_data["category"],
                    text=form.cleaned_data["text"],
                    contact=form.cleaned_data["contact"],
                    screenshot=form.cleaned_data["screenshot"],
                )
            except DomainError as error:
                form_error(form, error)
            else:
                # Only accepted feedback counts toward FEEDBACK_RATE_LIMIT (rate.py).
                rate.feedback_count(request=request)
                messages.success(request, _("Thank you! We read every message and reply in your inbox."))
                return redirect("feedback")
    feedback_list = selectors.feedback_of_member(member_id=member_id)
    return render(request, "content/feedback.html", {"form": form, "feedback_list": feedback_list})


@login_required
@require_http_methods(["GET", "HEAD"])
def feedback_screenshot(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A feedback screenshot, for the member who sent it or staff allowed to view feedback; a
    404 for anyone else (it may show a balance, an address, a phone number)."""
    user = request.user
    staff_may_view = user.is_staff and user.has_perm("content.view_feedback")
    try:
        shot = selectors.feedback_screenshot(feedback_id=pk, user_id=cast(int, user.pk), staff_may_view=staff_may_view)
        stored = private_storage().open(shot.name, "rb")
    except (FeedbackNotFoundError, FileNotFoundError):
        raise Http404 from None
    response = FileResponse(stored, content_type=shot.content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
