"""The chaos run's e-mail backend: Django's file backend writing into ``CHAOS_MAIL_DIR``.

The settings read ``EMAIL_BACKEND`` from the environment but not the file backend's path, so the
run's gunicorn and Celery worker get ``EMAIL_BACKEND=bench.chaos_mail.EmailBackend`` and the folder
in ``CHAOS_MAIL_DIR``; bench.chaos counts the messages written there.
"""

from __future__ import annotations

import os

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class EmailBackend(FileBackend):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("file_path", os.environ["CHAOS_MAIL_DIR"])
        super().__init__(*args, **kwargs)
