"""A draw whose database connection dies in the middle answers an error and leaves nothing; the same
form sent again then draws once (the chaos run's "acknowledged draw missing from the database").

The chaos run (bench/chaos.py) once counted draws answered with a redirect that left no Draw row. The
cause was the harness (members whose set-up sign-in was refused, drawing from the public campaign
page: their POST was redirected to the sign-in, which the harness then took for a success). These
tests pin down the app's side of what was suspected instead, with a real Postgres backend terminated
(``pg_terminate_backend``) while the draw waits inside its transaction for the member's account lock.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg2
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lottery.models import Draw, DrawerState
from points.models import Account, Entry
from tests.lottery.core_helpers import balance, make_campaign, member_with
from tests.lottery.test_views import form_fields

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 30  # liveness bound: the draw reaches the lock in well under a second


def _own_connection():
    """A connection of its own (not Django's), to hold a lock and to terminate the draw's backend."""
    s = connection.settings_dict
    return psycopg2.connect(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432
    )


def _waiting_backend(watcher, holder_pid: int) -> int:
    """The backend that waits for a lock held by ``holder_pid`` (the draw's), polled until it waits.
    ``watcher`` is in autocommit: pg_stat_activity is read once per transaction."""
    deadline = time.monotonic() + WAIT_SECONDS
    with watcher.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid))",
                [holder_pid],
            )
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError(f"no draw waited for the account lock within {WAIT_SECONDS} s")


def test_a_draw_cut_off_mid_transaction_answers_500_writes_nothing_and_the_same_form_then_draws_once():
    now = timezone.now()
    campaign = make_campaign(now=now, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=24))
    member = member_with(100)
    web = Client(raise_request_exception=False)
    web.force_login(member)
    url = reverse("lottery_draw", args=[campaign.pk])
    data = form_fields(web.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode())
    answers: list = []

    def post() -> None:
        try:
            answers.append(web.post(url, data))
        finally:
            connection.close()

    holder = _own_connection()
    try:
        with holder.cursor() as cursor:  # psycopg2 opens a transaction: the lock is held until rollback
            cursor.execute(f"SELECT 1 FROM {Account._meta.db_table} WHERE user_id = %s FOR UPDATE", [member.pk])
            cursor.execute("SELECT pg_backend_pid()")
            holder_pid = cursor.fetchone()[0]
        drawing = threading.Thread(target=post, daemon=True)
        drawing.start()
        killer = _own_connection()
        killer.autocommit = True
        try:
            victim = _waiting_backend(killer, holder_pid)
            with killer.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
                assert cursor.fetchone() == (True,)
        finally:
            killer.close()
        holder.rollback()
        drawing.join(WAIT_SECONDS)
        assert not drawing.is_alive(), "the draw did not answer"
    finally:
        holder.close()

    # An error, never the redirect that means "drawn"; and nothing of the draw was kept.
    assert [a.status_code for a in answers] == [500]
    assert not Draw.objects.exists()
    assert not DrawerState.objects.exists()
    assert not Entry.objects.filter(reference__startswith="lottery.draw:").exists()
    assert balance(member) == 100

    # The member sends the same form again (the page still shows it): one draw, under the form's key.
    again = web.post(url, data)
    assert again.status_code == 302 and again["Location"] == reverse("lottery_campaign", args=[campaign.pk])
    draw = Draw.objects.get()
    assert draw.idempotency_key == f"{member.pk}:{data['idempotency_key']}"
    assert balance(member) in (90, 90 + 10, 90 + 100)
    # And a third time (a double click after the error): still that one draw.
    assert web.post(url, data).status_code == 302
    assert Draw.objects.count() == 1
