"""The job outbox: write a job in the caller's transaction, relay it to Celery after commit.

A job that must not be lost (docs/decisions/0038) is a row, written with the work that made
it necessary: it exists exactly when that work committed. Right after commit the row is
relayed (best effort: a broker that is away costs the request a bounded moment and no
error); the minute sweep (``outbox.jobs_relay``, beat) relays whatever is still unsent, with
back-off. Delivery to Celery is at least once (a relayer that dies between publishing and
marking the row sends it again after its claim lapses), so relayed tasks are idempotent, as
every task here is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pointsmall.kernel import outbox
from pointsmall.kernel.transactions import after_commit
from pointsmall.outbox.models import OutboxJob

logger = logging.getLogger(__name__)

# The longest wait between two relays of one unsent job: after the broker comes back, every
# held job is on its way within this (plus the sweep's minute).
RETRY_CAP = timedelta(minutes=5)
# Sent rows are kept this long (to look at in the admin), then purged.
KEEP_SENT = timedelta(days=7)
PURGE_BATCH = 5000


def job_enqueue(task: Task | str, *args: Any, **kwargs: Any) -> int:
    """Write the job ``task(*args, **kwargs)`` in the caller's transaction; relay it once that commits.

    ``task`` is a Celery task or its registered name; arguments must be JSON values. Returns the
    row's id. Outside a transaction the row is committed and relayed at once. Never raises for
    the broker: a failed relay is logged and the sweep tries again. A rolled-back transaction
    leaves no row and relays nothing.
    """
    name = task if isinstance(task, str) else task.name
    job = OutboxJob.objects.create(task=name, args=list(args), kwargs=kwargs)
    after_commit(lambda: jobs_relay(ids=[job.pk]))
    return job.pk


@dataclass(frozen=True)
class _Claim:
    job_id: int
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    attempt: int


def _claim(*, ids: list[int] | None, limit: int, now: datetime) -> list[_Claim]:
    """Take the due unsent jobs for this relayer (``SKIP LOCKED``: a row another relayer holds is
    left to it). Each claim counts an attempt and moves the row's next attempt out by the back-off,
    which is also the claim's lease: a relayer that dies leaves the row due again then."""
    with transaction.atomic():
        due = OutboxJob.objects.select_for_update(skip_locked=True).filter(
            sent_at__isnull=True, next_attempt_at__lte=now
        )
        if ids is not None:
            due = due.filter(pk__in=ids)
        rows = list(due.order_by("next_attempt_at", "pk").values("pk", "task", "args", "kwargs", "attempts")[:limit])
        claims = [_Claim(row["pk"], row["task"], row["args"], row["kwargs"], row["attempts"] + 1) for row in rows]
        for claim in claims:
            OutboxJob.objects.filter(pk=claim.job_id).update(
                attempts=F("attempts") + 1, next_attempt_at=now + outbox.backoff(claim.attempt, cap=RETRY_CAP)
            )
    return claims


def _publish(claim: _Claim) -> None:
    """Hand the job to Celery (in-process mode: run it). Raises what the broker raised."""
    task = current_app.tasks.get(claim.task)
    if task is None:
        current_app.send_task(claim.task, args=tuple(claim.args), kwargs=claim.kwargs)
    else:
        task.apply_async(args=tuple(claim.args), kwargs=claim.kwargs)


def jobs_relay(*, ids: list[int] | None = None, limit: int = 500, now: datetime | None = None) -> dict[str, int]:
    """Relay the due unsent jobs (``ids``: only those) to Celery; returns ``{"sent": n, "held": n}``.

    Runs outside any transaction of the caller's (it talks to the broker). The first broker error
    ends the run: the jobs claimed and not yet sent stay held (error recorded) until their next
    attempt, so an outage costs one bounded publish, not one per job. Safe to run twice and on
    several workers: each job is claimed first; only the claim's owner marks it sent.
    """
    now = now or timezone.now()
    claims = _claim(ids=ids, limit=limit, now=now)
    sent = 0
    for index, claim in enumerate(claims):
        try:
            _publish(claim)
        except Exception as error:
            held = claims[index:]
            logger.warning("outbox: %s job(s) held, the broker refused %s: %s", len(held), claim.task, error)
            OutboxJob.objects.filter(pk__in=[job.job_id for job in held], sent_at__isnull=True).update(
                last_error=f"{type(error).__name__}: {error}"[:500]
            )
            return {"sent": sent, "held": len(held)}
        OutboxJob.objects.filter(pk=claim.job_id, attempts=claim.attempt, sent_at__isnull=True).update(
            sent_at=timezone.now(), last_error=""
        )
        sent += 1
    return {"sent": sent, "held": 0}


def jobs_purge(*, now: datetime | None = None, keep: timedelta = KEEP_SENT) -> int:
    """Delete jobs sent more than ``keep`` ago, in batches; returns how many. Unsent jobs are never
    deleted. Safe to run twice and on several workers."""
    cutoff = (now or timezone.now()) - keep
    deleted = 0
    while True:
        batch = list(OutboxJob.objects.filter(sent_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += OutboxJob.objects.filter(pk__in=batch).delete()[0]
