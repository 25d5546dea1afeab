from __future__ import annotations

from typing import Any

from celery import states
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pointsmall.outbox"
    label = "outbox"
    verbose_name = _("Job outbox")

    def ready(self) -> None:
        from celery.signals import task_postrun

        task_postrun.connect(_job_finished, dispatch_uid="pointsmall.outbox.job_finished", weak=False)


def _job_finished(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    """A worker finished a task: if the outbox relayed it, its row is done, unless the task only
    scheduled a retry (the retry's message carries the header again and marks it when it ends)."""
    if task is None or state == states.RETRY:
        return
    from pointsmall.outbox import services

    request = task.request
    job_id = request.get(services.OUTBOX_HEADER) or (getattr(request, "headers", None) or {}).get(
        services.OUTBOX_HEADER
    )
    if job_id is not None:
        services.job_done(int(job_id))
