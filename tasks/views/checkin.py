"""The member's check-in page: calendar, streak, check-in button, make-ups, reminder.

Each POST is one service call. With htmx it answers with the panel partial (the button
updates in place); without JavaScript it redirects back with a flash message. A refusal
is shown with the error's HTTP status and nothing is written.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from points.exceptions import ConfirmationInvalidError
from pointsmall.kernel.errors import DomainError
from tasks import selectors, services
from tasks.exceptions import MakeupDayError, MakeupPaymentError
from tasks.rate import checkin_rate_hit

PANEL = "tasks/partials/checkin_panel.html"
REMINDER = "tasks/partials/checkin_reminder.html"


class MakeupForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])
    pay_with = forms.ChoiceField(
        choices=[(services.PAY_WITH_POINTS, gettext_lazy("Points")), (services.PAY_WITH_CARD, gettext_lazy("Card"))]
    )
    confirmation = forms.CharField(required=False, max_length=1000)

    # The refusal each invalid field gets, in this order: the day, the payment, the token.
    FIELD_ERRORS = (
        ("day", MakeupDayError),
        ("pay_with", MakeupPaymentError),
        ("confirmation", ConfirmationInvalidError),
    )

    def refusal(self) -> DomainError:
        """The domain error naming the first invalid field (call after ``is_valid()`` is False)."""
        for field, error in self.FIELD_ERRORS:
            if field in self.errors:
                return error()
        return MakeupDayError()  # pragma: no cover - every field has its error above


class ReminderForm(forms.Form):
    enabled = forms.BooleanField(required=False, label=gettext_lazy("Remind me daily"))
    hour = forms.TypedChoiceField(coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], label=gettext_lazy("At"))


def _htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    # A history restore asks for the whole page: htmx has nothing cached to put the fragment into.
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _member_id(request: HttpRequest) -> int:
    """The signed-in member's id (every view here is behind ``login_required``)."""
    user_id = request.user.pk
    assert isinstance(user_id, int)
    return user_id


def _context(request: HttpRequest, **extra) -> dict:
    page = selectors.checkin_page(user_id=_member_id(request), joined_at=getattr(request.user, "date_joined", None))
    reminder_form = extra.pop("reminder_form", None) or ReminderForm(
        initial={"enabled": page.reminder_enabled, "hour": page.reminder_hour}
    )
    return {"page": page, "reminder_form": reminder_form, **extra}


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The refusal: the whole page with the error's status, or for htmx the panel with the message.

    htmx 2 does not swap a 4xx answer into the page, so the panel comes back as a 200 with
    the message in it (the refusal is still in the ``X-Refusal`` header for tools and tests).
    """
    if _htmx(request):
        response = render(request, PANEL, _context(request, error=error))
        response["X-Refusal"] = error.code
        return response
    return render(request, "tasks/checkin.html", _context(request, error=error), status=error.http_status)


@login_required
@require_GET
def checkin(request: HttpRequest) -> HttpResponse:
    return render(request, "tasks/checkin.html", _context(request))


def _success_text(result: services.CheckinResult) -> str:
    total = result.points + result.bonus_points
    if result.makeup:
        return ngettext("%(day)s made up: +%(points)s point.", "%(day)s made up: +%(points)s points.", total) % {
            "day": result.day.isoformat(),
            "points": total,
        }
    return ngettext(
        "Checked in: +%(points)s point. Streak: %(streak)s days.",
        "Checked in: +%(points)s points. Streak: %(streak)s days.",
        total,
    ) % {"points": total, "streak": result.streak}


def _done(request: HttpRequest, result: services.CheckinResult) -> HttpResponse:
    if _htmx(request):
        # The panel, and the header's balance swapped out of band: the points just paid show at once.
        return render(request, PANEL, _context(request, result=result, header_follows=True))
    if result.already and result.makeup:
        # A repeated make-up of a past day: not "today".
        messages.info(request, _("You already checked in on %(day)s.") % {"day": result.day.isoformat()})
    elif result.already:
        messages.info(request, _("You have already checked in today."))
    else:
        messages.success(request, _success_text(result))
    return redirect("checkin")


@login_required
@require_POST
def checkin_record(request: HttpRequest) -> HttpResponse:
    # Past a rate: 429 (pointsmall.throttle), nothing written; a scripted run is flagged (tasks.rate).
    checkin_rate_hit(request=request, user_id=_member_id(request))
    try:
        result = services.checkin_record(user_id=_member_id(request))
    except DomainError as error:
        return _refused(request, error)
    return _done(request, result)


@login_required
@require_POST
def checkin_makeup(request: HttpRequest) -> HttpResponse:
    checkin_rate_hit(request=request, user_id=_member_id(request))
    form = MakeupForm(request.POST)
    if not form.is_valid():
        return _refused(request, form.refusal())
    data = form.cleaned_data
    try:
        # The service checks the day before it reads the confirmation (a token only for points).
        token = data["confirmation"] if data["pay_with"] == services.PAY_WITH_POINTS else None
        result = services.checkin_makeup(
            user_id=_member_id(request), day=data["day"], pay_with=data["pay_with"], confirmation=token
        )
    except DomainError as error:
        return _refused(request, error)
    return _done(request, result)


@login_required
@require_POST
def checkin_reminder(request: HttpRequest) -> HttpResponse:
    form = ReminderForm(request.POST)
    if form.is_valid():
        try:
            services.checkin_reminder_set(
                user_id=_member_id(request), enabled=form.cleaned_data["enabled"], hour=form.cleaned_data["hour"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
    status = 200 if form.is_valid() else 400
    if _htmx(request):
        # A 200 either way: htmx swaps no 4xx answer, and the form shows its own errors.
        saved = status == 200
        return render(request, REMINDER, _context(request, reminder_form=None if saved else form, saved=saved))
    if status == 200:
        messages.success(request, _("Reminder settings saved."))
        return redirect("checkin")
    return render(request, "tasks/checkin.html", _context(request, reminder_form=form), status=status)
