"""The job outbox: write a job in the caller's transaction, relay it to Celery after commit.

A job that must not be lost (docs/decisions/0038) is a row, written with the work that made
it necessary: it exists exactly when that work committed. Right after commit the row is
relayed (best effort, through ``pointsmall.kernel.publish``: a broker that is away costs the
request a bounded moment and no error, and while this process pauses publishing, nothing); the
minute sweep (``outbox.jobs_relay``, beat) relays whatever is still unsent, with back-off.

A row stays the outbox's until the job has run, not until the broker took it: the message
carries the row's id (header ``OUTBOX_HEADER``), and when a worker finishes the job (success,
or failure for good) ``job_done`` marks the row done. A row sent and not done within
``settings.JOB_OUTBOX_LEASE_SECONDS`` is due again, and the sweep publishes it again (the broker
lost it). Delivery to Celery is at least once, so relayed tasks are idempotent, as every task here is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pointsmall import logs
from pointsmall.kernel import outbox, publish
from pointsmall.kernel.transactions import after_commit
from pointsmall.outbox.models import OutboxJob

logger = logging.getLogger(__name__)

# The longest wait between two relays of one unsent job: after the broker comes back, every
# held job is on its way within this (plus the sweep's minute).
RETRY_CAP = timedelta(minutes=5)
# Done rows are kept this long (to look at in the admin), then purged.
KEEP_SENT = timedelta(days=7)
PURGE_BATCH = 5000
# The message header carrying the row's id to the worker (see job_done).
OUTBOX_HEADER = "outbox_job"


def _task_known(name: str) -> bool:
    if name in current_app.tasks:
        return True
    # A web process registers a task when its module is first imported: import every app's jobs
    # (what a worker does on start; once per process) before calling the name unknown.
    current_app.loader.import_default_modules()
    return name in current_app.tasks


def job_enqueue(task: Task | str, *args: Any, **kwargs: Any) -> int:
    """Write the job ``task(*args, **kwargs)`` in the caller's transaction; relay it once that commits.

    ``task`` is a Celery task or its registered name; arguments must be JSON values. Returns the
    row's id. Outside a transaction the row is committed and relayed at once. Never raises for
    the broker: a failed relay is logged (once per publishing pause) and the sweep tries again.
    A rolled-back transaction leaves no row and relays nothing. The row keeps the current request
    id, which the job carries however late it is relayed.

    Raises ValueError for a task name no worker knows: its row would never be done, and the relay
    would publish it again after every lease, for ever.
    """
    name = task if isinstance(task, str) else task.name
    if not _task_known(name):
        raise ValueError(f"the job outbox cannot hold {name!r}: no such Celery task")
    job = OutboxJob.objects.create(
        task=name, args=list(args), kwargs=kwargs, request_id=logs.request_id_current() or ""
    )
    after_commit(lambda: jobs_relay(ids=[job.pk], after_commit=True), label=f"relay outbox job {name}")
    return job.pk


def job_done(job_id: int) -> None:
    """Mark the row ``job_id`` done: a worker finished its job (succeeded, or failed for good).
    Called from the worker (``pointsmall.outbox.apps``); a second call changes nothing."""
    OutboxJob.objects.filter(pk=job_id, done_at__isnull=True).update(done_at=timezone.now())


@dataclass(frozen=True)
class _Claim:
    job_id: int
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    attempt: int
    request_id: str


def _claim(*, ids: list[int] | None, limit: int, now: datetime) -> list[_Claim]:
    """Take the due jobs not done for this relayer (``SKIP LOCKED``: a row another relayer holds is
    left to it): unsent ones, and sent ones whose lease lapsed. Each claim counts an attempt and
    moves the row's next attempt out by the back-off, which is also the claim's lease: a relayer
    that dies leaves the row due again then."""
    with transaction.atomic():
        due = OutboxJob.objects.select_for_update(skip_locked=True).filter(
            done_at__isnull=True, next_attempt_at__lte=now
        )
        if ids is not None:
            due = due.filter(pk__in=ids)
        fields = ("pk", "task", "args", "kwargs", "attempts", "request_id")
        rows = list(due.order_by("next_attempt_at", "pk").values(*fields)[:limit])
        claims = [
            _Claim(row["pk"], row["task"], row["args"], row["kwargs"], row["attempts"] + 1, row["request_id"])
            for row in rows
        ]
        for claim in claims:
            OutboxJob.objects.filter(pk=claim.job_id).update(
                attempts=F("attempts") + 1, next_attempt_at=now + outbox.backoff(claim.attempt, cap=RETRY_CAP)
            )
    return claims


def _publish(claim: _Claim) -> None:
    """Hand the job to Celery (in-process mode: run it), with the row's id and the originating
    request's id in its headers. Raises what the broker raised."""
    headers: dict[str, Any] = {OUTBOX_HEADER: claim.job_id}
    if claim.request_id:
        headers[logs.TASK_HEADER] = claim.request_id
    task = current_app.tasks.get(claim.task)
    if task is None:
        current_app.send_task(claim.task, args=tuple(claim.args), kwargs=claim.kwargs, headers=headers)
    else:
        task.apply_async(args=tuple(claim.args), kwargs=claim.kwargs, headers=headers)


