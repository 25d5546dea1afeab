"""The member's lottery pages (issue #11, docs/decisions/0027-lottery.md).

- ``/lottery/``: the live, upcoming and recently finished campaigns. Public.
- ``/lottery/<id>/``: a campaign: the wheel or 9-grid, the draw button with its exact cost, the
  published odds, the pity rule, limits left, the seed hash (and the seed once revealed), my
  draws and the public winners list. Public (the terms must be readable before anyone signs
  in); drawing and the member's own parts need a sign-in.
- ``/lottery/<id>/draw/`` (POST): one ``lottery_draw`` call. With htmx it answers with the draw
  panel carrying the server's outcome in data attributes (static/js/lottery.js turns the wheel
  to it) and the header balance out of band; without JavaScript it redirects back with the
  result as a message. A refusal writes nothing and is shown with the error's status (htmx: a
  200 panel with the ``X-Refusal`` header, since htmx 2 swaps no 4xx answer).
- ``/lottery/draws/``: my draws across campaigns. ``/lottery/<id>/verify/``: the proof page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lottery import selectors, services
from lottery.exceptions import CampaignNotFoundError
from lottery.member_forms import DrawForm, VerifyForm, client_seed_new, draw_key_new
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.ratelimit import rate_hit

PANEL = "lottery/partials/draw_panel.html"
DRAW_RATE_GROUP = "lottery.draw"
GRID_CELLS = 8  # the 9-grid: eight prizes around the button
# Clockwise around the 3×3 grid, starting top-left: (row, column) of each of the eight cells.
GRID_RING = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]
WHEEL_COLOURS = ["#d6392b", "#f5a524", "#b52a1e", "#ffd37a", "#e5533f", "#f7bd55", "#c4301f", "#ffe4a8"]


def _htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _user_id(request: HttpRequest) -> int | None:
    return request.user.pk if request.user.is_authenticated else None


def _member_id(request: HttpRequest) -> int:
    """The signed-in member's id (the views that call this are behind ``login_required``)."""
    user_id = request.user.pk
    assert isinstance(user_id, int)
    return user_id


def _page(request: HttpRequest, campaign_id: int) -> selectors.CampaignPage:
    try:
        return selectors.campaign_page(campaign_id=campaign_id, user_id=_user_id(request))
    except CampaignNotFoundError as error:
        raise Http404(error.message) from error


@dataclass(frozen=True)
class WheelSlice:
    index: int
    path: str
    colour: str
    label: str
    label_x: float
    label_y: float
    label_angle: float
    dark_label: bool
    none: bool


@dataclass(frozen=True)
class GridCell:
    order: int  # position clockwise around the ring
    row: int
    column: int
    index: int  # the prize's index in the odds table
    name: str
    none: bool


def _point(angle: float, radius: float) -> tuple[float, float]:
    """A point of the 200×200 wheel, ``angle`` degrees clockwise from the top."""
    radians = math.radians(angle)
    return round(100 + radius * math.sin(radians), 3), round(100 - radius * math.cos(radians), 3)


def _short(name: str, limit: int = 10) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def wheel_slices(prizes: list[selectors.PrizeRow]) -> list[WheelSlice]:
    """Equal slices, one per prize in the odds table's order (the odds are in the table, not the
    slice sizes), slice ``i`` spanning ``[i·360/n, (i+1)·360/n)`` clockwise from the top: the
    script turns the disc so the drawn slice's centre stops under the pointer."""
    count = max(len(prizes), 1)
    size = 360 / count
    slices = []
    for index, prize in enumerate(prizes):
        start, end = index * size, (index + 1) * size
        if count == 1:
            path = "M100 2 A98 98 0 1 1 99.999 2 Z"
        else:
            x1, y1 = _point(start, 98)
            x2, y2 = _point(end, 98)
            large = 1 if size > 180 else 0
            path = f"M100 100 L{x1} {y1} A98 98 0 {large} 1 {x2} {y2} Z"
        middle = start + size / 2
        label_x, label_y = _point(middle, 64)
        colour = "#e5e6eb" if prize.kind == "none" else WHEEL_COLOURS[index % len(WHEEL_COLOURS)]
        slices.append(
            WheelSlice(
                index=index,
                path=path,
                colour=colour,
                label=_short(prize.name),
                label_x=label_x,
                label_y=label_y,
                label_angle=round(middle, 3),
                dark_label=prize.kind == "none" or index % 2 == 1,
                none=prize.kind == "none",
            )
        )
    return slices


