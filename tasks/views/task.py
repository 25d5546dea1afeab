"""Pages of tasks and surveys: the member's task list, its actions (POST, then back to the
list), a survey's form and a visit task's link. Thin: one service per request."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import viewer_status
from pointsmall.kernel.errors import DomainError, form_error, message_error
from tasks import selectors, services
from tasks.exceptions import (
    SurveyAnswerInvalidError,
    SurveyAnswerMissingError,
    SurveyAnswerTooLongError,
    TaskNotFoundError,
)
from tasks.rules import task as rules
from tasks.rules.task import TEXT_ANSWER_MAX

ACTIONS = {
    "start": (services.task_start, gettext_lazy("Task started.")),
    "pause": (services.task_pause, gettext_lazy("Task paused.")),
    "resume": (services.task_resume, gettext_lazy("Task resumed.")),
    "cancel": (services.task_cancel, gettext_lazy("Task cancelled.")),
    "restart": (services.task_restart, gettext_lazy("Task restarted.")),
}


def _me(request: HttpRequest) -> int:
    """The signed-in member's id (every view here is behind login_required)."""
    pk = request.user.pk
    assert pk is not None
    return int(pk)


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    status = viewer_status(request)  # read once per request, the header shows it too
    tier_code = status.tier.code if status is not None and status.tier is not None else None
    groups = selectors.task_list(user_id=_me(request), tier_code=tier_code)
    return render(request, "tasks/task_list.html", {"groups": groups})


@login_required
@require_POST
def task_action(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    """Start, pause, resume, cancel or restart a task, then back to the list (PRG)."""
    if action not in ACTIONS:
        raise Http404
    service, done = ACTIONS[action]
    try:
        service(user_id=_me(request), task_id=task_id)
    except TaskNotFoundError:
        raise Http404 from None
    except DomainError as error:
        message_error(request, error)
    else:
        messages.success(request, str(done))
    return redirect("task_list")


@login_required
@require_POST
def task_claim(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        result = services.task_claim(user_id=_me(request), task_id=task_id)
    except TaskNotFoundError:
        raise Http404 from None
    except DomainError as error:
        message_error(request, error)
    else:
        pending = result.receipt is not None and result.receipt.pending_amount > 0
        day = selectors.reward_vests_on(user_id=_me(request), task_id=task_id) if pending else None
        if result.granted and day is not None:
            messages.success(
                request,
                _("Your %(points)s points are on their way: you can spend them from %(day)s.")
                % {"points": result.granted, "day": day.isoformat()},
            )
        elif result.granted and pending:
            messages.success(request, _("Your %(points)s points are on their way.") % {"points": result.granted})
        elif result.granted:
            messages.success(request, _("You earned %(points)s points.") % {"points": result.granted})
        if result.message:
            messages.warning(request, result.message)
    return redirect("task_list")


@login_required
@require_POST
def task_visit(request: HttpRequest, task_id: int) -> HttpResponse:
    """Complete a visit task and go to its page or link."""
    try:
        url = services.task_visit(user_id=_me(request), task_id=task_id)
    except TaskNotFoundError:
        raise Http404 from None
    except DomainError as error:
        message_error(request, error)
        return redirect("task_list")
    return redirect(url)


class SurveyForm(forms.Form):
    """One field per question, named by its id; the service checks the answers again. Each
    refusal (the form's or the service's) is shown under its question, naming what is wrong."""

    def __init__(self, *args, questions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for q in questions:
            name = str(q.id)
            choices = [(str(i), text) for i, text in enumerate(q.choices)]
            # Django formats these messages with %(value)s: a "%" in the question stays a "%".
            invalid = str(SurveyAnswerInvalidError(question=q.text)).replace("%", "%%")
            if q.kind == "multiple":
                field: forms.Field = forms.MultipleChoiceField(
                    choices=choices,
                    widget=forms.CheckboxSelectMultiple,
                    required=False,
                    error_messages={"invalid_choice": invalid, "invalid_list": invalid},
                )
            elif q.kind == "single":
                field = forms.ChoiceField(
                    choices=choices,
                    widget=forms.RadioSelect,
                    required=False,
                    error_messages={"invalid_choice": invalid},
                )
            else:
                field = forms.CharField(
                    widget=forms.Textarea(attrs={"rows": 3}),
                    max_length=TEXT_ANSWER_MAX,
                    required=False,
                    error_messages={
                        "max_length": str(SurveyAnswerTooLongError(question=q.text, limit=TEXT_ANSWER_MAX)).replace(
                            "%", "%%"
                        )
                    },
                )
            field.label = q.text
            field.required = False  # required answers are refused by the service, naming the question
            self.fields[name] = field


@login_required
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        view = selectors.survey_view(user_id=_me(request), task_id=task_id)
    except TaskNotFoundError:
        raise Http404 from None
    if not rules.accepts_events(view.status):
        # Answered already (or paused, cancelled): the list says what the member may do next.
        messages.info(request, _("This survey can't be answered now: see its status below."))
        return redirect("task_list")
    form = SurveyForm(request.POST or None, questions=view.questions)
    if request.method == "POST" and form.is_valid():
        answers = dict(form.cleaned_data)
        try:
            services.survey_submit(user_id=_me(request), task_id=task_id, answers=answers)
        except (SurveyAnswerMissingError, SurveyAnswerInvalidError, SurveyAnswerTooLongError) as error:
            question_id = error.params.get("question_id")
            form_error(form, error, str(question_id) if str(question_id) in form.fields else None)
        except DomainError as error:
            message_error(request, error)
            return redirect("task_list")
        else:
            messages.success(request, _("Thank you for your answers. Claim your reward below."))
            return redirect("task_list")
    return render(request, "tasks/survey.html", {"survey": view, "form": form})
