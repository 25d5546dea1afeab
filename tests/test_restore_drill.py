"""The restore drill restores a real dump into a scratch database and verifies the ledger there."""

from __future__ import annotations

import secrets
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from points import services
from tests.factories import MemberFactory
from tests.processes import PYTHON, ROOT, process_env

DRILL = str(ROOT / "scripts" / "restore-drill")


def _drill(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (this interpreter, the project's script)
        [PYTHON, DRILL, *args],
        cwd=ROOT,
        env=process_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# For the refusals, which come before any connection: a Postgres URL that need not answer.
UNUSED_POSTGRES = "postgres://postgres@127.0.0.1:5432/unused"


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


def _admin_run(statement: str) -> None:
    """One statement on the test server's ``postgres`` database (CREATE/DROP DATABASE)."""
    import psycopg2

    url = urlsplit(process_env()["DATABASE_URL"])
    admin = psycopg2.connect(urlunsplit((url.scheme, url.netloc, "/postgres", "", "")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin.close()


@pytest.fixture
def other_database():
    """A real database on the same server that is not the mall's: one table, one row. Yields its URL."""
    import psycopg2

    name = f"drill_other_{secrets.token_hex(3)}"
    _admin_run(f'CREATE DATABASE "{name}"')
    url = urlsplit(process_env()["DATABASE_URL"])
    other = urlunsplit((url.scheme, url.netloc, "/" + name, "", ""))
    with psycopg2.connect(other) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE precious (id int PRIMARY KEY, note text)")
        cursor.execute("INSERT INTO precious VALUES (1, 'keep me')")
    connection.close()
    yield other
    _admin_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url: str) -> int:
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        count = cursor.fetchone()[0]
    connection.close()
    return count


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["--server", "DATABASE_URL"])
def test_a_url_whose_query_names_another_database_is_refused_and_that_database_is_untouched(
    small_mall, other_database, where
):
    """The reviewer's attack: ``?dbname=`` overrides the URL's path in libpq, so without the
    refusal the whole mall was restored into the victim (and points_verify ran there)."""
    victim = urlsplit(other_database).path.lstrip("/")
    source = urlsplit(process_env()["DATABASE_URL"])
    attack = urlunsplit((source.scheme, source.netloc, "/x", f"dbname={victim}", ""))
    before = _tables(other_database)

    if where == "--server":
        done = _drill("--server", attack)
    else:
        done = subprocess.run(  # noqa: S603
            [PYTHON, DRILL],
            cwd=ROOT,
            env=process_env(DATABASE_URL=urlunsplit(source._replace(query=f"dbname={victim}"))),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    assert done.returncode == 2, done.stdout + done.stderr
    assert "refuses (dbname)" in done.stderr
    assert _tables(other_database) == before == 1


@pytest.mark.parametrize("query", ["service=prod", "options=-c%20search_path%3Dx", "sslmode=require&dbname=y"])
def test_any_query_parameter_but_the_allowed_few_is_refused(query):
    done = _drill("--server", f"postgres://postgres@127.0.0.1:5432/x?{query}", DATABASE_URL=UNUSED_POSTGRES)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "carries connection parameters the drill refuses" in done.stderr


def test_a_server_url_that_is_not_postgres_is_a_usage_error():
    done = _drill("--server", "mysql://root@127.0.0.1/x", DATABASE_URL=UNUSED_POSTGRES)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "--server must be a postgres:// or postgresql:// URL" in done.stderr


@pytest.mark.postgres
def test_a_valid_dump_of_another_database_is_no_verdict_exit_3(transactional_db, other_database, tmp_path):
    """Not "ledger violations" (exit 1): the schema is not the mall's, the drill says so and exits 3."""
    before = _scratch_databases()
    dump = tmp_path / "other.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "--dbname", other_database], check=True)  # noqa: S603,S607

    done = _drill(str(dump))

    assert done.returncode == 3, done.stdout + done.stderr
    assert "the restored schema is not this code's" in done.stdout
    assert "migration(s) unapplied" in done.stdout
    assert "points_verify: FAILED" not in done.stdout
    assert _scratch_databases() == before


@pytest.mark.postgres
def test_a_points_verify_that_crashes_is_no_verdict_exit_3_not_violations(small_mall, tmp_path):
    """Every migration recorded, but a ledger table missing from the dump: points_verify crashes
    (relation does not exist). That is not "ledger violations" (1): the drill exits 3."""
    dump = tmp_path / "partial.dump"
    pg_dump = ["pg_dump", "-Fc", "--exclude-table=points_lotmovement", "-f", str(dump)]
    subprocess.run([*pg_dump, "--dbname", process_env()["DATABASE_URL"]], check=True)  # noqa: S603

    done = _drill(str(dump))

    assert done.returncode == 3, done.stdout + done.stderr
    assert "points_verify did not run to completion (exit 1): no verdict" in done.stdout
    assert "points_verify: FAILED" not in done.stdout
