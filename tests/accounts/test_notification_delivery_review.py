"""Notification delivery, second review: sending failed deliveries again, permanent errors,
send deadlines, the template sandbox's frozen context, visible template fallbacks, translated
syntax errors, the message-code picker and stored skip reasons (docs/decisions/0029)."""

from __future__ import annotations

import http.server
import smtplib
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from accounts import jobs, message_templates, services, sms
from accounts.enums import DeliveryReason
from accounts.models import Delivery, MessageTemplate, Notification
from accounts.notices import tier_upgraded
from accounts.services.delivery import CLAIM_LEASE, message_render
from points import notices
from tests.factories import MemberFactory, StaffFactory

pytestmark = pytest.mark.django_db

GOLD = tier_upgraded(tier={"zh": "金卡", "en": "Gold"}, percent=90, multiplier="1.5", draws=0)


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    settings.MALL_NAME = ""
    settings.NOTIFICATION_DELIVERY_MAX_ATTEMPTS = 3
    settings.ADMIN_REQUIRE_MFA = False
    sms.outbox.clear()
    yield
    sms.outbox.clear()


class RecipientRefusedBackend(BaseEmailBackend):
    """An SMTP server that has no such mailbox (550): sending again cannot help."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"5.1.1 no such user")})


class GreylistingBackend(BaseEmailBackend):
    """An SMTP server that says "try later" (451): retried."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (451, b"4.7.1 try later")})


@pytest.fixture
def eager():
    """Celery runs the tasks enqueued after commit at once (as in development without Redis)."""
    from pointsmall.celery import app as celery_app

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def verified_phone(member, phone="13800138000"):
    member.phone, member.phone_verified_at = phone, timezone.now()
    member.save(update_fields=["phone", "phone_verified_at"])
    return member


def one_delivery(member, kind="account", channel="email") -> Delivery:
    notification_id = services.notification_send(user_id=member.pk, kind=kind, title="New sign-in")
    return Delivery.objects.get(notification_id=notification_id, channel=channel)


def fail_for_good(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=3, reason=DeliveryReason.GAVE_UP, last_error="ConnectionRefusedError: down"
    )


def operator_client(client):
    operator = MemberFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="Operators"))
    client.force_login(operator)
    return client


# --- Permanent errors fail at once -------------------------------------------------------------


def test_an_smtp_recipient_refused_for_good_fails_at_once_with_the_reason(member, settings):
    settings.EMAIL_BACKEND = "tests.accounts.test_notification_delivery_review.RecipientRefusedBackend"
    delivery = one_delivery(member)
    assert services.delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.reason) == ("failed", 1, "permanent")
    assert "550" in delivery.last_error and "no such user" in delivery.last_error


def test_an_smtp_try_later_is_retried(member, settings):
    settings.EMAIL_BACKEND = "tests.accounts.test_notification_delivery_review.GreylistingBackend"
    delivery = one_delivery(member)
    assert services.delivery_send(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.reason) == (1, "")


class TwilioAnswers:
    """A local stand-in for api.twilio.com answering ``status`` with ``body``, or dripping its
    answer a byte at a time (``drip``)."""

    def __init__(self, status=201, body=b'{"sid": "SM1"}', drip=False) -> None:
        answers = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(answers.status)
                self.send_header("Content-Length", str(len(answers.body)))
                self.end_headers()
                for byte in answers.body if answers.drip else [answers.body]:
                    try:
                        self.wfile.write(bytes([byte]) if answers.drip else byte)
                        self.wfile.flush()
                    except OSError:
                        return
                    if answers.drip:
                        time.sleep(0.4)

            def log_message(self, *args) -> None:
                pass

        self.status, self.body, self.drip = status, body, drip
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio_at(settings):
    servers = []

    def start(**answer) -> TwilioAnswers:
        server = TwilioAnswers(**answer)
        servers.append(server)
        settings.SMS_BACKEND = "accounts.sms.TwilioBackend"
        settings.SMS_TWILIO_ACCOUNT_SID, settings.SMS_TWILIO_AUTH_TOKEN = "AC1", "token"
        settings.SMS_TWILIO_FROM = "+15005550006"
        settings.SMS_TWILIO_BASE_URL = f"http://127.0.0.1:{server.server.server_address[1]}"
        settings.SMS_TWILIO_TIMEOUT = 1.0
        return server

    yield start
    for server in servers:
        server.close()


