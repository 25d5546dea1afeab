"""The check-in button under a storm (issue #15, P4): what one click costs in SQL statements, the
same member clicking at once through real parallel clients, and bad requests that write nothing.

The statement counts are pinned exactly: a new statement on the hot path must be a choice.
"""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from points.models import Entry
from tasks import services
from tasks.models import Checkin, CheckinKind
from tests import concurrency
from tests.tasks.checkin_support import T0, balance, joined_member

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def signed_in_client(member, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(member)
    return client


def statements(client: Client, **extra) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("checkin_record"), **extra)
    assert response.status_code in (200, 302), response.status_code
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


@pytest.mark.postgres  # the counts pinned are Postgres's (the production database)
@pytest.mark.django_db
def test_the_first_click_and_the_repeat_cost_a_pinned_number_of_statements(frozen):
    warm, member = joined_member(), joined_member()
    # A first check-in by someone else first: per-process caches (content types, settings rows) are warm.
    services.checkin_record(user_id=warm.pk)
    client = signed_in_client(member)

    first, sql = statements(client)
    # 37 = 1 auth (the session's user) + 1 repeat check (nothing yet) + BEGIN/COMMIT 2
    #    + 1 account lock + 1 policy + 1 read of the cycle's check-ins (today's, yesterday's streak, the count)
    #    + 1 base earning rule + 1 streak table + 1 running boost + 1 insert
    #    + 22 in the ledger's points_award (savepoints, rule, tier, campaign, entry, lot, movement, tier review)
    #    + 1 cycle bonuses + 1 update of the check-in's points + 1 "any check-in streak task?" (none: no savepoint)
    assert first == 37, "\n".join(sql)
    assert sum(1 for s in sql if s.startswith('SELECT "tasks_checkin"')) == 2, "one repeat check, one cycle read"

    repeat, sql = statements(client)
    # 2 = 1 auth + 1 indexed read of today's check-in; no transaction, no lock, nothing written.
    assert repeat == 2, "\n".join(sql)
    assert not any(s.startswith(("BEGIN", "INSERT", "UPDATE", "SELECT 1")) or "FOR UPDATE" in s for s in sql)
    assert Checkin.objects.filter(member=member).count() == 1
    assert balance(member) == 5


@pytest.mark.django_db
def test_a_repeat_click_answers_with_a_redirect_and_renders_no_page(frozen):
    member = joined_member()
    client = signed_in_client(member)
    client.post(reverse("checkin_record"))
    response = client.post(reverse("checkin_record"))
    # A redirect with its flash message in the messages cookie: no template rendered for the click.
    assert response.status_code == 302 and response["Location"] == reverse("checkin")
    assert not response.templates
    assert "You have already checked in today." in [str(m) for m in client.get(reverse("checkin")).context["messages"]]


@pytest.mark.django_db
def test_a_check_in_row_the_service_did_not_see_is_answered_as_already_and_pays_nothing(frozen):
    # A row for today written outside the service (here: of another kind, which the repeat check
    # does not look for) makes the insert conflict; the whole transaction rolls back and the
    # member gets that row back as "already", with nothing paid.
    member = joined_member()
    today = Checkin.objects.create(member=member, day=T0.date(), kind=CheckinKind.MAKEUP, streak=1, created_at=T0)
    result = services.checkin_record(user_id=member.pk)
    assert (result.already, result.checkin_id) == (True, today.pk)
    assert Checkin.objects.filter(member=member).count() == 1
    assert not Entry.objects.filter(account__user=member).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_member_clicking_three_times_at_once_checks_in_once(frozen):
    member = joined_member()
    clients = [signed_in_client(member) for _ in range(3)]
    responses = concurrency.run_together([lambda c=c: c.post(reverse("checkin_record")) for c in clients])
    assert [getattr(r, "status_code", r) for r in responses] == [302, 302, 302]
    assert Checkin.objects.filter(member=member).count() == 1
    assert Entry.objects.filter(account__user=member).count() == 1
    assert balance(member) == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_crowd_clicking_three_times_each_makes_one_check_in_each(frozen):
    members = [joined_member() for _ in range(12)]
    clients = [(n, signed_in_client(m)) for n, m in enumerate(members) for _ in range(3)]  # three tabs each
    # Each member from an address of their own: 36 check-ins from one address in a minute would be
    # a scripted run (CHECKIN_IP_RATE_LIMIT, docs/decisions/0051).
    calls = [lambda c=c, n=n: c.post(reverse("checkin_record"), REMOTE_ADDR=f"10.0.0.{n + 1}") for n, c in clients]
    responses = concurrency.run_parallel(calls, 12)
    assert {getattr(r, "status_code", r) for r in responses} == {302}
    assert Checkin.objects.filter(member__in=members).count() == 12
    assert Entry.objects.filter(account__user__in=members).count() == 12
    assert Entry.objects.filter(idempotency_key__startswith="checkin:").count() == 12


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_the_wrong_method_is_a_405_and_writes_nothing(frozen, method):
    member = joined_member()
    response = getattr(signed_in_client(member), method)(reverse("checkin_record"))
    assert response.status_code == 405
    assert not Checkin.objects.exists()
    assert not Entry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [{}, HTMX])
def test_a_post_without_the_csrf_token_is_a_403_and_writes_nothing(frozen, extra):
    member = joined_member()
    response = signed_in_client(member, enforce_csrf_checks=True).post(reverse("checkin_record"), **extra)
    assert response.status_code == 403
    assert not Checkin.objects.exists()
    assert not Entry.objects.exists()


@pytest.mark.django_db
def test_an_anonymous_click_is_sent_to_sign_in_and_writes_nothing(frozen):
    response = Client().post(reverse("checkin_record"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not Checkin.objects.exists()
    assert not Entry.objects.exists()
