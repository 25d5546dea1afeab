"""What every command does on a good run: --dry-run writes nothing, exit code 1 when rows were
rejected or violations found, a progress bar only on a terminal, one summary line, English."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone, translation

from points import services as points_services
from points.models import Account, Entry, Lot, Purchase
from tests.commands_cli import cli, row_counts


def ledger_state() -> tuple:
    """Row counts plus the ledger's changing columns (an UPDATE changes no count)."""
    return (
        row_counts(),
        list(Lot.objects.order_by("pk").values_list("pk", "status", "remaining", "reminded_at")),
        list(Account.objects.order_by("pk").values_list("pk", "balance", "pending", "tier_id")),
    )


@pytest.fixture
def due_work(member, other_member):
    """Work for each points job: lots to remind, a lot to expire, points to vest."""
    now = timezone.now()
    points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="a", expires_at=now + timedelta(20))
    points_services.points_earn(user_id=other_member.pk, amount=40, idempotency_key="b", expires_at=now + timedelta(5))
    points_services.points_earn(user_id=member.pk, amount=30, idempotency_key="c", available_at=now + timedelta(1))
    Lot.objects.filter(amount=40).update(expires_at=now - timedelta(1))
    Lot.objects.filter(amount=30).update(available_at=now - timedelta(1))


@pytest.fixture
def purchases_csv(tmp_path, member):
    future = (timezone.now() + timedelta(days=3)).isoformat()
    path = tmp_path / "purchases.csv"
    path.write_text(
        "order_id,member_email,amount,purchased_at,sku,category\n"
        f"P-1,{member.email},88.80,,,\n"
        f"P-2,{member.email},10,{future},,\n"
        f"P-3,nobody@example.com,10,,,\n",
        encoding="utf-8",
    )
    return path


DRY_RUNS = [
    ("points_remind", [], "[dry run] Would remind 1 members about 1 lots."),
    ("points_expire", [], "[dry run] Would expire 40 points in 1 lots of 1 members."),
    ("points_vest", [], "[dry run] Would vest 30 points for 1 members."),
    ("points_tiers_recalculate", [], "[dry run] Would change 0 of 2 members (0 up, 0 down)."),
    ("lottery_seeds_reveal", [], "[dry run] Would reveal 0 campaign seeds."),
    ("tasks_leaderboard_refresh", [], None),
    ("tasks_announce", [], "[dry run] Would send 0 new-task messages."),
    ("tasks_checkin_remind", [], "[dry run] Would send 0 check-in reminders."),
    ("content_announcements_publish", [], "[dry run] 0 inbox messages would be sent."),
    ("dashboard_rollup", ["--days", "3"], None),
    ("tasks_leaderboard_pay", [], None),
    ("analytics_rollup", ["--days", "1"], "[dry run] Would roll up 1 day(s)."),
    ("accounts_deliveries_retry", [], "[dry run] Would queue again 0 failed deliveries and send 0 due."),
    ("catalog_low_stock", ["--notify"], "[dry run] No product is at or below its low-stock alert level."),
]


@pytest.mark.parametrize(("name", "args", "summary"), DRY_RUNS, ids=[d[0] for d in DRY_RUNS])
def test_dry_run_writes_nothing_and_says_what_it_would_do(monkeypatch, capsys, due_work, name, args, summary):
    before = ledger_state()

    outcome = cli(monkeypatch, capsys, name, *args, "--dry-run")

    assert (outcome.code, outcome.err) == (0, "")
    last = outcome.out.strip().splitlines()[-1]
    assert last.startswith("[dry run] ")
    if summary is not None:
        assert last == summary
    assert ledger_state() == before


def test_the_real_runs_do_what_the_dry_runs_said(monkeypatch, capsys, due_work):
    assert cli(monkeypatch, capsys, "points_remind").out == "Reminded 1 members about 1 lots.\n"
    assert cli(monkeypatch, capsys, "points_expire").out == "Expired 40 points in 1 lots of 1 members.\n"
    assert cli(monkeypatch, capsys, "points_vest").out == "Vested 30 points for 1 members.\n"
    assert Lot.objects.filter(reminded_at__isnull=False).count() == 1
    assert points_services.points_verify().ok