def test_a_twilio_invalid_number_fails_at_once_and_is_not_retried(member, twilio_at):
    twilio_at(status=400, body=b'{"code": 21211, "message": "Invalid To Phone Number"}')
    delivery = one_delivery(verified_phone(member), kind="order", channel="sms")
    assert services.delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.reason) == (1, "permanent")
    assert "21211" in delivery.last_error


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_twilio_timeouts_rate_limits_and_server_errors_are_retried(member, twilio_at, status):
    twilio_at(status=status, body=b'{"message": "later"}')
    with pytest.raises(sms.SmsError) as raised:
        sms.sms_deliver(phone="13800138000", text="Hi")
    assert raised.value.permanent is False


def test_a_twilio_answer_dripping_a_byte_at_a_time_stops_at_the_deadline(twilio_at):
    # 20 bytes 0.4 s apart: no single read waits 1 s, the whole answer would take 8 s.
    twilio_at(status=201, body=b'{"sid": "SM12345678"}', drip=True)
    with pytest.raises(sms.SmsError, match="took longer than SMS_TWILIO_TIMEOUT"):
        sms.sms_deliver(phone="13800138000", text="Hi")


def test_smtp_has_a_timeout_and_a_send_cannot_outlive_its_claim():
    assert django_settings.EMAIL_TIMEOUT and django_settings.EMAIL_TIMEOUT > 0
    lease = CLAIM_LEASE.total_seconds()
    for task in (jobs.delivery_send, jobs.deliveries_retry):
        assert task.soft_time_limit < task.time_limit < lease


# --- Sending again -----------------------------------------------------------------------------


