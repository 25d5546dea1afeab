"""One row per Celery job that must not be lost (docs/decisions/0038)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxJob(models.Model):
    """A job written in the transaction that made it necessary, relayed to Celery after commit.

    The row is the outbox's responsibility until ``done_at``: set when a worker finished the job
    (succeeded, or failed for good after its retries). ``sent_at`` is set when the broker took
    the message, and the row is then due again a lease later (``JOB_OUTBOX_LEASE_SECONDS``): a
    broker that lost the message (a Redis restarted without its data) costs a delay, not the job.
    Until then, the relay (right after commit, then the minute sweep) tries at ``next_attempt_at``.
    ``request_id`` is the id of the request that wrote it, carried by the job it becomes. Done
    rows are purged after a week.
    """

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    request_id = models.CharField(_("request id"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        indexes = [
            # The relay reads only the rows not done that are due: a small partial index.
            models.Index(fields=["next_attempt_at"], name="outbox_job_pending", condition=Q(done_at__isnull=True)),
            models.Index(fields=["done_at"], name="outbox_job_done", condition=Q(done_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
