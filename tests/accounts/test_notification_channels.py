"""Notification channels from the outside: the preferences page, the inbox's ownership checks,
the message template admin, the Twilio adapter against a local fake, and a real Celery worker."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import jobs, message_templates, selectors, services, sms
from accounts.models import Delivery, MessageTemplate, Notification, NotificationPreference
from accounts.notices import tier_upgraded
from tests.factories import StaffFactory

GOLD = tier_upgraded(tier={"zh": "金卡", "en": "Gold"}, percent=90, multiplier="1.5", draws=0)


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def checked(response) -> set[tuple[str, str]]:
    """The (kind, channel) boxes ticked on the page."""
    html = response.content.decode()
    ticked = set()
    for piece in html.split('name="pref:')[1:]:
        name, _sep, rest = piece.partition('"')
        tag = rest.partition(">")[0]
        if " checked" in tag:
            kind, _sep, channel = name.partition(":")
            ticked.add((kind, channel))
    return ticked


# --- The preferences page ---------------------------------------------------------------------


def test_preferences_page_requires_login(client):
    response = client.get(reverse("notification_preferences"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_preferences_page_shows_the_defaults_and_the_hints(member_client):
    response = member_client.get(reverse("notification_preferences"))
    assert response.status_code == 200
    assert checked(response) == {
        ("points", "inbox"),
        ("order", "inbox"),
        ("order", "email"),
        ("account", "inbox"),
        ("account", "email"),
        ("announcement", "inbox"),
        ("activity", "inbox"),
    }
    html = response.content.decode()
    assert "Messages about your orders always reach your inbox." in html
    assert 'data-testid="sms-hint"' in html  # no verified phone
    assert 'data-testid="email-hint"' not in html
    # No verified phone: order SMS (on by default) shows unticked, not "ticked and greyed".
    assert 'name="pref:order:sms" aria-label="Orders: SMS" disabled' in html
    # Order messages always reach the inbox: the box says so, and cannot be changed.
    assert 'name="pref:order:inbox" aria-label="Orders: Inbox" checked disabled' in html


def test_preferences_page_is_linked_from_the_inbox_and_the_overview(member_client):
    url = reverse("notification_preferences")
    assert f'href="{url}"' in member_client.get(reverse("inbox")).content.decode()
    assert f'href="{url}"' in member_client.get(reverse("account_overview")).content.decode()


def test_saving_the_preferences(member_client, member):
    response = member_client.post(
        reverse("notification_preferences"),
        {"pref:order:inbox": "on", "pref:announcement:email": "on", "pref:account:inbox": "on"},
    )
    assert response.status_code == 302
    stored = set(NotificationPreference.objects.filter(user=member).values_list("kind", "channel", "enabled"))
    # Every available box is stored; SMS (no verified phone) and the always-on order inbox are left as they are.
    assert stored == {
        ("points", "inbox", False),
        ("points", "email", False),
        ("order", "email", False),
        ("account", "inbox", True),
        ("account", "email", False),
        ("announcement", "inbox", False),
        ("announcement", "email", True),
        ("activity", "inbox", False),
        ("activity", "email", False),
    }
    assert selectors.notification_channels(user_ids=[member.pk], kind="order")[member.pk] == {"inbox", "sms"}
    page = member_client.get(reverse("notification_preferences"))
    assert "Your notification settings are saved." in page.content.decode()
    assert ("announcement", "email") in checked(page)


def test_a_posted_channel_the_member_cannot_receive_is_left_as_it_is(member_client, member):
    # SMS without a verified phone: the page shows the box disabled; a hand-made POST is ignored.
    response = member_client.post(
        reverse("notification_preferences"), {"pref:points:sms": "on", "pref:points:inbox": "on"}
    )
    assert response.status_code == 302
    assert not NotificationPreference.objects.filter(user=member, channel="sms").exists()
    assert NotificationPreference.objects.get(user=member, kind="points", channel="inbox").enabled is True
    assert "sms" not in selectors.notification_channels(user_ids=[member.pk], kind="points")[member.pk]


def test_e_mail_cannot_be_switched_on_without_a_verified_address(member_client, member):
    EmailAddress.objects.filter(user=member).update(verified=False)
    response = member_client.get(reverse("notification_preferences"))
    assert 'name="pref:points:email" aria-label="Points: E-mail" disabled' in response.content.decode()
    member_client.post(reverse("notification_preferences"), {"pref:points:email": "on"})
    assert not NotificationPreference.objects.filter(user=member, channel="email").exists()
    # The service enforces it for every caller, not only the page.
    assert services.notification_preferences_set(user_id=member.pk, choices={"account": {"email": True}}) == 0
    assert not NotificationPreference.objects.filter(user=member, channel="email").exists()
    # Switching off stays possible (an unsubscribe link from before the address was unverified).
    assert services.notification_preferences_set(user_id=member.pk, choices={"order": {"email": False}}) == 1
    assert NotificationPreference.objects.get(user=member, kind="order", channel="email").enabled is False


def test_the_order_inbox_stays_on_whatever_is_posted_or_stored(member_client, member):
    member_client.post(reverse("notification_preferences"), {})
    assert not NotificationPreference.objects.filter(user=member, kind="order", channel="inbox").exists()
    assert services.notification_preferences_set(user_id=member.pk, choices={"order": {"inbox": False}}) == 0
    # A row stored before this rule still reads as on, on the page and when sending.
    NotificationPreference.objects.create(user=member, kind="order", channel="inbox", enabled=False)
    assert ("order", "inbox") in checked(member_client.get(reverse("notification_preferences")))
    notification_id = services.notification_send(user_id=member.pk, kind="order", title="Survey")
    assert Notification.objects.get(pk=notification_id).in_inbox is True


def test_the_preferences_page_names_the_channels_in_the_members_language(member_client, member):
    member.language = "zh-hans"
    member.save(update_fields=["language"])
    html = member_client.get(reverse("notification_preferences")).content.decode()
    for code in ("inbox", "email", "sms"):
        assert f': {code}"' not in html


@pytest.mark.parametrize(
    ("field", "reason"),
    [("pref:weather:email", "unknown kind 'weather'"), ("pref:order:pigeon", "unknown channel 'pigeon'")],
)
def test_unknown_kinds_or_channels_are_refused_and_nothing_is_written(member_client, member, field, reason):
    response = member_client.post(reverse("notification_preferences"), {"pref:order:inbox": "on", field: "on"})
    assert response.status_code == 400
    assert escape(f"These notification settings cannot be saved: {reason}") in response.content.decode()
    assert not NotificationPreference.objects.exists()


# --- The inbox: another member's message ------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_members_message_cannot_be_marked_read(member_client, other_member, method):
    notification_id = services.notification_send(user_id=other_member.pk, kind="points", title="Secret")
    response = getattr(member_client, method)(reverse("inbox_mark_read", args=[notification_id]))
    # POST: not found; GET: the endpoint only takes POST, and says nothing about the message.
    assert response.status_code == (404 if method == "post" else 405)
    assert Notification.objects.get(pk=notification_id).read_at is None
    assert "Secret" not in member_client.get(reverse("inbox")).content.decode()


# --- Message templates in the admin -----------------------------------------------------------


@pytest.fixture
def staff_client(client, settings, db):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    return client


def template_form(**fields):
    return {
        "message_code": GOLD.code,
        "language": "en",
        "email_subject": "",
        "email_body": "",
        "sms_text": "",
        **fields,
    }


def test_the_template_admin_saves_a_good_template(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_messagetemplate_add"),
        template_form(
            email_subject="{{ member_name }}, welcome to {{ tier.en }}", sms_text="{{ title|truncatechars:20 }}"
        ),
    )
    assert response.status_code == 302
    assert MessageTemplate.objects.get().email_subject == "{{ member_name }}, welcome to {{ tier.en }}"


@pytest.mark.parametrize(
    ("field", "source", "error"),
    [
        ("email_subject", "{% if %}", "The template has a syntax error: Unexpected end of expression in if tag."),
        ("email_body", "{% load static %}", "Line 1: {% load %} is not a tag message templates can use."),
        ("sms_text", "{% debug %}", "Line 1: {% debug %} is not a tag message templates can use."),
        ("email_body", "{% include 'base.html' %}", "Line 1: {% include %} is not a tag message templates can use."),
        ("email_body", "{{ title|nosuchfilter }}", "“nosuchfilter” is not a filter message templates can use."),
    ],
)
def test_the_template_admin_refuses_a_broken_or_unsafe_template(staff_client, field, source, error):
    response = staff_client.post(reverse("admin:accounts_messagetemplate_add"), template_form(**{field: source}))
    assert response.status_code == 200
    assert "This template cannot be used:" in response.content.decode()
    assert escape(error) in response.content.decode()
    assert not MessageTemplate.objects.exists()


@pytest.mark.parametrize(
    ("field", "source", "error"),
    [
        ("email_subject", '{{ title|ljust:"5000000" }}', "the filter ljust takes a width of at most 1000"),
        ("email_body", '{{ title|center:"1001" }}', "the filter center takes a width of at most 1000"),
        ("email_body", '{{ title|stringformat:"9999999s" }}', "the filter stringformat takes a width of at most 1000"),
        ("email_body", '{{ 1|floatformat:"100000" }}', "the filter floatformat takes a width of at most 1000"),
        (
            "email_body",
            "{% for a in link %}{% for b in link %}{% for c in link %}x{% endfor %}{% endfor %}{% endfor %}",
            "the loops would run more than 1000 times",
        ),
        ("email_body", "{{ link|make_list|join:'" + "x" * 3000 + "' }}", "the filter join would be longer"),
        ("email_body", "{% lorem 100000 w %}", "Line 1: {% lorem %} is not a tag message templates can use."),
        ("email_subject", '{{ title|ljust:"300" }}|', "at most 200 are allowed"),
        ("sms_text", '{{ title|ljust:"501" }}|', "at most 500 are allowed"),
        ("email_body", '{{ title|ljust:"900" }}|' * 23, "at most 20000 are allowed"),
    ],
)
def test_the_template_admin_refuses_a_template_that_renders_too_much(staff_client, field, source, error):
    response = staff_client.post(reverse("admin:accounts_messagetemplate_add"), template_form(**{field: source}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This template cannot be used:" in html
    assert escape(error) in html
    assert not MessageTemplate.objects.exists()


def test_a_template_of_modest_size_with_a_short_loop_is_accepted(staff_client):
    source = "{% for c in mall_name %}{{ c }}{% endfor %} {{ title|ljust:'40' }}|"
    response = staff_client.post(reverse("admin:accounts_messagetemplate_add"), template_form(email_body=source))
    assert response.status_code == 302
    assert message_templates.render_text(source, {"mall_name": "AB", "title": "T"}) == "AB " + "T".ljust(40) + "|"


def test_the_template_admin_refuses_an_unknown_message_code(staff_client):
    response = staff_client.post(reverse("admin:accounts_messagetemplate_add"), template_form(message_code="nope"))
    assert response.status_code == 200
    assert not MessageTemplate.objects.exists()


def test_the_template_admin_trial_renders_with_the_last_messages_parameters(staff_client, member):
    # A filter that fails on the last message's real parameters is caught before it is saved.
    services.notification_send(user_id=member.pk, kind="account", **GOLD.message)
    response = staff_client.post(
        reverse("admin:accounts_messagetemplate_add"), template_form(email_body="{{ percent|divisibleby:0 }}")
    )
    assert response.status_code == 200
    assert "This template cannot be used: A value does not fit where the template uses it: ZeroDivisionError" in (
        response.content.decode()
    )
    assert not MessageTemplate.objects.exists()


def test_the_delivery_admin_lists_and_filters(staff_client, member):
    services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    response = staff_client.get(reverse("admin:accounts_delivery_changelist"), {"status__exact": "pending"})
    assert response.status_code == 200
    assert member.email in response.content.decode()
    delivery = Delivery.objects.get()
    assert staff_client.get(reverse("admin:accounts_delivery_change", args=[delivery.pk])).status_code == 200
    assert staff_client.get(reverse("admin:accounts_delivery_add")).status_code == 403


# --- Twilio against a local fake --------------------------------------------------------------


class FakeTwilio:
    """A local HTTP server standing in for api.twilio.com: records requests, answers ``statuses``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "authorization": self.headers["Authorization"],
                        "content_type": self.headers["Content-Type"],
                        "form": dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())),
                    }
                )
                status = fake.statuses.pop(0) if fake.statuses else 201
                body = json.dumps({"sid": "SM1", "status": "queued"} if status == 201 else {"message": "boom"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeTwilio:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio(settings):
    with FakeTwilio() as fake:
        settings.SMS_BACKEND = "accounts.sms.TwilioBackend"
        settings.SMS_TWILIO_ACCOUNT_SID = "AC123"
        settings.SMS_TWILIO_AUTH_TOKEN = "secret-token"
        settings.SMS_TWILIO_FROM = "+15005550006"
        settings.SMS_TWILIO_BASE_URL = fake.url
        settings.SMS_TWILIO_TIMEOUT = 5
        settings.NOTIFICATION_DELIVERY_MAX_ATTEMPTS = 5
        yield fake


def test_twilio_posts_the_message_form_with_basic_auth(twilio):
    sms.sms_deliver(phone="13800138000", text="【积分商城】Hello")
    (request,) = twilio.requests
    assert request["method"] == "POST"
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["authorization"] == "Basic " + base64.b64encode(b"AC123:secret-token").decode()
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"To": "+8613800138000", "From": "+15005550006", "Body": "【积分商城】Hello"}


def test_twilio_errors_raise_for_deliveries_but_not_for_phone_codes(twilio):
    twilio.statuses = [400, 500]
    with pytest.raises(sms.SmsError, match="Twilio answered 400"):
        sms.sms_deliver(phone="+447700900123", text="Hi")
    assert sms.sms_send(phone="+447700900123", text="Your code") is False
    assert [r["form"]["To"] for r in twilio.requests] == ["+447700900123", "+447700900123"]


def test_a_twilio_500_is_retried_with_backoff_and_a_later_201_marks_it_sent(twilio, member):
    member.phone, member.phone_verified_at = "13800138000", timezone.now()
    member.save(update_fields=["phone", "phone_verified_at"])
    twilio.statuses = [500, 500]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        notification_id = services.notification_send(user_id=member.pk, kind="order", title="Shipped")
        delivery = Delivery.objects.get(notification_id=notification_id, channel="sms")
        assert services.delivery_send(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (1, start + timedelta(minutes=1))
    assert delivery.last_error.startswith('SmsError: Twilio answered 500: {"message": "boom"}')
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert services.delivery_send(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, start + timedelta(minutes=3))
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        assert services.delivery_send(delivery_id=delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    assert len(twilio.requests) == 3
    assert twilio.requests[-1]["form"]["Body"] == "【Points Mall】Shipped"


def test_twilio_unreachable_is_an_error(settings):
    settings.SMS_BACKEND = "accounts.sms.TwilioBackend"
    settings.SMS_TWILIO_ACCOUNT_SID, settings.SMS_TWILIO_AUTH_TOKEN, settings.SMS_TWILIO_FROM = "AC1", "t", "+1"
    settings.SMS_TWILIO_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(sms.SmsError, match="Twilio not reachable"):
        sms.sms_deliver(phone="13800138000", text="Hi")


def test_twilio_without_credentials_refuses_to_start(settings):
    settings.SMS_BACKEND = "accounts.sms.TwilioBackend"
    settings.SMS_TWILIO_ACCOUNT_SID = ""
    with pytest.raises(sms.SmsError, match="must be set"):
        sms.sms_deliver(phone="13800138000", text="Hi")


# --- A real Celery worker -----------------------------------------------------------------------


@pytest.mark.celery
def test_a_worker_sends_each_delivery_once_when_the_job_runs_twice(celery_worker, member, settings):
    # The worker runs in this process: locmem mail is visible here.
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    delivery = Delivery.objects.get(notification_id=notification_id)
    # After commit the send was enqueued; two more runs of the same job change nothing.
    first = jobs.delivery_send.delay(delivery.pk).get(timeout=30)
    second = jobs.delivery_send.delay(delivery.pk).get(timeout=30)
    assert (first, second) == ("sent", "sent")
    assert jobs.deliveries_retry.delay().get(timeout=30) == {}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert [m.subject for m in mail.outbox] == ["【Points Mall】New sign-in"]
