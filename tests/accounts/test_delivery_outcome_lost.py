"""A message sent whose outcome cannot be recorded (the database connection terminated between the
send and the UPDATE, as a failover or the chaos run's ``pg_terminate_backend`` does) is recorded
anyway and never sent a second time; a failed send's log line names no recipient.

The chaos run (REVIEW_FINDINGS, "an e-mail sent twice"): recording "sent" failed, the job's retry
found its own claim still held and left the row "sending", and the sweep sent the e-mail again
once the claim lapsed. The termination here is real: another connection ends the worker's backend.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts import jobs, services
from accounts.enums import DeliveryStatus
from accounts.models import Delivery
from accounts.services import delivery as delivery_module
from pointsmall.kernel import outbox
from tests.connection_helpers import run_like_a_worker, terminate_django_backend


@pytest.fixture
def quiet_nudges(monkeypatch):
    """After-commit nudges go nowhere: the tests run the job themselves."""
    monkeypatch.setattr(jobs.delivery_send, "delay", lambda *args, **kwargs: None)


@pytest.fixture
def eager_jobs(settings):
    from pointsmall.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def terminate_before_recording_sent(monkeypatch, times: int = 1) -> list[int]:
    """Terminate the worker's backend right before it records a *sent* outcome (the first
    ``times`` times); returns the list of terminations done."""
    done: list[int] = []
    original = delivery_module._finish

    def finish(claim, **fields):
        if fields.get("status") == DeliveryStatus.SENT and len(done) < times:
            terminate_django_backend()
            done.append(claim.delivery_id)
        return original(claim, **fields)

    monkeypatch.setattr(delivery_module, "_finish", finish)
    return done


def an_email_delivery(member, settings) -> Delivery:
    settings.MALL_DOMAIN = "mall.example.org"
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    return Delivery.objects.get(notification_id=notification_id)


def sweep_after_the_lease() -> dict:
    with time_machine.travel(timezone.now() + delivery_module.CLAIM_LEASE + timedelta(minutes=1), tick=False):
        return services.deliveries_send_due()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_email_whose_sent_update_hits_a_terminated_connection_is_recorded_and_sent_once(
    member, settings, monkeypatch, quiet_nudges, eager_jobs
):
    delivery = an_email_delivery(member, settings)
    terminations = terminate_before_recording_sent(monkeypatch)
    # The job as a worker runs it (its retries on a lost database included, run at once here).
    assert run_like_a_worker(jobs.delivery_send, delivery.pk) == DeliveryStatus.SENT
    assert terminations == [delivery.pk]
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT
    assert sweep_after_the_lease() == {}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<delivery-{delivery.pk}@mall.example.org>"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_outcome_that_cannot_be_recorded_goes_into_the_jobs_retry_which_records_it_without_sending(
    member, settings, monkeypatch, quiet_nudges, eager_jobs
):
    # Every try of the write fails (one try, then the database "stays away"): the retry records it.
    monkeypatch.setattr(outbox, "RECORD_TRIES", 1, raising=False)
    delivery = an_email_delivery(member, settings)
    terminate_before_recording_sent(monkeypatch)
    assert run_like_a_worker(jobs.delivery_send, delivery.pk) == DeliveryStatus.SENT
    row = Delivery.objects.get(pk=delivery.pk)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 1)
    assert row.sent_at is not None
    assert sweep_after_the_lease() == {}
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_an_outcome_it_cannot_record_to_a_job_and_does_not_send_again(
    member, settings, monkeypatch, quiet_nudges
):
    monkeypatch.setattr(outbox, "RECORD_TRIES", 1, raising=False)
    delivery = an_email_delivery(member, settings)
    terminate_before_recording_sent(monkeypatch)
    queued: list[dict] = []
    monkeypatch.setattr(jobs.delivery_send, "apply_async", lambda kwargs, countdown: queued.append(kwargs))
    assert services.deliveries_send_due() == {DeliveryStatus.SENDING: 1}
    assert [kwargs["delivery_id"] for kwargs in queued] == [delivery.pk]
    # The job, later: records, sends nothing.
    assert services.delivery_send(**queued[0]) == DeliveryStatus.SENT
    assert sweep_after_the_lease() == {}
    assert len(mail.outbox) == 1


class RefusingBackend:
    """An SMTP server that refuses the recipient, quoting the address as servers do."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        address = messages[0].to[0]
        raise smtplib.SMTPRecipientsRefused({address: (550, f"5.1.1 <{address}>: no such user".encode())})


@pytest.mark.django_db
def test_a_failed_delivery_logs_its_id_channel_and_smtp_answer_but_no_address(member, settings, caplog):
    settings.EMAIL_BACKEND = "tests.accounts.test_delivery_outcome_lost.RefusingBackend"
    address = member.email
    delivery = an_email_delivery(member, settings)
    with caplog.at_level(logging.INFO):
        assert services.delivery_send(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    lines = [record.getMessage() for record in caplog.records]
    failure = [line for line in lines if line.startswith(f"delivery {delivery.pk} (email) attempt 1 failed")]
    assert len(failure) == 1, lines
    assert "550" in failure[0] and "5.1.1" in failure[0] and "no such user" in failure[0]
    local = address.partition("@")[0]
    for record in caplog.records:
        assert address not in record.getMessage() and local not in record.getMessage()
