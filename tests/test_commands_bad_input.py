"""Every project command refuses bad arguments the same way: exit code 2, one clean line on
stderr (no traceback), and nothing written — also where the old commands wrote (points_remind
--days 400 reminded every member months early) or crashed (--as-of 2026-13-01)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.utils import timezone

from points import services as points_services
from pointsmall.kernel import clock
from tests.commands_cli import cli, row_counts

TOMORROW = (clock.business_date() + timedelta(days=2)).isoformat()
NEXT_YEAR = f"{clock.business_date().year + 1}-01"

NOT_CSV = Path(__file__).parent / "__init__.py"

BAD = {
    "points_remind": [
        ["--days", "400"],
        ["--days", "-5"],
        ["--days", "0"],
        ["--days", "ten"],
        ["--batch-size", "0"],
    ],
    "points_expire": [
        ["--as-of", "2026-13-01"],
        ["--as-of", ""],
        ["--as-of", TOMORROW],
        ["--batch-size", "0"],
        ["--batch-size", "20000"],
    ],
    "points_vest": [["--as-of", "2026-13-01"], ["--as-of", ""], ["--as-of", TOMORROW], ["--batch-size", "-1"]],
    "points_verify": [["--limit", "-1"], ["--limit", "0"], ["--limit", "many"]],
    "points_import_purchases": [[], ["/no/such/file.csv"], ["a.csv", "b.csv"]],
    "points_tiers_recalculate": [["--as-of", "2026-01-01"], ["extra"]],
    "accounts_deliveries_retry": [
        ["--limit", "0"],
        ["--limit", "10001"],
        ["--failed-since", "2026-13-01"],
        ["--failed-since", ""],
        ["--failed-since", TOMORROW],
    ],
    "analytics_rollup": [["--day", "2026-13-01"], ["--day", ""], ["--days", "0"], ["--days", "400"]],
    "dashboard_rollup": [["--days", "0"], ["--days", "3661"], ["--days", "two"]],
    "tasks_leaderboard_pay": [["--month", "2026-13"], ["--month", "October"], ["--month", ""], ["--month", NEXT_YEAR]],
    "catalog_low_stock": [["--notify=yes"], ["extra"]],
    "catalog_flash_gate_reconcile": [["--force"]],
    "lottery_seeds_reveal": [["--all"]],
    "content_announcements_publish": [["extra"]],
    "seed_demo": [["--members", "5"]],
    "tasks_announce": [["--days", "1"]],
    "tasks_checkin_remind": [["--hour", "25"]],
    "tasks_leaderboard_refresh": [["--board", "week"]],
    "points_holds_expire": [["--batch-size", "0"], ["--batch-size", "20000"], ["--as-of", "2026-01-01"]],
    "integration_webhooks_retry": [
        ["--limit", "0"],
        ["--limit", "10001"],
        ["--failed-since", "2026-13-01"],
        ["--failed-since", ""],
        ["--failed-since", TOMORROW],
    ],
}

CASES = [(name, args) for name, bad in BAD.items() for args in bad]


def project_commands() -> set[str]:
    """Every command of ours (the apps and the project's apps)."""
    ours = {"accounts", "catalog", "lottery", "points", "tasks"}
    return {name for name, app in get_commands().items() if app in ours or app.startswith("pointsmall")}


def test_every_project_command_has_its_bad_arguments_tested():
    assert project_commands() == set(BAD)


@pytest.fixture
def ledger_with_reminders_due(member, other_member):
    """Points that a wrong run would touch: lots expiring in 20 and 200 days, one pending."""
    now = timezone.now()
    points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="a", expires_at=now + timedelta(20))
    points_services.points_earn(
        user_id=other_member.pk, amount=50, idempotency_key="b", expires_at=now + timedelta(200)
    )
    points_services.points_earn(user_id=member.pk, amount=30, idempotency_key="c", available_at=now - timedelta(days=1))


@pytest.mark.parametrize(("name", "args"), CASES, ids=[f"{n} {' '.join(a) or '(none)'}" for n, a in CASES])
def test_a_bad_argument_exits_2_with_one_line_and_writes_nothing(
    monkeypatch, capsys, ledger_with_reminders_due, name, args
):
    before = row_counts()

    outcome = cli(monkeypatch, capsys, name, *args)

    assert outcome.code == 2
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1, outcome.err
    assert "Traceback" not in outcome.err
    assert lines[0].startswith((f"manage.py {name}: error: ", "CommandError: "))
    assert outcome.out == ""
    assert row_counts() == before


def test_days_400_is_refused_with_the_reason_in_english(monkeypatch, capsys, ledger_with_reminders_due):
    outcome = cli(monkeypatch, capsys, "points_remind", "--days", "400")

    assert outcome.err == (
        "manage.py points_remind: error: argument --days: must be between 1 and 90, not 400 (see --help)\n"
    )


def test_a_future_as_of_is_refused_with_the_services_message(monkeypatch, capsys, ledger_with_reminders_due):
    outcome = cli(monkeypatch, capsys, "points_expire", "--as-of", TOMORROW)

    assert outcome.code == 2
    assert outcome.err.startswith("CommandError: ")
    assert "future" in outcome.err


def test_a_csv_that_is_not_utf8_or_lacks_columns_is_a_usage_error(monkeypatch, capsys, tmp_path, db):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("order_id,member_email,amount\nA,é@x.cn,1\n".encode("latin-1"))
    columns = tmp_path / "columns.csv"
    columns.write_text("id,email\n1,a@b.c\n", encoding="utf-8")

    assert cli(monkeypatch, capsys, "points_import_purchases", str(latin)).err == (
        f"CommandError: {latin} is not UTF-8 text.\n"
    )
    refused = cli(monkeypatch, capsys, "points_import_purchases", str(columns))
    assert (refused.code, refused.err) == (
        2,
        "CommandError: The purchase is not valid: missing columns: order_id, member_email, amount\n",
    )
