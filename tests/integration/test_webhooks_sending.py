"""Sending webhooks to a real HTTP server on 127.0.0.1: the signature a host checks, retries with
backoff, giving up after WEBHOOK_RETRY_HOURS, no redirects, the SSRF refusals, the admin's
"Send again", the retry command and a real Celery worker."""

from __future__ import annotations

import ipaddress
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from points import services as points_services
from pointsmall.integration import jobs, webhooks
from pointsmall.integration.admin_webhooks import WebhookEndpointForm
from pointsmall.integration.enums import WebhookDeliveryStatus as Status
from pointsmall.integration.enums import WebhookEventType as E
from pointsmall.integration.models import WebhookDelivery, WebhookEndpoint
from tests.factories import StaffFactory
from tests.integration.webhook_helpers import host_with_member, http_receiver, verify

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def private_hosts(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def no_tasks(monkeypatch):
    """After-commit nudges go nowhere: the tests call the sender themselves."""
    monkeypatch.setattr(jobs.webhook_send, "delay", lambda delivery_id: None)


def earned_event(member, url: str, events=(E.POINTS_EARNED,)):
    host, _endpoint = host_with_member(member, "u-1", url=url, events=list(events))
    points_services.points_earn(user_id=member.pk, amount=40, idempotency_key="e1")
    return host, WebhookDelivery.objects.get()


def test_a_500_is_retried_after_the_backoff_and_the_sweep_delivers_it(member, private_hosts, no_tasks):
    with http_receiver(500, 200) as receiver, time_machine.travel(T0, tick=False) as clock:
        host, delivery = earned_event(member, receiver.url)
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.PENDING
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.PENDING, 1, 500)
        assert (delivery.last_response, delivery.last_error) == ("upstream trouble", "HTTP 500")
        assert delivery.next_attempt_at == T0 + timedelta(minutes=1)
        # Not due yet: the sweep leaves it.
        assert webhooks.webhooks_send_due() == {}
        clock.move_to(T0 + timedelta(minutes=1, seconds=1))
        assert webhooks.webhooks_send_due() == {Status.SENT: 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.SENT, 2, 200)
    assert delivery.sent_at == T0 + timedelta(minutes=1, seconds=1)
    assert (delivery.last_response, delivery.last_error) == ('{"ok": true}', "")
    assert len(receiver.hits) == 2
    for hit in receiver.hits:
        # The host's check, with its own copy of the secret, over the raw bytes it received.
        assert verify(host.secret, hit.headers["X-Mall-Signature"], hit.body)
        assert not verify("another secret", hit.headers["X-Mall-Signature"], hit.body)
        assert hit.json["id"] == str(delivery.event_id) == hit.headers["X-Mall-Event-Id"]
        assert hit.json["type"] == "points.earned" == hit.headers["X-Mall-Event"]
        assert hit.json["data"]["member"] == "u-1"
        assert hit.headers["X-Mall-Key"] == host.key_id
        assert hit.headers["Content-Type"] == "application/json"
        assert hit.headers["User-Agent"] == webhooks.USER_AGENT
    # Both attempts carry the same event: the host drops the repeat by its id.
    assert receiver.hits[0].body == receiver.hits[1].body
    timestamps = [hit.headers["X-Mall-Signature"].split(",")[0] for hit in receiver.hits]
    assert timestamps == [f"t={int(T0.timestamp())}", f"t={int(T0.timestamp()) + 61}"]


def test_a_sent_delivery_is_never_sent_again(member, private_hosts, no_tasks):
    with http_receiver(200) as receiver:
        _host, delivery = earned_event(member, receiver.url)
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.SENT
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.SENT
        assert webhooks.webhooks_send_due() == {}
    assert len(receiver.hits) == 1
    assert WebhookDelivery.objects.get().attempts == 1


def test_the_backoff_doubles_up_to_two_hours():
    assert [webhooks.retry_delay(n) for n in (1, 2, 3, 4, 7, 8, 30)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(minutes=64),
        timedelta(hours=2),
        timedelta(hours=2),
    ]


def test_redirects_are_not_followed(member, private_hosts, no_tasks):
    with http_receiver(302, location="http://127.0.0.1:9/elsewhere") as receiver, time_machine.travel(T0, tick=False):
        _host, delivery = earned_event(member, receiver.url)
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.PENDING
    delivery.refresh_from_db()
    assert (delivery.last_status_code, delivery.last_error) == (302, "HTTP 302")
    assert [hit.path for hit in receiver.hits] == ["/hooks"]


