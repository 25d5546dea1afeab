from __future__ import annotations

import json
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.exceptions import DeletionNotConfirmedError, DeletionPasswordIncorrectError
from points import selectors as points_selectors
from pointsmall.kernel.errors import DomainError, form_error, message_error
from pointsmall.kernel.ratelimit import rate_hit
from pointsmall.privacy import selectors, services
from pointsmall.privacy.forms import AccountDeleteForm


def privacy_policy(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/policy.html")


@login_required
@require_http_methods(["GET", "POST"])
def data_export(request: HttpRequest) -> HttpResponse:
    """GET: the page with the button. POST: the member's own data as a JSON file."""
    if request.method == "GET":
        return render(request, "privacy/export.html")
    data = selectors.member_data_export(user_id=cast(int, request.user.pk))  # login_required: a member
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"points-mall-my-data-{timezone.localdate():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    user = cast(AbstractBaseUser, request.user)  # login_required: a member
    user_id = cast(int, user.pk)
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The password is checked here: without a limit a stolen session could guess it (found by
        # review). Past the limit pointsmall.throttle answers 429; nothing is checked or written.
        rate_hit(request, group="privacy.account-delete", key="user", rate=settings.ACCOUNT_DELETE_RATE_LIMIT)
        try:
            result = services.member_delete(
                user_id=user_id,
                password=form.cleaned_data["password"],
                confirmation=form.cleaned_data["confirmation"],
            )
        except DeletionPasswordIncorrectError as error:
            form_error(form, error, "password")
        except DeletionNotConfirmedError as error:
            form_error(form, error, "confirmation")
        except DomainError as error:
            message_error(request, error)
        else:
            logout(request)
            messages.success(
                request,
                _("Your account was deleted. %(points)s points were forfeited.") % {"points": result.forfeited},
            )
            return redirect("home")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "privacy/delete.html",
        {
            "form": form,
            "forfeit": points_selectors.forfeitable_points(user_id=user_id),
            "has_password": user.has_usable_password(),
        },
        status=status,
    )
