"""The points history's date sheet: quick ranges, a custom range, and each bad value ignored and said."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict
from django.urls import reverse

from points import rules, services
from points.forms import history_filters
from points.models import Entry

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 5, 31)


def _filters(query: str):
    return history_filters(QueryDict(query), today=TODAY)


@pytest.mark.parametrize(
    ("key", "first"),
    [("7d", date(2026, 5, 25)), ("30d", date(2026, 5, 2)), ("3m", date(2026, 3, 1))],
)
def test_quick_ranges_end_today(key, first):
    assert rules.history_range(today=TODAY, key=key) == (first, TODAY)


def test_three_months_back_from_a_long_month_lands_on_the_shorter_months_end():
    assert rules.history_range(today=date(2026, 5, 31), key="3m")[0] == date(2026, 3, 1)
    assert rules.history_range(today=date(2026, 2, 28), key="3m")[0] == date(2025, 11, 29)


def test_a_quick_range_wins_over_dates():
    filters = _filters("range=7d&date_from=2020-01-01&kind=earned")

    assert (filters.range, filters.date_from, filters.date_to, filters.kind) == (
        "7d",
        date(2026, 5, 25),
        TODAY,
        "earned",
    )
    assert filters.ignored == ()


@pytest.mark.parametrize(
    ("query", "kept", "said"),
    [
        (
            "date_from=2026-13-45&date_to=2026-05-01",
            (None, date(2026, 5, 1)),
            "The start date “2026-13-45” is not a date, so it was ignored.",
        ),
        (
            "date_from=2026-05-01&date_to=05/20/2026",
            (date(2026, 5, 1), None),
            "The end date “05/20/2026” is not a date, so it was ignored.",
        ),
        (
            "date_from=2026-05-01&date_to=9999-12-31",
            (date(2026, 5, 1), None),
            "The end date 9999-12-31 is in the future, so it was ignored.",
        ),
        (
            "date_from=2026-06-01",
            (None, None),
            "The start date 2026-06-01 is in the future, so it was ignored.",
        ),
        (
            "date_from=2026-05-20&date_to=2026-05-01",
            (None, date(2026, 5, 1)),
            "The start date 2026-05-20 is after the end date 2026-05-01, so the start date was ignored.",
        ),
    ],
)
def test_a_bad_date_is_ignored_and_said(query, kept, said):
    filters = _filters(query)

    assert (filters.date_from, filters.date_to) == kept
    assert filters.ignored == (said,)


def test_an_unknown_range_kind_or_page_falls_back_quietly():
    filters = _filters("range=forever&kind=hacked&page=-3")

    assert (filters.range, filters.kind, filters.page, filters.ignored) == ("", "all", 1, ())


def _earn_on(member, day: int, key: str) -> None:
    with time_machine.travel(datetime(2026, 5, day, 10, tzinfo=SHANGHAI), tick=False):
        services.points_earn(
            user_id=member.pk,
            amount=10 + day,
            idempotency_key=key,
            memo_code="points.purchase",
            memo_params={"order": key},
        )


def test_the_page_filters_by_a_quick_range_and_highlights_one_chip(client, member):
    _earn_on(member, 1, "#OLD")
    _earn_on(member, 28, "#NEW")
    client.force_login(member)

    with time_machine.travel(datetime(2026, 5, 31, 12, tzinfo=SHANGHAI), tick=False):
        response = client.get(reverse("my_points"), {"range": "7d"}, HTTP_ACCEPT_LANGUAGE="en")

    body = response.content.decode()
    assert "#NEW" in body and "#OLD" not in body
    assert body.count('class="chip active"') == 2  # one kind ("All"), one range ("Last 7 days")
    assert 'aria-current="true" data-testid="range-7d"' in body
    assert '<span data-testid="date-summary">Last 7 days</span>' in body


def test_the_page_says_which_date_it_ignored_and_writes_nothing(client, member):
    _earn_on(member, 1, "#OLD")
    client.force_login(member)
    before = Entry.objects.count()

    with time_machine.travel(datetime(2026, 5, 31, 12, tzinfo=SHANGHAI), tick=False):
        response = client.get(
            reverse("my_points"), {"date_from": "2026-02-30", "date_to": "2026-05-31"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    body = response.content.decode()
    assert response.status_code == 200
    assert "The start date “2026-02-30” is not a date, so it was ignored." in body
    assert "#OLD" in body  # the end date still applies
    assert response.context["dates_query"] == "date_to=2026-05-31"
    assert Entry.objects.count() == before


def test_without_javascript_the_sheet_opens_in_the_page(client, member):
    client.force_login(member)

    closed = client.get(reverse("my_points")).content.decode()
    opened = client.get(reverse("my_points"), {"sheet": "dates"}).content.decode()

    assert 'data-testid="date-sheet"' in closed and 'data-testid="date-sheet" open>' not in closed
    assert 'data-testid="date-sheet" open>' in opened
