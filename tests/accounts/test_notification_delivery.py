"""Notification e-mail and SMS: preferences, the outbox, sending once, retries, language, unsubscribing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from accounts import jobs, selectors, services, sms
from accounts.enums import DeliveryStatus, NotificationChannel, NotificationKind
from accounts.exceptions import InvalidNotificationPreferenceError, UnsubscribeLinkInvalidError
from accounts.models import Delivery, MessageTemplate, Notification, NotificationPreference
from accounts.notices import tier_upgraded
from accounts.services.delivery import retry_delay
from tests.factories import MemberFactory

ORDER_SHIPPED = {"title": "Your order shipped", "body": "Parcel on its way.", "link": "/mall/orders/7/"}
GOLD = tier_upgraded(tier={"zh": "金卡", "en": "Gold"}, percent=90, multiplier="1.5", draws=0)


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    settings.MALL_NAME = ""
    settings.MALL_DOMAIN = "mall.example.org"
    settings.MALL_URL_SCHEME = "https"
    settings.NOTIFICATION_DELIVERY_MAX_ATTEMPTS = 3
    sms.outbox.clear()
    FlakyEmailBackend.failures_left = 0
    yield
    sms.outbox.clear()


class FlakyEmailBackend(BaseEmailBackend):
    """Refuses the next ``failures_left`` messages, then delivers like the locmem backend."""

    failures_left = 0

    def send_messages(self, messages):
        if FlakyEmailBackend.failures_left > 0:
            FlakyEmailBackend.failures_left -= 1
            raise ConnectionRefusedError("SMTP server down")
        return LocmemEmailBackend().send_messages(messages)


def verified_phone(member, phone="13800138000"):
    member.phone = phone
    member.phone_verified_at = timezone.now()
    member.save(update_fields=["phone", "phone_verified_at"])
    return member


def deliveries(notification_id):
    return dict(Delivery.objects.filter(notification_id=notification_id).values_list("channel", "status"))


def send_all(notification_id):
    for delivery_id in Delivery.objects.filter(notification_id=notification_id).values_list("pk", flat=True):
        services.delivery_send(delivery_id=delivery_id)


# --- Fan-out per preference -----------------------------------------------------------------


def test_defaults_order_goes_to_inbox_email_and_sms(member):
    verified_phone(member)
    notification_id = services.notification_send(user_id=member.pk, kind="order", transactional=True, **ORDER_SHIPPED)
    assert deliveries(notification_id) == {"email": "pending", "sms": "pending"}
    assert Notification.objects.get(pk=notification_id).in_inbox is True


@pytest.mark.parametrize("kind", ["points", "announcement", "activity"])
def test_defaults_other_kinds_reach_only_the_inbox(member, kind):
    notification_id = services.notification_send(user_id=member.pk, kind=kind, title="Hello")
    assert deliveries(notification_id) == {}
    assert Notification.objects.get(pk=notification_id).in_inbox is True


def test_defaults_account_messages_are_e_mailed(member):
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    assert deliveries(notification_id) == {"email": "pending"}


def test_preferences_decide_the_channels(member):
    verified_phone(member)
    services.notification_preferences_set(
        user_id=member.pk,
        choices={"announcement": {"inbox": False, "email": True, "sms": True}, "order": {"sms": False}},
    )
    announcement = services.notification_send(user_id=member.pk, kind="announcement", title="Sale")
    order = services.notification_send(user_id=member.pk, kind="order", title="Shipped")
    assert deliveries(announcement) == {"email": "pending", "sms": "pending"}
    assert Notification.objects.get(pk=announcement).in_inbox is False
    assert deliveries(order) == {"email": "pending"}
    assert selectors.notification_unread_count(user_id=member.pk) == 1


def test_a_transactional_message_reaches_the_inbox_with_the_inbox_switched_off(member):
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"inbox": False}})
    transactional = services.notification_send(user_id=member.pk, kind="account", transactional=True, title="Shipped")
    other = services.notification_send(user_id=member.pk, kind="account", title="Survey")
    assert Notification.objects.get(pk=transactional).in_inbox is True
    assert Notification.objects.get(pk=other).in_inbox is False
    assert [n.title for n in selectors.notification_list(user_id=member.pk).object_list] == ["Shipped"]


def test_bulk_fan_out_follows_each_members_preferences(member, other_member, django_assert_max_num_queries):
    services.notification_preferences_set(user_id=member.pk, choices={"announcement": {"email": True}})
    services.notification_preferences_set(user_id=other_member.pk, choices={"announcement": {"inbox": False}})
    third = MemberFactory()
    created = services.notifications_send_bulk(
        user_ids=[member.pk, other_member.pk, third.pk], kind="announcement", dedupe_key="sale-1", title="Sale"
    )
    assert created == 3
    rows = {n.user_id: n for n in Notification.objects.filter(dedupe_key="sale-1")}
    assert rows[other_member.pk].in_inbox is False
    assert rows[member.pk].in_inbox is rows[third.pk].in_inbox is True
    assert deliveries(rows[member.pk].pk) == {"email": "pending"}
    assert Delivery.objects.count() == 1
    # Run again (a retried job): no new message, no second delivery.
    assert (
        services.notifications_send_bulk(
            user_ids=[member.pk, other_member.pk, third.pk], kind="announcement", dedupe_key="sale-1", title="Sale"
        )
        == 0
    )
    assert Delivery.objects.count() == 1


def test_a_deduplicated_resend_writes_no_second_delivery(member):
    first = services.notification_send(user_id=member.pk, kind="account", title="Hi", dedupe_key="o7")
    second = services.notification_send(user_id=member.pk, kind="account", title="Hi", dedupe_key="o7")
    assert first == second
    assert Delivery.objects.filter(notification_id=first).count() == 1


def test_deliveries_are_enqueued_after_commit(member, django_capture_on_commit_callbacks, settings):
    from pointsmall.celery import app as celery_app

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
            assert deliveries(notification_id) == {"email": "pending"}
    finally:
        celery_app.conf.task_always_eager = before
    assert len(callbacks) == 1
    assert deliveries(notification_id) == {"email": "sent"}
    assert [m.subject for m in mail.outbox] == ["【Points Mall】New sign-in"]


# --- Preferences service --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "reason"),
    [
        ({"weather": {"email": True}}, "unknown kind 'weather'"),
        ({"order": {"pigeon": True}}, "unknown channel 'pigeon'"),
        ({"order": {"email": "yes"}}, "a choice is on or off"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_is_written(member, choices, reason):
    with pytest.raises(InvalidNotificationPreferenceError) as caught:
        services.notification_preferences_set(user_id=member.pk, choices={"points": {"email": True}, **choices})
    assert caught.value.params["reason"] == reason
    assert not NotificationPreference.objects.exists()


def test_setting_preferences_twice_keeps_one_row_per_choice(member):
    services.notification_preferences_set(user_id=member.pk, choices={"points": {"email": True}})
    services.notification_preferences_set(user_id=member.pk, choices={"points": {"email": False}})
    assert list(NotificationPreference.objects.values_list("kind", "channel", "enabled")) == [
        ("points", "email", False)
    ]


# --- Sending once -----------------------------------------------------------------------------


def test_the_job_run_twice_sends_once(member):
    verified_phone(member)
    notification_id = services.notification_send(user_id=member.pk, kind="order", **ORDER_SHIPPED)
    for delivery_id in Delivery.objects.filter(notification_id=notification_id).values_list("pk", flat=True):
        assert jobs.delivery_send(delivery_id) == "sent"
        assert jobs.delivery_send(delivery_id) == "sent"
    assert len(mail.outbox) == 1
    assert len(sms.outbox) == 1
    assert sms.outbox[0] == sms.SmsMessage(
        "13800138000", "【Points Mall】Your order shipped Parcel on its way. https://mall.example.org/mall/orders/7/"
    )
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    # And the sweep finds nothing due.
    assert services.deliveries_send_due() == {}


def test_a_delivery_claimed_by_another_worker_is_not_sent_again(member):
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    delivery = Delivery.objects.get(notification_id=notification_id)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=10)
    )
    assert services.delivery_send(delivery_id=delivery.pk) == "sending"
    assert mail.outbox == []


def test_a_claim_of_a_worker_that_died_lapses_and_the_sweep_sends(member):
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    Delivery.objects.filter(notification_id=notification_id).update(
        status=DeliveryStatus.SENDING, attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.deliveries_send_due() == {"sent": 1}
    assert Delivery.objects.get(notification_id=notification_id).attempts == 2
    assert len(mail.outbox) == 1


def test_a_member_without_a_verified_address_gets_no_delivery_for_it(member):
    member.emailaddress_set.update(verified=False)
    notification_id = services.notification_send(user_id=member.pk, kind="order", title="Shipped")
    assert not Delivery.objects.filter(notification_id=notification_id).exists()
    verified_phone(member)
    bulk = services.notifications_send_bulk(user_ids=[member.pk], kind="order", dedupe_key="d1", title="Sale")
    assert bulk == 1
    assert list(Delivery.objects.filter(notification__dedupe_key="d1").values_list("channel", flat=True)) == ["sms"]


def test_an_address_lost_between_queueing_and_sending_is_skipped_with_the_reason(member):
    verified_phone(member)
    notification_id = services.notification_send(user_id=member.pk, kind="order", title="Shipped")
    member.emailaddress_set.update(verified=False)
    member.phone_verified_at = None
    member.save(update_fields=["phone_verified_at"])
    send_all(notification_id)
    rows = {d.channel: d for d in Delivery.objects.filter(notification_id=notification_id)}
    assert rows["email"].status == "skipped"
    assert (rows["email"].reason, rows["email"].last_error) == ("no_email", "")
    assert rows["sms"].status == "skipped"
    assert (rows["sms"].reason, rows["sms"].last_error) == ("no_phone", "")
    assert mail.outbox == [] and sms.outbox == []


def test_switching_e_mail_off_before_the_send_skips_it(member):
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"email": False}})
    send_all(notification_id)
    assert deliveries(notification_id) == {"email": "skipped"}
    assert mail.outbox == []


# --- Retries ----------------------------------------------------------------------------------


def test_retry_delays_double_up_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_a_failing_email_backend_is_retried_with_backoff_then_sent(member, settings):
    settings.EMAIL_BACKEND = "tests.accounts.test_notification_delivery.FlakyEmailBackend"
    FlakyEmailBackend.failures_left = 2
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
        delivery = Delivery.objects.get(notification_id=notification_id)
        assert services.delivery_send(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (1, start + timedelta(minutes=1))
    assert delivery.last_error == "ConnectionRefusedError: SMTP server down"
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert services.deliveries_send_due() == {}  # not due yet
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert services.deliveries_send_due() == {"pending": 1}
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, start + timedelta(minutes=3))
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        call_command("accounts_deliveries_retry")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    assert len(mail.outbox) == 1


def test_a_delivery_fails_for_good_after_the_last_attempt(member, settings):
    settings.EMAIL_BACKEND = "tests.accounts.test_notification_delivery.FlakyEmailBackend"
    FlakyEmailBackend.failures_left = 10
    notification_id = services.notification_send(user_id=member.pk, kind="account", title="New sign-in")
    delivery = Delivery.objects.get(notification_id=notification_id)
    moment = timezone.now()
    for _attempt in range(3):
        with time_machine.travel(moment, tick=False):
            services.deliveries_send_due()
        moment += timedelta(hours=1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    with time_machine.travel(moment + timedelta(days=1), tick=False):
        assert services.deliveries_send_due() == {}
    assert mail.outbox == []


# --- Rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member_language", "sender_language", "subject", "body"),
    [
        ("en", "zh-hans", "【Points Mall】Congratulations, you are now Gold", "10% off the points price"),
        ("zh-hans", "en", "【积分商城】恭喜您，已成为金卡", "积分价9折"),
    ],
)
def test_the_email_is_in_the_members_language_not_the_senders(member, member_language, sender_language, subject, body):
    member.language = member_language
    member.save(update_fields=["language"])
    with translation.override(sender_language):
        notification_id = services.notification_send(user_id=member.pk, kind="account", **GOLD.message)
        send_all(notification_id)
    (message,) = mail.outbox
    assert message.subject == subject
    assert body in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert body in html
    assert f'lang="{member_language}"' in html


def test_the_email_has_the_mall_name_link_text_and_html_parts_and_one_click_unsubscribe(member, settings):
    settings.MALL_NAME = "Acme Rewards"
    notification_id = services.notification_send(
        user_id=member.pk, kind="account", title="A <b>new</b> sign-in", body="From Paris.", link="/me/profile/"
    )
    send_all(notification_id)
    (message,) = mail.outbox
    assert message.subject == "【Acme Rewards】A <b>new</b> sign-in"
    assert message.to == [member.email]
    assert "https://mall.example.org/me/profile/" in message.body
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://mall.example.org/me/unsubscribe/") and unsubscribe.endswith("/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in message.body
    html = message.alternatives[0][0]
    assert "A &lt;b&gt;new&lt;/b&gt; sign-in" in html
    assert "<table" not in html
    assert 'href="https://mall.example.org/me/profile/"' in html
    assert "Acme Rewards" in html and "mall.example.org" in html


def test_a_transactional_email_has_no_unsubscribe_link(member):
    notification_id = services.notification_send(user_id=member.pk, kind="order", transactional=True, title="Shipped")
    send_all(notification_id)
    (message,) = mail.outbox
    assert "List-Unsubscribe" not in message.extra_headers
    assert "/unsubscribe/" not in message.body


def test_an_operator_template_rewrites_email_and_sms_in_the_members_language(member):
    verified_phone(member)
    member.language = "zh-hans"
    member.save(update_fields=["language"])
    MessageTemplate.objects.create(
        message_code=GOLD.code,
        language="zh-hans",
        email_subject="{{ member_name }}，您升级了",
        email_body="{{ title }}！{{ params.percent }}折 {{ link }}",
        sms_text="升级为{{ tier.zh }}",
    )
    MessageTemplate.objects.create(message_code=GOLD.code, language="en", email_subject="English only")
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"sms": True}})
    notification_id = services.notification_send(user_id=member.pk, kind="account", link="/me/", **GOLD.message)
    send_all(notification_id)
    name = member.email.partition("@")[0]
    (message,) = mail.outbox
    assert message.subject == f"【积分商城】{name}，您升级了"
    assert "恭喜您，已成为金卡！90折 https://mall.example.org/me/" in message.body
    assert [m.text for m in sms.outbox] == ["【积分商城】升级为金卡"]


def test_a_long_sms_is_shortened_and_keeps_the_mall_name_and_the_link(member):
    verified_phone(member)
    notification_id = services.notification_send(
        user_id=member.pk, kind="order", title="T" * 100, body="正文" * 150, link="/mall/orders/12345/"
    )
    send_all(notification_id)
    (message,) = sms.outbox
    link = "https://mall.example.org/mall/orders/12345/"
    assert len(message.text) == services.delivery.SMS_MAX
    assert message.text.startswith("【Points Mall】" + "T" * 100 + " 正文")
    assert message.text.endswith("… " + link)


def test_an_operator_sms_with_the_link_inside_keeps_it_when_shortened(member):
    verified_phone(member)
    MessageTemplate.objects.create(
        message_code=GOLD.code, language="en", sms_text="{{ link }} {% for i in '12345' %}{{ body }} {% endfor %}.end"
    )
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"sms": True}})
    notification_id = services.notification_send(user_id=member.pk, kind="account", link="/me/", **GOLD.message)
    send_all(notification_id)
    (message,) = sms.outbox
    assert len(message.text) <= services.delivery.SMS_MAX
    assert message.text.startswith("【Points Mall】Your benefits")
    assert message.text.endswith("… https://mall.example.org/me/")


def test_a_long_subject_is_shortened_and_keeps_the_mall_name(member, settings):
    settings.MALL_NAME = "M" * 30
    MessageTemplate.objects.create(message_code=GOLD.code, language="en", email_subject="{{ title }} " * 5)
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"email": True}})
    send_all(services.notification_send(user_id=member.pk, kind="account", **GOLD.message))
    (message,) = mail.outbox
    assert len(message.subject) == services.delivery.SUBJECT_MAX
    assert message.subject.startswith("【" + "M" * 30 + "】Congratulations") and message.subject.endswith("…")


@pytest.mark.parametrize(
    "template",
    [
        {"email_body": '{{ title|ljust:"5000000" }}', "sms_text": '{{ title|rjust:"5000000" }}'},
        {
            "email_body": "{% for a in body %}{% for b in body %}{% for c in body %}x"
            "{% endfor %}{% endfor %}{% endfor %}",
            "sms_text": "{% for a in body %}{% for b in body %}{{ body }}{% endfor %}{% endfor %}",
        },
        # Saved before the caps, or too long only with this message's parameters.
        {"email_body": '{{ title|ljust:"900" }}|' * 30, "sms_text": '{{ title|ljust:"900" }}|'},
    ],
)
def test_an_operator_template_that_renders_too_much_falls_back_to_the_built_in_text(member, template):
    verified_phone(member)
    MessageTemplate.objects.create(message_code=GOLD.code, language="en", **template)
    services.notification_preferences_set(user_id=member.pk, choices={"account": {"sms": True}})
    notification_id = services.notification_send(user_id=member.pk, kind="account", link="/me/", **GOLD.message)
    send_all(notification_id)
    assert deliveries(notification_id) == {"email": "sent", "sms": "sent"}
    (message,) = mail.outbox
    built_in = Notification.objects.get(pk=notification_id)
    with translation.override("en"):
        text = built_in.text()
    assert text.body in message.body and len(message.body) < 2000
    assert [m.text for m in sms.outbox] == [f"【Points Mall】{text.title} {text.body} https://mall.example.org/me/"]


# --- Unsubscribing ----------------------------------------------------------------------------


def test_the_unsubscribe_link_confirms_on_get_and_switches_off_on_post(client, member):
    token = services.unsubscribe_token(user_id=member.pk, kind="announcement")
    services.notification_preferences_set(user_id=member.pk, choices={"announcement": {"email": True}})
    url = reverse("notification_unsubscribe", args=[token])
    page = client.get(url)
    assert page.status_code == 200
    assert "Stop e-mails about “Announcements”?" in page.content.decode()
    assert selectors.notification_channels(user_ids=[member.pk], kind="announcement")[member.pk] == {
        "inbox",
        "email",
    }
    done = client.post(url)
    assert done.status_code == 200
    assert "you will no longer receive e-mails about “Announcements”" in done.content.decode()
    assert selectors.notification_channels(user_ids=[member.pk], kind="announcement")[member.pk] == {"inbox"}


def test_one_click_unsubscribe_works_without_csrf_or_login(member):
    from django.test import Client

    token = services.unsubscribe_token(user_id=member.pk, kind="account")
    response = Client(enforce_csrf_checks=True).post(
        reverse("notification_unsubscribe", args=[token]), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert NotificationPreference.objects.get(user=member).enabled is False


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_or_forged_unsubscribe_token_is_refused_and_writes_nothing(client, member, method):
    forged = signing.dumps({"u": member.pk, "k": "account"}, salt="another.salt")
    for token in ("nonsense", forged, services.unsubscribe_token(user_id=member.pk, kind="weather")):
        response = getattr(client, method)(reverse("notification_unsubscribe", args=[token]))
        assert response.status_code == 400
        assert "This unsubscribe link is not valid or has expired." in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_an_expired_unsubscribe_token_is_refused(member):
    with time_machine.travel(timezone.now() - timedelta(days=181), tick=False):
        token = services.unsubscribe_token(user_id=member.pk, kind="account")
    with pytest.raises(UnsubscribeLinkInvalidError):
        services.notification_unsubscribe(token=token)
    assert not NotificationPreference.objects.exists()


def test_channel_enum_and_kinds_cover_the_matrix():
    assert NotificationChannel.values == ["inbox", "email", "sms"]
    assert NotificationKind.ORDER in NotificationKind.values
