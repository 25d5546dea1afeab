"""The job outbox: Celery jobs that must not be lost, written as rows in the caller's transaction.

Public surface: ``pointsmall.outbox.services`` (``job_enqueue``). docs/decisions/0038.
"""
