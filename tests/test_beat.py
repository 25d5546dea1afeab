"""Beat keeps operators' schedule changes and runs alone (issue #14 item 5, docs/decisions/0040)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from pointsmall.beat import GuardedDatabaseScheduler
from pointsmall.celery import app as celery_app
from tests.processes import PYTHON, ROOT, process_env, wait_for


def _start_scheduler() -> GuardedDatabaseScheduler:
    return GuardedDatabaseScheduler(app=celery_app)


@pytest.fixture
def started_once(transactional_db):
    """The schedule as the first beat start leaves it (every settings entry created)."""
    # Beat imports every app's jobs before it starts (the rename rule asks which tasks exist).
    celery_app.autodiscover_tasks(related_name="jobs", force=True)
    scheduler = _start_scheduler()
    scheduler.close()
    assert set(settings.CELERY_BEAT_SCHEDULE) <= set(PeriodicTask.objects.values_list("name", flat=True))


def test_an_operators_retimed_and_paused_entries_survive_a_beat_restart(started_once):
    three_am, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.filter(name="points-expire-due").update(crontab=three_am, kwargs='{"batch_size": 50}')
    PeriodicTask.objects.filter(name="tasks-announce").update(enabled=False)
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.filter(name="dashboard-rollup").update(crontab=None, interval=every_hour)

    scheduler = _start_scheduler()
    try:
        expire = PeriodicTask.objects.get(name="points-expire-due")
        assert (expire.crontab_id, expire.kwargs) == (three_am.pk, '{"batch_size": 50}')
        assert PeriodicTask.objects.get(name="tasks-announce").enabled is False
        rollup = PeriodicTask.objects.get(name="dashboard-rollup")
        assert (rollup.crontab_id, rollup.interval_id) == (None, every_hour.pk)
        # What beat runs is the stored schedule, not the settings'.
        assert scheduler.schedule["points-expire-due"].schedule.hour == {3}
        assert "tasks-announce" not in scheduler.schedule
    finally:
        scheduler.close()


def test_a_missing_entry_is_created_from_settings(started_once):
    PeriodicTask.objects.filter(name="points-vest-due").delete()

    _start_scheduler().close()

    vest = PeriodicTask.objects.get(name="points-vest-due")
    assert (vest.task, vest.enabled, vest.crontab.minute, vest.crontab.hour) == ("points.vest", True, "10", "*")


def test_a_renamed_task_is_repointed_and_a_superusers_choice_of_a_real_task_is_kept(started_once):
    PeriodicTask.objects.filter(name="points-vest-due").update(task="points.vest_due_old_name")
    PeriodicTask.objects.filter(name="tasks-announce").update(task="points.remind")

    _start_scheduler().close()

    assert PeriodicTask.objects.get(name="points-vest-due").task == "points.vest"
    assert PeriodicTask.objects.get(name="tasks-announce").task == "points.remind"


# --- Two beats: real processes ------------------------------------------------------------


def _beat(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            [PYTHON, "-m", "celery", "-A", "pointsmall", "beat", "--loglevel=INFO", "-s", str(tmp_path / name)],
            cwd=ROOT,
            # No Redis: beat sends to an in-memory broker nobody reads; what it sent is in its log.
            env=process_env(CELERY_TASK_ALWAYS_EAGER="false", LOG_FORMAT="text"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


def _sent_probe(log: Path) -> bool:
    return "Sending due task beat-probe" in log.read_text(errors="replace")


@pytest.mark.postgres
def test_a_second_beat_waits_while_the_first_runs_and_takes_over_when_it_dies(transactional_db, tmp_path):
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="beat-probe", task="pointsmall.beat_probe", interval=every_second)
    first, first_log = _beat(tmp_path, "first")
    second = None
    try:
        wait_for(lambda: _sent_probe(first_log), seconds=60, what="the first beat sends the probe")
        second, second_log = _beat(tmp_path, "second")
        wait_for(
            lambda: "held by another beat" in second_log.read_text(errors="replace"),
            seconds=60,
            what="the second beat says it is on standby",
        )
        sent_by_first = first_log.read_text().count("Sending due task beat-probe")
        wait_for(
            lambda: first_log.read_text().count("Sending due task beat-probe") >= sent_by_first + 2,
            seconds=60,
            what="the first beat goes on sending",
        )
        assert not _sent_probe(second_log)
        assert second.poll() is None

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        wait_for(lambda: _sent_probe(second_log), seconds=60, what="the second beat takes over")
        assert "beat lock" in second_log.read_text() and "acquired" in second_log.read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.mark.postgres
def test_a_beat_whose_lock_connection_is_killed_exits_with_a_failure_status(transactional_db, tmp_path):
    """Losing the lock ends the beat with status 1, so a restart-on-failure supervisor restarts it."""
    from django.db import connection

    from pointsmall.beat import LOCK_KEY

    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="beat-probe", task="pointsmall.beat_probe", interval=every_second)
    beat, log = _beat(tmp_path, "alone")
    try:
        wait_for(lambda: _sent_probe(log), seconds=60, what="the beat sends the probe")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                [LOCK_KEY],
            )
            assert cursor.fetchall() == [(True,)]  # exactly the beat's lock connection
        assert beat.wait(timeout=60) == 1
        assert "beat lock lost" in log.read_text(errors="replace")
    finally:
        if beat.poll() is None:
            beat.kill()
            beat.wait(timeout=30)
