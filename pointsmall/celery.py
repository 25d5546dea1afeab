"""The Celery app. Entry points live in each app's ``jobs.py``: "tasks" is a member-facing app here."""

from __future__ import annotations

import os

from celery import Celery

from pointsmall import logs  # noqa: F401 (request ids into tasks; workers and beat log through settings.LOGGING)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")

app = Celery("pointsmall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")
