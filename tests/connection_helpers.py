"""Database connections cut for real (``pg_terminate_backend``), and jobs run as a worker runs them."""

from __future__ import annotations

import time

import psycopg2
from celery.exceptions import Retry
from django.db import connection

WAIT_SECONDS = 30  # liveness bound: a terminated backend is gone in well under a second


def terminate_django_backend() -> None:
    """End the backend of Django's connection from another connection, and wait until it is gone."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        victim = cursor.fetchone()[0]
    s = connection.settings_dict
    killer = psycopg2.connect(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432
    )
    killer.autocommit = True
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
            assert cursor.fetchone() == (True,)
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [victim])
                if cursor.fetchone() is None:
                    return
                time.sleep(0.05)
        raise AssertionError("the terminated backend did not go away")
    finally:
        killer.close()


def run_like_a_worker(task, *args):
    """Run ``task`` here as a worker would: each retry it asks for (Celery raises Retry from an
    eager run) runs next, with the arguments it gave; returns the last run's result."""
    signature = task.signature(args)
    for _run in range(task.max_retries + 1):
        try:
            return signature.apply(throw=True).get()
        except Retry as retry:
            connection.close_if_unusable_or_obsolete()  # as the worker does between jobs
            signature = retry.sig
    raise AssertionError("the job retried more than its max_retries")