def test_operators_send_a_failed_delivery_again_from_the_admin(
    client, member, eager, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    delivery = one_delivery(member)
    fail_for_good(delivery)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client(client).post(
            reverse("admin:accounts_delivery_changelist"), {"action": "send_again", "_selected_action": [delivery.pk]}
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    # Queued with a fresh budget, and (Celery eager in tests) sent after commit.
    assert (delivery.status, delivery.attempts, delivery.reason, delivery.last_error) == ("sent", 1, "", "")
    assert len(mail.outbox) == 1


def test_send_again_never_resends_a_sent_delivery_and_says_what_it_left(client, member):
    mail.outbox.clear()
    delivery = one_delivery(member)
    services.delivery_send(delivery_id=delivery.pk)
    assert len(mail.outbox) == 1
    response = operator_client(client).post(
        reverse("admin:accounts_delivery_changelist"),
        {"action": "send_again", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert "1 selected delivery was left alone" in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1


def test_a_delivery_skipped_for_a_missing_address_can_be_sent_once_verified(
    member, eager, django_capture_on_commit_callbacks
):
    delivery = one_delivery(member)
    member.emailaddress_set.update(verified=False)  # lost between queueing and sending
    services.delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == ("skipped", "no_email")
    member.emailaddress_set.update(verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_resend(delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == ("sent", "")


def test_a_delivery_skipped_because_the_member_switched_it_off_is_not_sent_again(member):
    delivery = one_delivery(member)
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"email": False}})
    services.delivery_send(delivery_id=delivery.pk)
    assert services.deliveries_resend(delivery_ids=[delivery.pk]) == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == ("skipped", "switched_off")


def test_customer_service_cannot_send_again(client, member):
    delivery = one_delivery(member)
    fail_for_good(delivery)
    agent = MemberFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    client.force_login(agent)
    changelist = client.get(reverse("admin:accounts_delivery_changelist"))
    assert changelist.status_code == 200
    assert "send_again" not in changelist.content.decode()
    client.post(
        reverse("admin:accounts_delivery_changelist"), {"action": "send_again", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_the_retry_command_queues_failed_deliveries_since_a_day(member):
    mail.outbox.clear()
    old, recent = one_delivery(member), one_delivery(MemberFactory())
    fail_for_good(old)
    fail_for_good(recent)
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    call_command("accounts_deliveries_retry", failed_since=since)
    assert dict(Delivery.objects.values_list("pk", "status")) == {old.pk: "failed", recent.pk: "sent"}
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("day", ["yesterday", "2026-13-01", ""])
def test_the_retry_command_refuses_a_bad_day_and_changes_nothing(member, day):
    delivery = one_delivery(member)
    fail_for_good(delivery)
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("accounts_deliveries_retry", failed_since=day)
    delivery.refresh_from_db()
    assert delivery.status == "failed"


# --- The template sandbox ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["clear", "pop", "popitem", "setdefault", "update", "copy"])
def test_a_template_cannot_change_the_context(method):
    context = {"title": "T", "params": {"tier": {"en": "Gold"}, "dates": [["2026-12-31", 5]]}}
    calls = "".join(f"{{{{ {name}.{method} }}}}" for name in ("params", "params.tier", "params.dates"))
    source = calls + "|{{ params.tier.en }}"
    assert message_templates.render_text(source, context) == "|Gold"
    assert context == {"title": "T", "params": {"tier": {"en": "Gold"}, "dates": [["2026-12-31", 5]]}}


def test_subject_text_and_sms_each_see_all_the_parameters(member):
    notification_id = services.notification_send(user_id=member.pk, kind="account", **GOLD.message)
    MessageTemplate.objects.create(
        message_code=GOLD.code,
        language="en",
        email_subject="{{ params.clear }}{{ params.tier.en }}",
        email_body="{{ params.popitem }}{{ params.tier.en }} {{ percent }}",
        sms_text="{{ params.tier.en }} {{ params|length }}",
    )
    rendered = message_render(Notification.objects.get(pk=notification_id))
    assert rendered.subject.endswith("Gold")
    assert "Gold 90" in rendered.text
    assert rendered.sms.endswith("Gold 4")
    assert rendered.template_errors == {}


# --- A template that fails at send time is visible ---------------------------------------------


def test_a_template_that_fails_at_send_time_is_recorded_on_the_delivery(member, caplog):
    notification_id = services.notification_send(user_id=member.pk, kind="account", **GOLD.message)
    MessageTemplate.objects.create(message_code=GOLD.code, language="en", email_body="{{ percent|divisibleby:0 }}")
    delivery = Delivery.objects.get(notification_id=notification_id)
    assert services.delivery_send(delivery_id=delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert delivery.reason == "template_fallback"
    assert delivery.last_error.startswith("operator template failed: email_body: ")
    assert "ZeroDivisionError" in delivery.last_error and delivery.last_error.endswith("sent the built-in text")
    assert any("sending the built-in text" in record.getMessage() for record in caplog.records)


def test_the_delivery_admin_shows_the_reason_in_the_readers_language(client, member):
    delivery = one_delivery(member)
    member.emailaddress_set.update(verified=False)  # lost between queueing and sending
    services.delivery_send(delivery_id=delivery.pk)
    client.force_login(StaffFactory())
    html = client.get(reverse("admin:accounts_delivery_change", args=[delivery.pk])).content.decode()
    assert "The member has no verified e-mail address" in html
    assert escape(f"E-mail #{delivery.notification_id}: Skipped") in html


def test_the_trial_render_uses_a_realistic_sample_not_placeholders(client):
    # No message of the code exists: the code's registered sample and a real-looking name are used,
    # so a template that tests for a placeholder cannot hide what it renders.
    assert not Notification.objects.filter(message_code=GOLD.code).exists()
    body = '{% if member_name != "Member" %}{{ title|ljust:"5000" }}{% endif %}ok'
    client.force_login(StaffFactory())
    response = client.post(
        reverse("admin:accounts_messagetemplate_add"),
        {"message_code": GOLD.code, "language": "en", "email_subject": "", "email_body": body, "sms_text": ""},
    )
    assert response.status_code == 200
    assert "This template cannot be used: the filter ljust takes a width of at most 1000" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_every_inbox_sample_fits_its_code():
    for code in notices.inbox_codes():
        sample = notices.inbox_sample(code)
        if sample is not None:
            notices.check(code, sample)


# --- Syntax errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% frobnicate %}", "Line 1: {% frobnicate %} is not a tag message templates can use."),
        ("{% load i18n %}", "Line 1: {% load %} is not a tag message templates can use."),
        ("{% if title %}x", "Line 1: {% if %} is never closed; add {% endif %}."),
        (
            "{% if title %}{% endfor %}",
            "Line 1: {% endfor %} is not expected here; close the open tag with {% endif %}.",
        ),
        ("{{ title|shout }}", "“shout” is not a filter message templates can use."),
        ("{{ title|date: }}", "“title|date:” cannot be read: “:” is not understood."),
        ("{{ params.__class__ }}", "“params.__class__”: names beginning with an underscore cannot be used"),
        ("{{ }}", "Line 1: {{ }} is empty; put a name inside."),
        ("{% %}", "Line 1: {% %} is empty; put a tag inside."),
        ("{{ title|cut }}", "The filter “cut” takes 1 argument, 0 given."),
        ("{% if %}", "The template has a syntax error: Unexpected end of expression in if tag."),
        ("{{ body|safe }}", "“safe” is not a filter message templates can use."),
        ("{{ params|safeseq }}", "“safeseq” is not a filter message templates can use."),
        (
            "{% autoescape off %}<img src=x onerror=alert(1)>{% endautoescape %}",
            "Line 1: {% autoescape %} is not a tag message templates can use.",
        ),
    ],
)
def test_syntax_errors_are_explained_without_suggesting_load(source, message):
    with pytest.raises(message_templates.TemplateTextError) as raised:
        message_templates.compile_text(source)
    assert str(raised.value).startswith(message)
    assert "load this tag" not in str(raised.value)


# --- The message-code picker --------------------------------------------------------------------


def test_the_picker_lists_only_codes_sent_as_messages_with_their_titles(client):
    client.force_login(StaffFactory())
    html = client.get(reverse("admin:accounts_messagetemplate_add")).content.decode()
    assert f'value="{GOLD.code}"' in html
    assert escape(f"Congratulations, you are now Gold ({GOLD.code})") in html
    assert 'value="points.purchase"' not in html  # a ledger memo, never a message
    assert set(notices.inbox_codes()) < set(notices.codes())


def test_the_picker_refuses_a_ledger_memo_code_and_writes_nothing(client):
    client.force_login(StaffFactory())
    response = client.post(
        reverse("admin:accounts_messagetemplate_add"),
        {"message_code": "points.purchase", "language": "en", "email_subject": "x", "email_body": "", "sms_text": ""},
    )
    assert response.status_code == 200
    assert not MessageTemplate.objects.exists()


def test_an_existing_template_shows_its_codes_parameters(client):
    template = MessageTemplate.objects.create(message_code=GOLD.code, language="en", email_subject="{{ title }}")
    client.force_login(StaffFactory())
    html = client.get(reverse("admin:accounts_messagetemplate_change", args=[template.pk])).content.decode()
    assert escape("{{ multiplier }}") in html and escape("{{ tier }}") in html


# --- Stored reasons and labels -----------------------------------------------------------------


def test_skip_reasons_are_codes_shown_in_the_readers_language(member):
    delivery = one_delivery(member)
    member.emailaddress_set.update(verified=False)  # lost between queueing and sending
    services.delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.reason, delivery.last_error) == ("no_email", "")
    with translation.override("en"):
        assert delivery.get_reason_display() == "The member has no verified e-mail address"
        assert str(delivery) == f"E-mail #{delivery.notification_id}: Skipped"
    with translation.override("zh-hans"):
        assert str(delivery) == (
            f"{delivery.get_channel_display()} #{delivery.notification_id}: {delivery.get_status_display()}"
        )
        assert not str(delivery).startswith("email #")
