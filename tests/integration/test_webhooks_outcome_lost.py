"""A webhook delivered whose outcome cannot be recorded (the worker's database connection terminated
between the POST and the UPDATE, for real) is recorded anyway and never posted a second time,
whatever the retry sweep does after the claim's lease (REVIEW_FINDINGS, "an e-mail sent twice":
the same shape for webhooks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from points import services as points_services
from pointsmall.integration import jobs, webhooks
from pointsmall.integration.enums import WebhookDeliveryStatus as Status
from pointsmall.integration.enums import WebhookEventType as E
from pointsmall.integration.models import WebhookDelivery
from pointsmall.kernel import outbox
from tests.connection_helpers import run_like_a_worker, terminate_django_backend
from tests.integration.webhook_helpers import host_with_member, http_receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    monkeypatch.setattr(jobs.webhook_send, "delay", lambda *args, **kwargs: None)


def terminate_before_recording_sent(monkeypatch) -> list[int]:
    done: list[int] = []
    original = webhooks._finish

    def finish(claim, **fields):
        if fields.get("status") == Status.SENT and not done:
            terminate_django_backend()
            done.append(claim.delivery_id)
        return original(claim, **fields)

    monkeypatch.setattr(webhooks, "_finish", finish)
    return done


def sweep_after_the_lease() -> dict:
    with time_machine.travel(timezone.now() + webhooks.CLAIM_LEASE + timedelta(minutes=1), tick=False):
        return webhooks.webhooks_send_due()


@pytest.mark.parametrize("record_tries", [None, 1], ids=["recorded-on-a-new-connection", "recorded-by-the-retry"])
def test_a_webhook_whose_sent_update_hits_a_terminated_connection_is_recorded_and_posted_once(
    member, setup, monkeypatch, record_tries
):
    if record_tries is not None:
        # The database "stays away" for every try: the job's retry records the outcome.
        monkeypatch.setattr(outbox, "RECORD_TRIES", record_tries, raising=False)
    with http_receiver(200) as receiver:
        host_with_member(member, "u-1", url=receiver.url, events=[E.POINTS_EARNED])
        points_services.points_earn(user_id=member.pk, amount=40, idempotency_key="e1")
        delivery = WebhookDelivery.objects.get()
        terminations = terminate_before_recording_sent(monkeypatch)
        assert run_like_a_worker(jobs.webhook_send, delivery.pk) == Status.SENT
        assert terminations == [delivery.pk]
        assert sweep_after_the_lease() == {}
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == (Status.SENT, 1, 200)
    assert len(receiver.hits) == 1