def test_the_purchases_import_dry_run_reports_the_same_rows_and_writes_nothing(monkeypatch, capsys, purchases_csv):
    before = row_counts()

    dry = cli(monkeypatch, capsys, "points_import_purchases", str(purchases_csv), "--dry-run")

    assert row_counts() == before
    assert dry.code == 1
    assert dry.out.splitlines() == [
        "  rejected line 3 (P-2): The purchase is not valid: purchased_at is in the future",
        "  rejected line 4 (P-3): The purchase is not valid: no member with the e-mail no***@example.com",
        "[dry run] Accepted 1, duplicates 0, rejected 2.",
    ]
    real = cli(monkeypatch, capsys, "points_import_purchases", str(purchases_csv))
    assert (real.code, real.out.splitlines()[-1]) == (1, "Accepted 1, duplicates 0, rejected 2.")
    assert list(Purchase.objects.values_list("external_id", flat=True)) == ["P-1"]
    again = cli(monkeypatch, capsys, "points_import_purchases", str(purchases_csv), "--dry-run")
    assert again.out.splitlines()[-1] == "[dry run] Accepted 0, duplicates 1, rejected 2."


def test_an_import_without_rejected_rows_exits_0(monkeypatch, capsys, tmp_path, member):
    path = tmp_path / "good.csv"
    path.write_text(f"order_id,member_email,amount\nG-1,{member.email},5\n", encoding="utf-8")

    outcome = cli(monkeypatch, capsys, "points_import_purchases", str(path))

    assert (outcome.code, outcome.out, outcome.err) == (0, "Accepted 1, duplicates 0, rejected 0.\n", "")


def test_call_command_raises_with_the_summary_and_code_1_on_rejected_rows(purchases_csv):
    with pytest.raises(CommandError, match=r"^Accepted 1, duplicates 0, rejected 2\.$") as raised:
        call_command("points_import_purchases", str(purchases_csv), stdout=io.StringIO())
    assert raised.value.returncode == 1


def test_points_verify_exits_1_on_a_violation_and_0_when_consistent(monkeypatch, capsys, member):
    points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    assert cli(monkeypatch, capsys, "points_verify").code == 0
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_account SET balance = 90 WHERE user_id = %s", [member.pk])

    outcome = cli(monkeypatch, capsys, "points_verify", "--limit", "1")

    assert outcome.code == 1
    assert outcome.out.splitlines()[-1] == "2 violation(s) found."  # the balance against its lots and entries
    assert Entry.objects.count() == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal_only(due_work):
    quiet_out, quiet_err = io.StringIO(), io.StringIO()
    call_command("points_remind", "--dry-run", stdout=quiet_out, stderr=quiet_err)
    assert quiet_err.getvalue() == ""
    assert quiet_out.getvalue() == "[dry run] Would remind 1 members about 1 lots.\n"

    out, terminal = io.StringIO(), Terminal()
    call_command("points_remind", stdout=out, stderr=terminal)
    assert "Reminding members" in terminal.getvalue()
    assert out.getvalue() == "Reminded 1 members about 1 lots.\n"


def test_output_is_english_whatever_language_is_active(monkeypatch, capsys, purchases_csv):
    with translation.override("zh-hans"):
        outcome = cli(monkeypatch, capsys, "points_import_purchases", str(purchases_csv), "--dry-run")
    assert "purchased_at is in the future" in outcome.out


def test_tiers_recalculate_lists_20_changes_then_a_count_and_all_at_verbosity_2(db):
    from points.models import Tier
    from tests.factories import MemberFactory

    members = [MemberFactory() for _ in range(23)]
    Account.objects.filter(user__in=members).update(tier=Tier.objects.get(code="gold"))
    out, everything = io.StringIO(), io.StringIO()

    call_command("points_tiers_recalculate", "--dry-run", stdout=out)
    call_command("points_tiers_recalculate", "--dry-run", "-v", "2", stdout=everything)

    lines = out.getvalue().splitlines()
    assert len(lines) == 22
    assert lines[-2:] == [
        "  … and 3 more (-v 2 lists them all)",
        "[dry run] Would change 23 of 23 members (0 up, 23 down).",
    ]
    assert len(everything.getvalue().splitlines()) == 24


def test_seed_demo_dry_run_keeps_nothing(db):
    before = row_counts()
    out = io.StringIO()

    call_command("seed_demo", "--dry-run", stdout=out)

    assert out.getvalue().splitlines()[-1].startswith("[dry run] Would create ")
    assert row_counts() == before


def test_call_command_with_days_out_of_bounds_is_a_usage_error(due_work):
    with pytest.raises(CommandError, match="--days must be between 1 and 90, not 400") as raised:
        call_command("points_remind", days=400, stdout=io.StringIO())
    assert raised.value.returncode == 2
    assert Lot.objects.filter(reminded_at__isnull=False).count() == 0
