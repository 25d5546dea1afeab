"""The check-in page: calendar, button (htmx and plain POST), make-ups, reminder settings, admin."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from points import services as points_services
from tasks import selectors, services
from tasks.models import Checkin, CheckinPolicy, CheckinReminder, CycleBonus, StreakReward
from tests.factories import StaffFactory
from tests.tasks.checkin_support import SHANGHAI, T0, balance, entries, joined_member

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def member(db):
    return joined_member()


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(T0, tick=False):
        yield


def fund(user, amount=100):
    points_services.points_earn(user_id=user.pk, amount=amount, idempotency_key=f"fund:{user.pk}")


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for name in ("checkin", "checkin_record", "checkin_makeup", "checkin_reminder"):
        response = client.post(reverse(name)) if name != "checkin" else client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert not Checkin.objects.exists()


def test_the_page_shows_the_calendar_streak_and_tomorrow(signed_in, member):
    StreakReward.objects.create(day=2, points=9)
    CycleBonus.objects.create(days=10, points=30)
    with time_machine.travel(datetime(2026, 1, 13, 9, 0, tzinfo=SHANGHAI), tick=False):
        services.checkin_record(user_id=member.pk)
    response = signed_in.get(reverse("checkin"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="checkin-button"' in html
    assert 'data-testid="checkin-day-2026-01-13" data-state="checked"' in html
    assert 'data-testid="checkin-day-2026-01-14" data-state="today"' in html
    assert 'data-testid="checkin-day-2026-01-15" data-state="future"' in html
    assert 'data-testid="checkin-day-2026-01-12" data-state="makeup"' in html
    assert 'data-testid="makeup-points-2026-01-12"' in html
    assert "css/checkin.css" in html
    page = response.context["page"]
    assert (page.streak, page.checked_today, page.count_in_cycle, page.leading_blanks) == (1, False, 1, 3)
    # Checking in today makes day 2 (9 points); tomorrow is day 3: past the table, its last row.
    assert (page.tomorrow.day, page.tomorrow.streak, page.tomorrow.points) == (date(2026, 1, 15), 3, 9)
    assert [(b.days, b.points, b.reached) for b in page.bonuses] == [(10, 30, False)]
    assert len(page.days) == 31


def test_the_page_reads_in_chinese(signed_in):
    response = signed_in.get(reverse("checkin"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_htmx_check_in_swaps_the_panel_with_a_celebration(signed_in, member):
    response = signed_in.post(reverse("checkin_record"), **HTMX)
    assert response.status_code == 200
    assert next(t.name for t in response.templates) == "tasks/partials/checkin_panel.html"
    html = response.content.decode()
    assert 'id="checkin-panel"' in html
    assert 'data-testid="checkin-pop">+5<' in html
    assert 'data-testid="checkin-button"' not in html
    assert "<html" not in html
    assert balance(member) == 5
    again = signed_in.post(reverse("checkin_record"), **HTMX)
    assert 'data-testid="checkin-pop"' not in again.content.decode()
    assert balance(member) == 5


def test_a_plain_post_checks_in_and_redirects_with_a_message(signed_in, member):
    response = signed_in.post(reverse("checkin_record"), follow=True)
    assert response.redirect_chain == [(reverse("checkin"), 302)]
    assert "Checked in: +5 points. Streak: 1 days." in [str(m) for m in response.context["messages"]]
    again = signed_in.post(reverse("checkin_record"), follow=True)
    assert "You have already checked in today." in [str(m) for m in again.context["messages"]]
    assert Checkin.objects.filter(member=member).count() == 1


def test_the_check_in_endpoint_takes_only_post(signed_in):
    assert signed_in.get(reverse("checkin_record")).status_code == 405
    assert not Checkin.objects.exists()


def makeup_form(member, day: date, price: int = 20, **extra) -> dict:
    token = selectors.makeup_confirmation_sign(user_id=member.pk, day=day, price=price)
    return {"day": day.isoformat(), "pay_with": "points", "confirmation": token, **extra}


def test_a_make_up_through_the_page(signed_in, member):
    fund(member)
    response = signed_in.post(reverse("checkin_makeup"), makeup_form(member, date(2026, 1, 12)), **HTMX)
    assert response.status_code == 200
    assert 'data-testid="checkin-day-2026-01-12" data-state="made_up"' in response.content.decode()
    assert balance(member) == 100 - 20 + 5


def test_repeating_a_make_up_says_the_day_was_checked_not_today_and_charges_once(signed_in, member):
    fund(member)
    form = makeup_form(member, date(2026, 1, 12))
    signed_in.post(reverse("checkin_makeup"), form, follow=True)  # shows and clears its message
    before = entries(member)
    again = signed_in.post(reverse("checkin_makeup"), form, follow=True)
    assert [str(m) for m in again.context["messages"]] == ["You already checked in on 2026-01-12."]
    assert entries(member) == before
    assert Checkin.objects.filter(member=member).count() == 1


def test_a_make_up_with_a_card_through_the_page(signed_in, member):
    services.makeup_card_apply(user_id=member.pk, quantity=1, idempotency_key="card")
    page = signed_in.get(reverse("checkin")).content.decode()
    assert 'data-testid="makeup-card-2026-01-12"' in page
    assert 'data-testid="checkin-cards">1<' in page
    response = signed_in.post(reverse("checkin_makeup"), {"day": "2026-01-12", "pay_with": "card"}, follow=True)
    assert "2026-01-12 made up: +5 points." in [str(m) for m in response.context["messages"]]
    assert selectors.makeup_cards_left(user_id=member.pk) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"day": "2026-01-14"},  # today
        {"day": "2026-01-20"},  # the future
        {"day": "2025-12-20"},  # the previous month
        {"day": "not-a-date"},
        {"day": ""},
    ],
)
def test_a_bad_make_up_day_is_a_400_and_writes_nothing(signed_in, member, data):
    fund(member)
    before = entries(member)
    form = makeup_form(member, date(2026, 1, 12))
    response = signed_in.post(reverse("checkin_makeup"), {**form, **data})
    assert response.status_code == 400
    assert 'data-testid="checkin-error"' in response.content.decode()
    assert not Checkin.objects.exists()
    assert entries(member) == before


def test_a_bad_make_up_day_over_htmx_shows_the_message_in_the_panel(signed_in, member):
    fund(member)
    response = signed_in.post(reverse("checkin_makeup"), makeup_form(member, date(2026, 1, 14)), **HTMX)
    # htmx swaps no 4xx answer: the panel comes back as a 200 carrying the refusal.
    assert (response.status_code, response["X-Refusal"]) == (200, "checkin_makeup_day")
    html = response.content.decode()
    assert "Only a missed day of this cycle before today can be made up." in html
    assert "<html" not in html
    assert not Checkin.objects.exists()


def test_a_forged_or_foreign_confirmation_is_refused(signed_in, member, other_member):
    fund(member)
    foreign = makeup_form(other_member, date(2026, 1, 12))
    other_day = makeup_form(member, date(2026, 1, 11))
    for form in (foreign, {**other_day, "day": "2026-01-12"}, {**foreign, "confirmation": ""}):
        response = signed_in.post(reverse("checkin_makeup"), form)
        assert response.status_code == 400
    assert not Checkin.objects.exists()
    assert balance(member) == 100


def test_a_changed_price_shows_the_new_price_and_charges_nothing(signed_in, member):
    fund(member)
    form = makeup_form(member, date(2026, 1, 12))
    CheckinPolicy.objects.update_or_create(pk=1, defaults={"makeup_price": 25})
    response = signed_in.post(reverse("checkin_makeup"), form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "25 points" in html
    assert "Pay 25 points" in html
    assert not Checkin.objects.exists()
    assert balance(member) == 100


def test_the_reminder_form_saves_the_settings(signed_in, member):
    response = signed_in.post(reverse("checkin_reminder"), {"enabled": "on", "hour": "21"}, **HTMX)
    assert response.status_code == 200
    assert "Reminder settings saved." in response.content.decode()
    row = CheckinReminder.objects.get(member=member)
    assert (row.enabled, row.hour) == (True, 21)
    plain = signed_in.post(reverse("checkin_reminder"), {"hour": "7"}, follow=True)
    assert plain.redirect_chain == [(reverse("checkin"), 302)]
    row.refresh_from_db()
    assert (row.enabled, row.hour) == (False, 7)


def test_a_bad_reminder_hour_is_refused(signed_in, member):
    response = signed_in.post(reverse("checkin_reminder"), {"enabled": "on", "hour": "25"})
    assert response.status_code == 400
    over_htmx = signed_in.post(reverse("checkin_reminder"), {"enabled": "on", "hour": "-1"}, **HTMX)
    assert over_htmx.status_code == 200  # htmx swaps no 4xx: the form comes back with its error
    assert 'class="errorlist"' in over_htmx.content.decode()
    assert "Reminder settings saved." not in over_htmx.content.decode()
    assert not CheckinReminder.objects.exists()


def test_the_page_shows_boosts_and_cards(signed_in, member):
    services.checkin_boost_apply(user_id=member.pk, days=3, multiplier=Decimal("2"), idempotency_key="b")
    services.makeup_card_apply(user_id=member.pk, quantity=2, idempotency_key="c")
    html = signed_in.get(reverse("checkin")).content.decode()
    assert 'data-testid="checkin-boosts"' in html
    assert "Check-in points ×2" in html
    assert 'data-testid="checkin-cards">2<' in html


def test_a_weekly_cycle_page(signed_in, member):
    CheckinPolicy.objects.update_or_create(pk=1, defaults={"cycle": "weekly"})
    page = signed_in.get(reverse("checkin")).context["page"]
    assert (page.cycle_start, page.cycle_end, page.leading_blanks, len(page.days)) == (
        date(2026, 1, 12),
        date(2026, 1, 18),
        0,
        7,
    )


def test_the_nav_and_rules_page_know_check_in_exists(signed_in):
    from points import features

    assert features.feature_live(features.CHECKIN)
    html = signed_in.get(reverse("checkin")).content.decode()
    assert f'href="{reverse("checkin")}"' in html


def test_operators_edit_the_rules_in_admin(client, db):
    client.force_login(StaffFactory())
    policy_page = client.get(reverse("admin:tasks_checkinpolicy_changelist"))
    assert policy_page.status_code == 302
    change = client.get(policy_page["Location"])
    assert change.status_code == 200
    saved = client.post(
        policy_page["Location"],
        {
            "cycle": "weekly",
            "streak_reset": "cycle",
            "after_table": "repeat",
            "makeup_enabled": "on",
            "makeup_price": "30",
            "makeup_limit": "1",
        },
    )
    assert saved.status_code == 302
    row = CheckinPolicy.load()
    assert (row.pk, row.cycle, row.makeup_price, row.makeup_limit) == (1, "weekly", 30, 1)
    for name in ("streakreward", "cyclebonus", "checkin", "makeupcardgrant", "checkinboost"):
        assert client.get(reverse(f"admin:tasks_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:tasks_streakreward_add")).status_code == 200
    assert client.get(reverse("admin:tasks_checkin_add")).status_code == 403


def test_the_page_at_the_first_day_of_a_month(signed_in, member):
    with time_machine.travel(datetime(2026, 2, 1, 0, 0, tzinfo=SHANGHAI), tick=False):
        # Signed in again at that time: the session from T0 has expired by then (the database
        # session backend checks its expiry date; a cached one would hide it).
        signed_in.force_login(member)
        page = signed_in.get(reverse("checkin")).context["page"]
    assert (page.today, page.cycle_start, page.leading_blanks, len(page.days)) == (
        date(2026, 2, 1),
        date(2026, 2, 1),
        6,
        28,
    )
    assert all(d.state != "makeup" for d in page.days)
    assert page.days[0].state == "today"
    assert page.today - timedelta(days=1) == date(2026, 1, 31)


def test_a_weekly_cycle_shows_only_the_bonuses_it_can_reach(signed_in):
    CheckinPolicy.objects.update_or_create(pk=1, defaults={"cycle": "weekly"})
    CycleBonus.objects.create(days=5, points=10)
    CycleBonus.objects.create(days=10, points=30)
    page = signed_in.get(reverse("checkin")).context["page"]
    assert [(b.days, b.points) for b in page.bonuses] == [(5, 10)]


def test_days_before_joining_cannot_be_made_up_on_the_page(client, db):
    newcomer = joined_member(datetime(2026, 1, 13, 9, 0, tzinfo=SHANGHAI))
    client.force_login(newcomer)
    page = client.get(reverse("checkin")).context["page"]
    states = {d.day.day: d.state for d in page.days if d.day.day <= 14}
    assert states[12] == "before_joining"
    assert states[13] == "makeup"
    assert [d.day for d in page.makeup_open] == [date(2026, 1, 13)]


# --- Issue #10 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("multiplier", "expected"), [(Decimal("2"), 10), (Decimal("1.5"), 7)])
def test_tomorrow_applies_the_boost_running_tomorrow_as_the_check_in_will(signed_in, member, multiplier, expected):
    services.checkin_boost_apply(user_id=member.pk, days=7, multiplier=multiplier, idempotency_key="boost")
    response = signed_in.get(reverse("checkin"))
    page = response.context["page"]
    assert (page.tomorrow.points, page.tomorrow.multiplier) == (expected, multiplier)
    html = response.content.decode()
    assert f'data-testid="checkin-tomorrow">{expected} points<' in html.replace("\n", "").replace("  ", "")
    assert "Tier and campaign multipliers are added when you check in." in html
    # Tomorrow pays what the page said (a member without a tier multiplier).
    services.checkin_record(user_id=member.pk)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert services.checkin_record(user_id=member.pk).points == expected


def test_tomorrow_shows_a_boost_queued_to_run_tomorrow_and_not_one_ended(signed_in, member):
    with time_machine.travel(T0 - timedelta(days=3), tick=False):
        services.checkin_boost_apply(user_id=member.pk, days=1, multiplier=Decimal("3"), idempotency_key="old")
    assert signed_in.get(reverse("checkin")).context["page"].tomorrow.points == 5
    services.checkin_boost_apply(user_id=member.pk, days=1, multiplier=Decimal("2"), idempotency_key="now")
    services.checkin_boost_apply(user_id=member.pk, days=2, multiplier=Decimal("3"), idempotency_key="queued")
    # The ×2 runs until tomorrow noon; at tomorrow's start it is the one running.
    assert signed_in.get(reverse("checkin")).context["page"].tomorrow.points == 10
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        # Tomorrow, the ×3 queued after it runs through the day after.
        assert signed_in.get(reverse("checkin")).context["page"].tomorrow.points == 15


def test_today_shows_what_the_boosted_check_in_paid(signed_in, member):
    services.checkin_boost_apply(user_id=member.pk, days=7, multiplier=Decimal("2"), idempotency_key="boost")
    signed_in.post(reverse("checkin_record"))
    page = signed_in.get(reverse("checkin")).context["page"]
    assert (page.today_points, page.tomorrow.points) == (10, 10)


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("token", [None, ""])
@pytest.mark.parametrize(
    ("day", "code", "message"),
    [
        ("2026-01-14", "checkin_makeup_day", "Only a missed day of this cycle before today can be made up."),
        ("2026-01-20", "checkin_makeup_day", "Only a missed day of this cycle before today can be made up."),
        ("2025-12-20", "checkin_makeup_day", "Only a missed day of this cycle before today can be made up."),
        ("2026-01-13", "checkin_makeup_already_checked", "You already checked in on 2026-01-13."),
    ],
)
def test_a_make_up_day_refusal_names_the_day_not_the_token(signed_in, member, htmx, token, day, code, message):
    fund(member)
    with time_machine.travel(datetime(2026, 1, 13, 9, 0, tzinfo=SHANGHAI), tick=False):
        services.checkin_record(user_id=member.pk)
    before, rows = entries(member), list(Checkin.objects.values_list("pk", "day", "kind", "points"))
    data = {"day": day, "pay_with": "points"}
    if token is not None:
        data["confirmation"] = token
    response = signed_in.post(reverse("checkin_makeup"), data, **(HTMX if htmx else {}))
    html = response.content.decode()
    if htmx:
        assert (response.status_code, response["X-Refusal"]) == (200, code)
    else:
        assert response.status_code == (409 if code == "checkin_makeup_already_checked" else 400)
    assert message in html
    assert "out of date" not in html
    assert list(Checkin.objects.values_list("pk", "day", "kind", "points")) == rows
    assert entries(member) == before


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"pay_with": "bogus"}, "checkin_makeup_payment", "Choose to pay with points or with a make-up card."),
        ({"pay_with": ""}, "checkin_makeup_payment", "Choose to pay with points or with a make-up card."),
        ({"confirmation": "x" * 2000}, "confirmation_invalid", "This confirmation is out of date or not valid"),
        ({"confirmation": "garbage"}, "confirmation_invalid", "This confirmation is out of date or not valid"),
        ({"day": "not-a-date"}, "checkin_makeup_day", "Only a missed day of this cycle before today can be made up."),
    ],
)
def test_an_invalid_make_up_form_gets_the_message_of_its_field(signed_in, member, htmx, change, code, message):
    fund(member)
    before = entries(member)
    response = signed_in.post(
        reverse("checkin_makeup"), {**makeup_form(member, date(2026, 1, 12)), **change}, **(HTMX if htmx else {})
    )
    if htmx:
        assert (response.status_code, response["X-Refusal"]) == (200, code)
    else:
        assert response.status_code == 400
    assert message in response.content.decode()
    assert not Checkin.objects.exists()
    assert entries(member) == before
