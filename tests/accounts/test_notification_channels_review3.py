"""Notification channels, third review: boxes of channels a member cannot receive, deliveries
only for reachable channels, translated sandbox errors, no way to switch HTML escaping off, the
template picker's labels, the unsubscribe page's language and the e-mail's sender name
(docs/decisions/0029)."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from accounts import selectors, services, sms
from accounts.admin import _code_choices
from accounts.models import Delivery, MessageTemplate, NotificationPreference
from points import notices
from pointsmall.content.notices import ANNOUNCEMENT
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    settings.MALL_NAME = ""
    settings.MALL_DOMAIN = "mall.example.org"
    settings.MALL_URL_SCHEME = "https"
    settings.DEFAULT_FROM_EMAIL = "Points Mall <noreply@mall.example.org>"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def speaks(member, language):
    member.language = language
    member.save(update_fields=["language"])
    return member


def send(notification_id):
    for delivery in Delivery.objects.filter(notification_id=notification_id):
        services.delivery_send(delivery_id=delivery.pk)


# --- 1. Channels the member cannot receive --------------------------------------------------------


def test_a_channel_without_an_address_shows_unticked_whatever_is_stored(client, member):
    NotificationPreference.objects.create(user=member, kind="account", channel="sms", enabled=True)
    client.force_login(member)
    html = client.get(reverse("notification_preferences")).content.decode()
    # Stored on, default on: both unticked and disabled while there is no verified phone.
    assert 'name="pref:account:sms" aria-label="Account and security: SMS" disabled' in html
    assert 'name="pref:order:sms" aria-label="Orders: SMS" disabled' in html
    assert 'data-testid="sms-hint"' in html
    # Only the forced cell is ticked and disabled.
    assert 'name="pref:order:inbox" aria-label="Orders: Inbox" checked disabled' in html
    assert html.count("checked disabled") == 1
    # The stored choice is kept: once the phone is verified, the box shows it ticked.
    member.phone, member.phone_verified_at = "13800138000", timezone.now()
    member.save(update_fields=["phone", "phone_verified_at"])
    html = client.get(reverse("notification_preferences")).content.decode()
    assert 'name="pref:account:sms" aria-label="Account and security: SMS" checked>' in html


def test_no_delivery_is_written_for_a_channel_the_member_cannot_receive(member):
    member.emailaddress_set.update(verified=False)
    notification_id = services.notification_send(user_id=member.pk, kind="order", title="Shipped")
    assert not Delivery.objects.filter(notification_id=notification_id).exists()
    assert selectors.reachable_channels(user_ids=[member.pk, 0]) == {member.pk: {"inbox"}, 0: {"inbox"}}


def test_a_deactivated_member_gets_no_delivery(member):
    member.is_active = False
    member.save(update_fields=["is_active"])
    created = services.notifications_send_bulk(user_ids=[member.pk], kind="order", dedupe_key="x", title="Sale")
    assert created == 1
    assert not Delivery.objects.exists()


# --- 2 and 6. Sandbox errors in the operator's words; no switching escaping off --------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ params.__class__ }}",
            "“params.__class__”: names beginning with an underscore cannot be used in message templates.",
        ),
        ("{{ title|date: }}", "“title|date:” cannot be read: “:” is not understood."),
        ("{{ }}", "Line 1: {{ }} is empty; put a name inside."),
        ("{% %}", "Line 1: {% %} is empty; put a tag inside."),
        ("{{ title|cut }}", "The filter “cut” takes 1 argument, 0 given."),
        ("{{ title|upper:'x' }}", "The filter “upper” takes 0 arguments, 1 given."),
        ("{{ body|safe }}", "“safe” is not a filter message templates can use."),
        ("{{ params|safeseq }}", "“safeseq” is not a filter message templates can use."),
        (
            "{% autoescape off %}<img src=x onerror=alert(1)>{% endautoescape %}",
            "Line 1: {% autoescape %} is not a tag message templates can use.",
        ),
    ],
)
def test_the_admin_explains_common_syntax_errors_and_refuses_unescaping(client, source, message):
    client.force_login(StaffFactory())
    response = client.post(
        reverse("admin:accounts_messagetemplate_add"),
        {"message_code": notices.inbox_codes()[0], "language": "en", "email_subject": "", "email_body": source},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(f"This template cannot be used: {message}") in html
    assert "syntax error" not in html
    assert not MessageTemplate.objects.exists()


def test_the_html_part_escapes_what_an_operator_template_outputs(member):
    # Belt and braces: what an operator's template writes is text, escaped in the HTML layout.
    MessageTemplate.objects.create(
        message_code=ANNOUNCEMENT, language="en", email_body="<img src=x onerror=alert(1)> {{ body }}"
    )
    notification_id = services.notification_send(
        user_id=member.pk,
        kind="account",
        message_code=ANNOUNCEMENT,
        params={"title": {"zh": "<b>标题</b>", "en": "<b>Title</b>"}},
    )
    send(notification_id)
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# --- 3. The template picker -----------------------------------------------------------------------


def test_every_inbox_code_has_a_sample_and_a_unique_label_in_both_languages():
    for code in notices.inbox_codes():
        sample = notices.inbox_sample(code)
        assert sample is not None, code
        notices.check(code, sample)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            choices = _code_choices()
        assert [code for code, _label in choices] == notices.inbox_codes()
        labels = [label for _code, label in choices]
        for code, label in choices:
            assert label.endswith(f" ({code})") and label != code, label
        titles = [label.rpartition(" (")[0] for label in labels]
        assert len(set(titles)) == len(titles), [t for t in titles if titles.count(t) > 1]


def test_codes_sharing_a_title_are_told_apart_in_the_picker(client):
    client.force_login(StaffFactory())
    html = client.get(reverse("admin:accounts_messagetemplate_add")).content.decode()
    assert escape("Your friend Li Lei joined – ") in html
    assert "(accounts.referral_self)" in html and "(accounts.referral_monthly_cap)" in html


# --- 4. The unsubscribe page speaks the member's language -----------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_unsubscribe_page_is_in_the_members_language_not_the_browsers(client, member, method):
    speaks(member, "zh-hans")
    token = services.unsubscribe_token(user_id=member.pk, kind="announcement")
    url = reverse("notification_unsubscribe", args=[token])
    response = getattr(client, method)(url, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert 'lang="zh-hans"' in html and "退订" in html


def test_an_english_member_reads_the_unsubscribe_page_in_english_from_a_chinese_browser(client, member):
    speaks(member, "en")
    token = services.unsubscribe_token(user_id=member.pk, kind="announcement")
    response = client.get(reverse("notification_unsubscribe", args=[token]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response["Content-Language"] == "en"
    assert "Stop e-mails about “Announcements”?" in response.content.decode()


# --- 5. The sender's name -------------------------------------------------------------------------


def sender_of(message) -> str:
    return str(make_header(decode_header(message.message()["From"])))


@pytest.mark.parametrize(
    ("language", "mall_name", "sender"),
    [
        ("zh-hans", "", "积分商城 <noreply@mall.example.org>"),
        ("en", "", "Points Mall <noreply@mall.example.org>"),
        ("zh-hans", "Acme Rewards", "Acme Rewards <noreply@mall.example.org>"),
    ],
)
def test_the_sender_name_is_the_mall_name_in_the_recipients_language(member, settings, language, mall_name, sender):
    settings.MALL_NAME = mall_name
    speaks(member, language)
    send(services.notification_send(user_id=member.pk, kind="account", title="New sign-in"))
    (message,) = mail.outbox
    assert sender_of(message) == sender
    assert message.subject.startswith(f"【{sender.partition(' <')[0]}】")


def test_a_bare_from_address_gets_the_mall_name(member, settings):
    settings.DEFAULT_FROM_EMAIL = "mall@example.org"
    speaks(member, "zh-hans")
    send(services.notification_send(user_id=member.pk, kind="account", title="New sign-in"))
    assert sender_of(mail.outbox[0]) == "积分商城 <mall@example.org>"