def grid_cells(prizes: list[selectors.PrizeRow]) -> list[GridCell]:
    """Eight cells clockwise around the button (``order``; with fewer than eight prizes they repeat
    in order), returned row by row for the template (the button goes after the fourth)."""
    if not prizes:
        return []
    cells = []
    for order, (row, column) in enumerate(GRID_RING):
        index = order % len(prizes)
        prize = prizes[index]
        cells.append(GridCell(order, row, column, index, prize.name, prize.kind == "none"))
    return sorted(cells, key=lambda cell: (cell.row, cell.column))


def _prize_index(page: selectors.CampaignPage, prize_id: int | None, picked_id: int | None = None) -> int:
    """Where the animation stops: the prize won; else the first "no prize" slice; else (a
    campaign without one, the draw fell through) the prize the number picked, which the result
    text says is gone — never another real prize."""
    for index, prize in enumerate(page.prizes):
        if prize.id == prize_id:
            return index
    for index, prize in enumerate(page.prizes):
        if prize.kind == "none":
            return index
    for index, prize in enumerate(page.prizes):
        if prize.id == picked_id:
            return index
    return 0


def _cost_label(page: selectors.CampaignPage) -> str:
    member = page.member
    if member is not None and member.free_left and member.cost_points == 0 and page.cost_points:
        return _("Free draw (%(n)s left this month)") % {"n": member.free_left}
    cost = member.cost_points if member is not None else page.cost_points
    if cost == 0:
        return _("Draw for free")
    return _("%(n)s points") % {"n": f"{cost:,}"}


def _panel_context(request: HttpRequest, page: selectors.CampaignPage, **extra) -> dict:
    user_id = _user_id(request)
    confirmation = ""
    if user_id is not None and page.status == "running" and page.member is not None and page.member.eligible:
        confirmation = services.lottery_draw_confirmation_sign(user_id=user_id, campaign_id=page.id)
    # A fresh key and confirmation on every render; a refused form keeps the member's (valid) seed.
    refused = extra.pop("form", None)
    seed = client_seed_new()
    if refused is not None and refused.is_bound and "client_seed" not in refused.errors:
        seed = str(refused.data.get("client_seed", ""))[:64] or seed
    form = DrawForm(initial={"idempotency_key": draw_key_new(), "confirmation": confirmation, "client_seed": seed})
    prizes_grid = page.style == "grid" and 0 < len(page.prizes) <= GRID_CELLS
    return {
        "page": page,
        "form": form,
        "cost_label": _cost_label(page),
        "can_draw": bool(confirmation),
        "style": "grid" if prizes_grid else "wheel",
        "slices": wheel_slices(page.prizes),
        "cells": grid_cells(page.prizes) if prizes_grid else [],
        **extra,
    }


def _context(request: HttpRequest, page: selectors.CampaignPage, **extra) -> dict:
    user_id = _user_id(request)
    context = _panel_context(request, page, **extra)
    context["draws"] = selectors.my_draws(user_id=user_id, campaign_id=page.id, limit=20) if user_id else []
    context["winners"] = selectors.winners(campaign_id=page.id, limit=20)
    return context


@require_GET
def lottery(request: HttpRequest) -> HttpResponse:
    cards = selectors.campaigns_live()
    groups = [
        ("running", _("Open now"), [c for c in cards if c.status == "running"]),
        ("upcoming", _("Coming soon"), [c for c in cards if c.status == "upcoming"]),
        ("ended", _("Finished"), [c for c in cards if c.status == "ended"]),
    ]
    return render(request, "lottery/list.html", {"groups": [g for g in groups if g[2]], "any": bool(cards)})


@require_GET
def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    page = _page(request, campaign_id)
    return render(request, "lottery/campaign.html", _context(request, page))