def test_after_the_retry_window_the_delivery_fails_for_good(member, private_hosts, no_tasks, settings):
    settings.WEBHOOK_RETRY_HOURS = 24
    with http_receiver(503) as receiver, time_machine.travel(T0, tick=False) as clock:
        _host, delivery = earned_event(member, receiver.url)
        # A failure close to the end: the last try is at the deadline, not after it.
        clock.move_to(T0 + timedelta(hours=23, minutes=59))
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.PENDING
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + timedelta(hours=24)
        clock.move_to(T0 + timedelta(hours=24))
        assert webhooks.webhooks_send_due() == {Status.FAILED: 1}
        clock.move_to(T0 + timedelta(hours=30))
        assert webhooks.webhooks_send_due() == {}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.FAILED, 2, 503)
    assert len(receiver.hits) == 2


def test_a_network_error_is_retried(member, private_hosts, no_tasks):
    # A port nobody listens on (bound, then closed).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with time_machine.travel(T0, tick=False):
        _host, delivery = earned_event(member, f"http://127.0.0.1:{port}/hooks")
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (1, None)
    assert delivery.last_error.startswith("ConnectionError: ")


def test_a_private_host_is_refused_at_send_time_without_a_request(member, settings, no_tasks, private_hosts):
    with http_receiver(200) as receiver:
        _host, delivery = earned_event(member, receiver.url)  # saved while private hosts were allowed
        settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.FAILED, 1, None)
    assert delivery.last_error == "webhook_https_required: A webhook URL must use https."
    assert receiver.hits == []


def test_a_name_that_resolves_to_a_private_address_is_refused_at_send_time(member, settings, no_tasks, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    _host, delivery = earned_event(member, "https://hooks.example.com/in")

    def resolves_inside(host, port, *args, **kwargs):
        # The name was public when saved; it points at the mall's own network now.
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolves_inside)
    assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    assert delivery.last_error == (
        "webhook_host_not_allowed: The webhook host hooks.example.com is a loopback, private, link-local or "
        "reserved address (10.0.0.5): the mall does not call its own network."
    )


@pytest.mark.parametrize(
    "address",
    ["2606:4700:4700::1111", "64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "93.184.215.14"],
)
def test_public_addresses_and_ipv6_forms_of_public_ipv4_pass(address):
    assert webhooks._address_refused(ipaddress.ip_address(address)) is False


def test_a_name_that_briefly_fails_dns_is_retried_not_failed(member, settings, no_tasks, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    with time_machine.travel(T0, tick=False):
        _host, delivery = earned_event(member, "https://hooks.example.com/in")

        def lookup_fails(host, port, *args, **kwargs):
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

        monkeypatch.setattr(socket, "getaddrinfo", lookup_fails)
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.PENDING
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.PENDING, 1, None)
    assert delivery.next_attempt_at == T0 + timedelta(minutes=1)
    assert delivery.last_error == (
        "webhook_host_unresolved: The webhook host hooks.example.com has no address (DNS lookup failed)."
    )
    # Still failing at the end of the retry window: failed for good then, like a network error.
    with time_machine.travel(T0 + timedelta(hours=settings.WEBHOOK_RETRY_HOURS), tick=False):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.FAILED


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://hooks.example.com/in", "webhook_url_invalid"),
        ("http://hooks.example.com/in", "webhook_https_required"),
        ("https://127.0.0.1/in", "webhook_host_not_allowed"),
        ("https://[::1]/in", "webhook_host_not_allowed"),
        ("https://169.254.169.254/latest", "webhook_host_not_allowed"),
        ("https://192.168.1.10/in", "webhook_host_not_allowed"),
        ("https://[::ffff:10.0.0.1]/in", "webhook_host_not_allowed"),
        ("https://100.64.0.1/in", "webhook_host_not_allowed"),
        # IPv6 forms that carry a private IPv4 address: NAT64, 6to4, IPv4-compatible, Teredo.
        ("https://[64:ff9b::7f00:1]/in", "webhook_host_not_allowed"),
        ("https://[64:ff9b::a9fe:a9fe]/latest", "webhook_host_not_allowed"),
        ("https://[64:ff9b:1::a00:1]/in", "webhook_host_not_allowed"),
        ("https://[2002:7f00:1::]/in", "webhook_host_not_allowed"),
        ("https://[2002:a00:1::1]/in", "webhook_host_not_allowed"),
        ("https://[::7f00:1]/in", "webhook_host_not_allowed"),
        ("https://[::a00:1]/in", "webhook_host_not_allowed"),
        # Credentials would be shown on every admin page that shows the URL.
        ("https://user:pw@hooks.example.com/in", "webhook_credentials_in_url"),
        ("https://hooks.example.com:99999/in", "webhook_port_invalid"),
    ],
)
def test_the_admin_form_refuses_urls_the_mall_must_not_call(url, code, settings, host):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    form = WebhookEndpointForm(data={"client": host.client_id, "url": url, "events": [E.ORDER_CREATED]})
    assert not form.is_valid()
    assert [error.code for error in form.errors.as_data()["url"]] == [code]
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_form_saves_a_public_https_endpoint_and_its_events(settings, host, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))],
    )
    form = WebhookEndpointForm(
        data={
            "client": host.client_id,
            "url": "https://hooks.example.com/in",
            "events": [E.LOTTERY_WON, E.ORDER_CREATED],
            "enabled": "on",
        }
    )
    assert form.is_valid(), form.errors
    endpoint = form.save()
    assert (endpoint.url, endpoint.events, endpoint.enabled) == (
        "https://hooks.example.com/in", ["order.created", "lottery.won"], True,
    )  # fmt: skip