def jobs_relay(
    *, ids: list[int] | None = None, limit: int = 500, now: datetime | None = None, after_commit: bool = False
) -> dict[str, int]:
    """Relay the due jobs not done (``ids``: only those) to Celery; returns ``{"sent": n, "held": n}``.

    Runs outside any transaction of the caller's (it talks to the broker). The first broker error
    ends the run: the jobs claimed and not yet sent stay held (error recorded) until their next
    attempt, so an outage costs one bounded publish, not one per job. ``after_commit`` (request
    and service code): publish through ``pointsmall.kernel.publish``, which skips the broker
    while this process pauses it (the rows stay due for the sweep) and logs one line per pause;
    the sweep (in the worker, where the broker is) ignores the pause. A sent job is due again
    ``settings.JOB_OUTBOX_LEASE_SECONDS`` later unless a worker marked it done. Safe to run twice
    and on several workers: each job is claimed first; only the claim's owner marks it sent.
    """
    if after_commit and publish.paused():
        return {"sent": 0, "held": len(ids or [])}
    now = now or timezone.now()
    claims = _claim(ids=ids, limit=limit, now=now)
    lease = timedelta(seconds=settings.JOB_OUTBOX_LEASE_SECONDS)
    sent = 0
    for index, claim in enumerate(claims):
        error = _relay_one(claim, after_commit=after_commit)
        if error is not None:
            held = claims[index:]
            OutboxJob.objects.filter(pk__in=[job.job_id for job in held], done_at__isnull=True).update(
                last_error=error[:500]
            )
            return {"sent": sent, "held": len(held)}
        sent_at = timezone.now()
        OutboxJob.objects.filter(pk=claim.job_id, attempts=claim.attempt).update(
            sent_at=sent_at, next_attempt_at=sent_at + lease, last_error=""
        )
        sent += 1
    return {"sent": sent, "held": 0}


def _relay_one(claim: _Claim, *, after_commit: bool) -> str | None:
    """Publish one claimed job; returns the error text when the broker refused it, else None."""
    try:
        if after_commit:
            if publish.publish(lambda: _publish(claim), what=f"outbox job {claim.task}"):
                return None
            return publish.pause_reason() or "publishing paused"
        _publish(claim)
    except Exception as error:  # not the broker (run in-process: the job itself failed), or the sweep
        logger.warning("outbox: job(s) held from %s on, the broker refused it: %s", claim.task, error)
        return f"{type(error).__name__}: {error}"
    return None


def jobs_purge(*, now: datetime | None = None, keep: timedelta = KEEP_SENT) -> int:
    """Delete jobs done more than ``keep`` ago, in batches; returns how many. Jobs not done are never
    deleted. Safe to run twice and on several workers."""
    cutoff = (now or timezone.now()) - keep
    deleted = 0
    while True:
        batch = list(OutboxJob.objects.filter(done_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += OutboxJob.objects.filter(pk__in=batch).delete()[0]
