"""The restore drill restores a real dump into a scratch database and verifies the ledger there."""

from __future__ import annotations

import subprocess

import pytest
from django.db import connection

from points import services
from tests.factories import MemberFactory
from tests.processes import PYTHON, ROOT, process_env

DRILL = str(ROOT / "scripts" / "restore-drill")


def _drill(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (this interpreter, the project's script)
        [PYTHON, DRILL, *args], cwd=ROOT, env=process_env(), capture_output=True, text=True, timeout=300, check=False
    )


def _scratch_databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'restore_drill_%%'")
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def small_mall(transactional_db):
    """A few members with earns and spends, committed (the dump sees them)."""
    members = [MemberFactory() for _ in range(3)]
    for i, member in enumerate(members):
        services.points_earn(user_id=member.pk, amount=100 + i, idempotency_key=f"drill-earn-{i}")
    services.points_spend(user_id=members[0].pk, amount=40, idempotency_key="drill-spend-0")
    return members


@pytest.mark.postgres
def test_the_drill_restores_the_database_and_passes_points_verify(small_mall):
    before = _scratch_databases()

    done = _drill()

    assert done.returncode == 0, done.stdout + done.stderr
    assert "points_account 3" in done.stdout and "points_entry 4" in done.stdout
    assert "points_verify: consistent" in done.stdout
    assert _scratch_databases() == before  # the scratch database is dropped


@pytest.mark.postgres
def test_a_dump_with_a_tampered_balance_fails_the_drill(small_mall, tmp_path):
    account_id = small_mall[1].points_account.pk
    with connection.cursor() as cursor:  # corruption behind the services' back, before the dump
        cursor.execute("UPDATE points_account SET balance = balance + 5 WHERE id = %s", [account_id])
    dump = tmp_path / "tampered.dump"
    pg_dump = ["pg_dump", "-Fc", "-f", str(dump), "--dbname", process_env()["DATABASE_URL"]]
    subprocess.run(pg_dump, check=True)  # noqa: S603 (pg_dump on PATH, as in production)

    done = _drill(str(dump))

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"#{account_id}: balance=" in done.stdout
    assert "points_verify: FAILED (exit 1)" in done.stdout


@pytest.mark.postgres
def test_a_dump_that_does_not_restore_exits_3_and_leaves_no_scratch_database(transactional_db, tmp_path):
    before = _scratch_databases()
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a dump")

    done = _drill(str(junk))

    assert done.returncode == 3, done.stdout + done.stderr
    assert "pg_restore failed" in done.stdout
    assert _scratch_databases() == before


def test_the_drill_refuses_to_run_without_a_postgres_database_url():
    done = subprocess.run(  # noqa: S603
        [PYTHON, DRILL],
        cwd=ROOT,
        env=process_env(DATABASE_URL="sqlite:///x.sqlite3"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 2
    assert "DATABASE_URL must name the Postgres database" in done.stderr