def test_local_urls_are_allowed_when_the_setting_is_on(private_hosts, host):
    form = WebhookEndpointForm(
        data={"client": host.client_id, "url": "http://127.0.0.1:8001/in", "events": [E.POINTS_SPENT]}
    )
    assert form.is_valid(), form.errors


# --- Send again ---------------------------------------------------------------------------------


def _failed_delivery(member, url: str) -> WebhookDelivery:
    _host, delivery = earned_event(member, url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED, attempts=12, last_status_code=500, last_error="HTTP 500"
    )
    return delivery


def test_send_again_in_the_admin_needs_its_permission(member, client, settings, private_hosts, no_tasks):
    settings.ADMIN_REQUIRE_MFA = False
    delivery = _failed_delivery(member, "http://127.0.0.1:9/in")
    staff = StaffFactory(is_superuser=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client.force_login(staff)
    url = reverse("admin:integration_webhookdelivery_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert "send_again" not in page.content.decode()
    response = client.post(url, {"action": "send_again", "_selected_action": [delivery.pk]})
    assert response.status_code in (200, 302)
    assert WebhookDelivery.objects.get().status == Status.FAILED


def test_send_again_queues_a_failed_delivery_and_it_is_delivered(
    member, client, settings, private_hosts, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ADMIN_REQUIRE_MFA = False
    queued: list[int] = []
    monkeypatch.setattr(jobs.webhook_send, "delay", queued.append)
    with http_receiver(200) as receiver:
        delivery = _failed_delivery(member, receiver.url)
        sent = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint, event_type=E.POINTS_EARNED, payload={}, status=Status.SENT
        )
        staff = StaffFactory(is_superuser=False)
        staff.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_webhookdelivery", "resend_webhookdelivery"])
        )
        client.force_login(staff)
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:integration_webhookdelivery_changelist"),
                {"action": "send_again", "_selected_action": [delivery.pk, sent.pk]},
                follow=True,
            )
        messages = [str(m) for m in response.context["messages"]]
        assert messages == [
            "1 webhook delivery queued to be sent again now.",
            "1 selected delivery was left alone: only failed ones are sent again.",
        ]
        assert queued == [delivery.pk]
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_error) == (
            Status.PENDING,
            0,
            "HTTP 500",
        )  # why it failed before stays readable
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.SENT
    assert len(receiver.hits) == 1
    assert receiver.hits[0].json["id"] == str(delivery.event_id)
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_the_retry_command_requeues_failures_since_a_day_and_sends_what_is_due(member, private_hosts, no_tasks, capsys):
    with http_receiver(200) as receiver:
        delivery = _failed_delivery(member, receiver.url)
        call_command("integration_webhooks_retry", "--failed-since", "2000-01-01")
    out = capsys.readouterr().out
    assert "Queued again: 1 failed webhook deliveries since 2000-01-01." in out
    assert "Webhook deliveries: 1 sent." in out
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    assert len(receiver.hits) == 1


# --- A real worker --------------------------------------------------------------------------------


@pytest.mark.celery
def test_a_worker_sends_an_events_delivery(celery_worker, member, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    with http_receiver(200) as receiver:
        host, _endpoint = host_with_member(member, "u-1", url=receiver.url, events=[E.POINTS_EARNED])
        # Committed (a transactional test): on commit the send is queued to the worker.
        points_services.points_earn(user_id=member.pk, amount=40, idempotency_key="e1")
        delivery = WebhookDelivery.objects.get()
        # The worker runs tasks one at a time, in order: this one runs after the first.
        assert jobs.webhook_send.delay(delivery.pk).get(timeout=30) == "sent"
        assert jobs.webhooks_retry.delay().get(timeout=30) == {}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.SENT, 1, 200)
    [hit] = receiver.hits
    assert verify(host.secret, hit.headers["X-Mall-Signature"], hit.body)
    assert hit.json["data"] == {
        "entry_id": hit.json["data"]["entry_id"],
        "points": 40,
        "source": "",
        "pending": False,
        "available_at": hit.json["data"]["available_at"],
        "balance_after": 40,
        "member": "u-1",
    }


def test_an_endpoint_switched_off_after_the_event_is_not_called(member, private_hosts, no_tasks):
    with http_receiver(200) as receiver:
        _host, delivery = earned_event(member, receiver.url)
        WebhookEndpoint.objects.update(enabled=False)
        assert webhooks.webhook_send(delivery_id=delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (Status.FAILED, "endpoint or client switched off: not sent")
    assert receiver.hits == []
