"""One row per Celery job that must not be lost (docs/decisions/0038)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxJob(models.Model):
    """A job written in the transaction that made it necessary, relayed to Celery after commit.

    ``sent_at`` is set once the broker took the message; until then the relay (right after
    commit, then the minute sweep) tries again at ``next_attempt_at``. Sent rows are purged
    after ``OUTBOX_KEEP_DAYS``.
    """

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        indexes = [
            # The relay reads only the unsent rows that are due: a small partial index.
            models.Index(fields=["next_attempt_at"], name="outbox_job_due", condition=Q(sent_at__isnull=True)),
            models.Index(fields=["sent_at"], name="outbox_job_sent", condition=Q(sent_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
