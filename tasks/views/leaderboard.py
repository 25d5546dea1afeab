"""The leaderboard page (积分排行榜): signed-in members read the latest snapshot; nothing is written."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from tasks import selectors
from tasks.models import Board


@login_required
@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    assert user_id is not None  # login_required
    # django_htmx's middleware sets request.htmx; HttpRequest's stubs do not know it.
    htmx: HtmxDetails = request.htmx  # type: ignore[attr-defined]
    # No board named: the week's. An unknown board is a 404, like any unknown id (decision 0026).
    board = request.GET.get("board") or Board.WEEK
    if board not in Board.values:
        raise Http404("unknown leaderboard")
    context = {
        "view": selectors.leaderboard_view(user_id=user_id, board=board),
        "boards": Board.choices,
    }
    template = "tasks/partials/leaderboard_board.html" if htmx else "tasks/leaderboard.html"
    return render(request, template, context)
