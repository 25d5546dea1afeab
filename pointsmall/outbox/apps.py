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
    """A worker finished a task: if the outbox relayed it, its row is done when the task succeeded
    or failed for good. Not when it only scheduled a retry (the retry's message carries the header
    again and marks it when it ends), nor when it ended without a state: Celery terminated it (the
    broker connection was lost mid-run) and the message it puts back may be gone with the broker,
    so the row stays due and the relay sweep publishes it again after its lease."""
    if task is None or state not in (states.SUCCESS, states.FAILURE):
        return
    from pointsmall.outbox import services

    request = task.request
    job_id = request.get(services.OUTBOX_HEADER) or (getattr(request, "headers", None) or {}).get(
        services.OUTBOX_HEADER
    )
    if job_id is not None:
        services.job_done(int(job_id))
