"""Celery beat's scheduler: settings seed the schedule, operators own it, one beat at a time.

django-celery-beat's ``DatabaseScheduler`` writes every ``CELERY_BEAT_SCHEDULE`` entry over
its stored row at each start (``update_or_create``), so a job an operator re-timed in admin
snapped back to the settings' time at the next deploy. ``GuardedDatabaseScheduler`` only
creates the entries missing from the database and leaves stored rows as they are
(docs/decisions/0040): schedule, enabled, arguments, options. The one change it makes to a
stored row is re-pointing it at a renamed task: when the row's task is no longer registered
and the settings name another one for that entry.

Two beats would send every job twice, so the scheduler holds a PostgreSQL session advisory
lock (``BeatLock``) on a connection of its own for its whole life. A second beat waits for it
(logging that it is on standby) and takes over when the first one stops: the server drops a
session lock when its connection goes, whether the process exited or was killed. If the lock
connection breaks, the beat exits rather than run unguarded; its supervisor restarts it and
it queues for the lock again.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Callable, Mapping

from django.db import IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import DatabaseError
from django_celery_beat.models import PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

logger = logging.getLogger("pointsmall.beat")

# Any fixed 64-bit number works; this one is derived from a name so it reads as ours in pg_locks.
LOCK_KEY = zlib.crc32(b"pointsmall.beat")
# A standby beat asks for the lock this often; the takeover after a crash waits at most this long.
STANDBY_POLL_SECONDS = 5.0


class BeatLock:
    """A PostgreSQL session advisory lock held on a dedicated connection.

    Not the ORM's connection: django-celery-beat closes that one now and then
    (``close_old_connections``), which would release a session lock. Other databases
    (the SQLite demo) have no such lock: ``acquire`` logs that beat runs unguarded.
    """

    def __init__(self, *, alias: str = "default", key: int = LOCK_KEY) -> None:
        self.alias = alias
        self.key = key
        self._connection: BaseDatabaseWrapper | None = None

    @property
    def guarded(self) -> bool:
        return self._connection is not None

    def acquire(
        self, *, poll_seconds: float = STANDBY_POLL_SECONDS, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Block until this process holds the lock (a no-op warning on databases without advisory locks)."""
        connection = connections.create_connection(self.alias)
        if connection.vendor != "postgresql":
            logger.warning("beat lock: %s has no advisory locks; this beat runs unguarded", connection.vendor)
            return
        told = False
        while True:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
                (got,) = cursor.fetchone()
            if got:
                self._connection = connection
                logger.info("beat lock %s acquired: this beat schedules the jobs", self.key)
                return
            if not told:
                logger.warning(
                    "beat lock %s is held by another beat: waiting on standby (retrying every %ss)",
                    self.key,
                    poll_seconds,
                )
                told = True
            sleep(poll_seconds)

    def held(self) -> bool:
        """Whether the lock's connection still answers (a session lock lives as long as it does)."""
        if self._connection is None:
            return True  # unguarded: nothing to lose
        try:
            with self._connection.cursor() as cursor:
                # Asked of the server, not "does the connection answer": a wrapper that quietly
                # reconnected would answer from a new session that holds no lock.
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = %s)",
                    [self.key],
                )
                (held,) = cursor.fetchone()
        except DatabaseError:
            return False
        return bool(held)

    def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.close()  # ends the session, which releases the lock
            except DatabaseError:
                logger.warning("beat lock %s: closing its connection failed; the server drops it", self.key)


def schedule_seed(mapping: Mapping[str, Mapping], *, registered: Callable[[str], bool]) -> dict[str, list[str]]:
    """Create the schedule entries of ``mapping`` (``CELERY_BEAT_SCHEDULE`` shape) missing from the
    database; never change an existing row, except its ``task`` when that task is not
    ``registered`` and the settings name another (a renamed task).

    Returns ``{"created": [...], "kept": [...], "repointed": [...]}`` (entry names). Safe to call
    twice. Raises ValueError for a schedule django-celery-beat cannot store.
    """
    report: dict[str, list[str]] = {"created": [], "kept": [], "repointed": []}
    for name, fields in mapping.items():
        stored = PeriodicTask.objects.filter(name=name).only("pk", "task").first()
        if stored is None:
            # The same translation django-celery-beat's own seeding uses (schedule rows included).
            defaults = ModelEntry._unpack_fields(**fields)
            try:
                with transaction.atomic():
                    PeriodicTask.objects.create(name=name, **defaults)
            except IntegrityError:  # created meanwhile (a beat on a database without the lock)
                report["kept"].append(name)
            else:
                report["created"].append(name)
            continue
        task = fields.get("task")
        if task and stored.task != task and not registered(stored.task):
            # update(), not save(): the row's other fields may have been changed since it was read.
            PeriodicTask.objects.filter(pk=stored.pk).update(task=task)
            PeriodicTasks.update_changed()  # running schedulers notice changes through this row
            logger.warning("beat schedule: entry %s re-pointed from %s to %s", name, stored.task, task)
            report["repointed"].append(name)
        else:
            report["kept"].append(name)
    return report


class GuardedDatabaseScheduler(DatabaseScheduler):
    """``DatabaseScheduler`` that seeds only missing entries and runs under ``BeatLock``.

    Set as ``CELERY_BEAT_SCHEDULER`` (``pointsmall.beat:GuardedDatabaseScheduler``).
    """

    lock: BeatLock | None = None
    lock_lost = False

    def setup_schedule(self) -> None:
        # Under the lock: a standby beat neither seeds nor schedules.
        self.lock = BeatLock()
        self.lock.acquire()
        super().setup_schedule()

    def update_from_dict(self, mapping: Mapping[str, Mapping]) -> None:
        # The registered tasks (for the rename rule): beat imported every app's jobs before this
        # (``init_loader``); importing them again here would re-run django.setup() and its logging.
        try:
            report = schedule_seed(mapping, registered=lambda task: task in self.app.tasks)
        except Exception:
            logger.exception("beat schedule: seeding from settings failed; the stored schedule runs as it is")
            return
        if mapping:
            logger.info(
                "beat schedule from settings: %d created, %d kept as stored, %d re-pointed",
                len(report["created"]),
                len(report["kept"]),
                len(report["repointed"]),
            )
        entries = {}
        for model in PeriodicTask.objects.filter(name__in=list(mapping), enabled=True):
            entries[model.name] = self.Entry(model, app=self.app)
        self.schedule.update(entries)

    def tick(self, *args, **kwargs) -> float:
        if self.lock is not None and not self.lock.held():
            logger.error("beat lock lost (its database connection broke): exiting so that no two beats run")
            self.lock_lost = True
            raise SystemExit(1)
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.lock is not None:
                self.lock.release()
            if self.lock_lost:
                # Celery's beat loop swallows SystemExit and the process would end with status 0,
                # which a restart-on-failure supervisor takes as a deliberate stop. The schedule has
                # been saved (close runs inside beat's final sync): leave with a failure status.
                logging.shutdown()
                os._exit(1)