@require_GET
def campaign_winners(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The winners list alone: the campaign page polls it (htmx, every 15 s and after a draw)."""
    page = _page(request, campaign_id)
    winners = selectors.winners(campaign_id=page.id, limit=20)
    return render(request, "lottery/partials/winners.html", {"page": page, "winners": winners})


@login_required
@require_GET
def campaign_my_draws(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The member's draws in this campaign alone: refreshed when the wheel stops."""
    page = _page(request, campaign_id)
    draws = selectors.my_draws(user_id=_member_id(request), campaign_id=page.id, limit=20)
    return render(request, "lottery/partials/my_campaign_draws.html", {"page": page, "draws": draws})


def _refused(request: HttpRequest, page: selectors.CampaignPage, code: str, text: str, status: int, form=None):
    """The refusal: the page with the error's status, or for htmx the panel with the message.

    htmx 2 swaps no 4xx answer, so the panel comes back as a 200 with the message in it (the
    refusal's code is in the ``X-Refusal`` header). Either way the form is rendered afresh: a new
    key and a confirmation of the cost as it is now (after a price change: the new cost).
    """
    extra = {"error": text, "error_code": code, "form": form}
    if _htmx(request):
        response = render(request, PANEL, _panel_context(request, page, **extra))
        response["X-Refusal"] = code
        return response
    return render(request, "lottery/campaign.html", _context(request, page, **extra), status=status)


def _result_text(result: services.DrawResult) -> str:
    return result.message or (
        _("You won %(prize)s!") % {"prize": result.prize_name} if result.prize_id else _("No prize this time.")
    )


@login_required
@require_POST
def draw(request: HttpRequest, campaign_id: int) -> HttpResponse:
    # Past the rate: 429 (pointsmall.throttle), nothing drawn nor written (docs/decisions/0051).
    rate_hit(request, group=DRAW_RATE_GROUP, key="user", rate=settings.DRAW_RATE_LIMIT)
    page = _page(request, campaign_id)
    user_id = _member_id(request)
    form = DrawForm(request.POST)
    try:  # "not open now" before any form or confirmation check
        services.lottery_draw_open_check(campaign_id=page.id)
    except DomainError as error:
        return _refused(request, page, error.code, error.message, error.http_status, form=form)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        text = str(errors[0]) if field == "client_seed" else _("This draw form is out of date. Please try again.")
        return _refused(request, page, f"lottery_form_{field}", text, 400, form=form)
    data = form.cleaned_data
    try:
        confirmed = services.lottery_draw_confirmation_read(
            token=data["confirmation"], user_id=user_id, campaign_id=page.id
        )
        result = services.lottery_draw(
            user_id=user_id,
            campaign_id=page.id,
            idempotency_key=f"{user_id}:{data['idempotency_key']}",
            client_seed=data["client_seed"],
            confirmed=confirmed,
        )
    except CampaignNotFoundError as error:
        raise Http404(error.message) from error
    except DomainError as error:
        # The page again, read after the refusal: a price change shows the new cost and a fresh confirmation.
        return _refused(request, _page(request, campaign_id), error.code, error.message, error.http_status, form=form)
    if _htmx(request):
        page = _page(request, campaign_id)  # counters, stock and balance after the draw
        context = _panel_context(
            request,
            page,
            result=result,
            result_text=_result_text(result),
            result_index=_prize_index(page, result.prize_id, result.picked_id),
            header_follows=True,
        )
        return render(request, PANEL, context)
    if result.prize_id is not None and result.prize_kind != "none":
        messages.success(request, _result_text(result))
    else:
        messages.info(request, _result_text(result))
    return redirect("lottery_campaign", campaign_id=page.id)


@login_required
@require_GET
def my_draws(request: HttpRequest) -> HttpResponse:
    draws = selectors.my_draws(user_id=_member_id(request), limit=100)
    return render(request, "lottery/my_draws.html", {"draws": draws})


@require_GET
def verify(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The proof page. The "recompute one draw" form is a GET: it computes, it writes nothing."""
    page = _page(request, campaign_id)
    proof = selectors.draw_proof(campaign_id=page.id)
    form = VerifyForm(request.GET or None)
    recomputed = None
    if form.is_bound and form.is_valid():
        recomputed = selectors.draw_verify(**form.cleaned_data)
    return render(
        request, "lottery/verify.html", {"page": page, "proof": proof, "form": form, "recomputed": recomputed}
    )
