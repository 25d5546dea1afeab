from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from points import services
from points.models import Account, Entry

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_points_verify_passes_on_a_consistent_ledger(member):
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    out = _run("points_verify")
    assert "Ledger is consistent." in out
    assert "FAIL" not in out


def test_points_verify_fails_and_names_the_account_when_a_balance_is_tampered_with(member):
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    account = Account.objects.get(user=member)
    with connection.cursor() as cursor:  # simulate corruption written behind the services' back
        cursor.execute("UPDATE points_account SET balance = 90 WHERE id = %s", [account.pk])
    out = StringIO()
    with pytest.raises(CommandError, match="violation"):
        call_command("points_verify", stdout=out)
    assert f"#{account.pk}: balance=90/100" in out.getvalue()


def test_points_expire_prints_a_summary_and_rerun_expires_nothing(member, other_member):
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=100, idempotency_key="a")
        services.points_earn(user_id=other_member.pk, amount=30, idempotency_key="b")
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=SHANGHAI), tick=False):
        dry = _run("points_expire", "--dry-run")
        assert "Would expire 130 points in 2 lots of 2 members." in dry
        assert Entry.objects.filter(kind="expire").count() == 0
        assert "Expired 130 points in 2 lots of 2 members." in _run("points_expire")
        assert "Expired 0 points in 0 lots of 0 members." in _run("points_expire")
    assert services.points_verify().ok


def test_points_expire_as_of_only_expires_what_was_due_then(member):
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=100, idempotency_key="a")
    with time_machine.travel(datetime(2025, 3, 10, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=50, idempotency_key="b")
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=SHANGHAI), tick=False):
        out = _run("points_expire", "--as-of", "2026-02-01T00:00:00+08:00")
    assert "Expired 100 points in 1 lots of 1 members." in out
    assert Account.objects.get(user=member).balance == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "not-a-date"], "not an ISO date-time"),
        (["--as-of", (datetime.now(SHANGHAI) + timedelta(days=2)).isoformat()], "may not be in the future"),
        (["--batch-size", "0"], "must be between 1 and 10000, not 0"),
    ],
)
def test_points_expire_refuses_bad_arguments_and_writes_nothing(member, args, message):
    services.points_earn(user_id=member.pk, amount=10, idempotency_key="a")
    before = Entry.objects.count()
    with pytest.raises(CommandError, match=message):
        _run("points_expire", *args)
    assert Entry.objects.count() == before


def test_points_vest_makes_pending_points_spendable(member):
    with time_machine.travel(datetime(2026, 1, 1, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(
            user_id=member.pk, amount=70, idempotency_key="p", available_at=datetime(2026, 1, 8, 12, tzinfo=SHANGHAI)
        )
    with time_machine.travel(datetime(2026, 1, 9, tzinfo=SHANGHAI), tick=False):
        assert "Vested 70 points for 1 members." in _run("points_vest")
    account = Account.objects.get(user=member)
    assert (account.balance, account.pending) == (70, 0)
