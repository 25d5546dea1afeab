from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from points import selectors as points_selectors


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    summary = points_selectors.balance_summary(user_id=request.user.pk)
    return render(request, "accounts/overview.html", {"summary": summary})
