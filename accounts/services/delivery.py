"""Notifications beyond the inbox: preferences, the e-mail/SMS outbox, sending and unsubscribing.

``notification_send`` writes one :class:`Delivery` row per external channel the member wants
in its own transaction (the outbox); after commit a Celery task per row sends it, and a beat
sweep sends whatever is due and was not (a lost task, a retry). docs/decisions/0029.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import message_templates, selectors, sms
from accounts.enums import (
    ALWAYS_ON,
    RESENDABLE_SKIPS,
    DeliveryReason,
    DeliveryStatus,
    NotificationChannel,
    NotificationKind,
)
from accounts.exceptions import InvalidNotificationPreferenceError, UnsubscribeLinkInvalidError
from accounts.models import Delivery, MessageTemplate, Notification, NotificationPreference
from pointsmall.kernel import outbox
from pointsmall.kernel.masking import mask_contacts_in, mask_phone
from pointsmall.kernel.publish import publish
from pointsmall.kernel.transactions import after_commit

logger = logging.getLogger(__name__)

EXTERNAL_CHANNELS = frozenset({NotificationChannel.EMAIL, NotificationChannel.SMS})
# A worker that claimed a delivery and died is presumed dead after this long; the sweep sends again.
CLAIM_LEASE = timedelta(minutes=10)
# The Celery time limits of one send (accounts.jobs), well inside the lease: a send that hangs
# is killed long before its claim lapses and another worker sends the message again.
SEND_SOFT_TIME_LIMIT = 120
SEND_TIME_LIMIT = 150
# How long one sweep keeps starting sends (seconds); its own time limits are a little longer.
SWEEP_BUDGET = 240
RETRY_CAP = timedelta(hours=1)
# Seconds before a job records an outcome the retry sweep sent but could not write.
RECORD_LATER_DELAY = 30
UNSUBSCRIBE_SALT = "accounts.notification-unsubscribe"
UNSUBSCRIBE_MAX_AGE = timedelta(days=180)
# The longest SMS and e-mail subject sent, the mall's name included: a longer text is shortened
# (with an ellipsis), never the mall's name or the link.
SMS_MAX = 300
SUBJECT_MAX = 200
ELLIPSIS = "…"


# --- Preferences ------------------------------------------------------------------------


@transaction.atomic
def notification_preferences_set(*, user_id: int, choices: Mapping[str, Mapping[str, bool]]) -> int:
    """Store the member's choices ``{kind: {channel: enabled}}`` and return how many were stored.

    Kinds and channels left out keep their current setting. An unknown kind or channel, or a
    value that is not a bool, raises InvalidNotificationPreferenceError and writes nothing.
    Checked here, whatever the page showed: a choice to switch *on* a channel the member
    cannot receive now (no verified e-mail address or phone) is ignored, leaving it as
    stored; switching one off is always kept (an unsubscribe link). Cells that are always on
    (accounts.enums.ALWAYS_ON: order messages reach the inbox) are ignored too.
    Safe to call twice. Locks nothing (one upsert per choice, on the unique row).
    """
    wanted = []
    for kind, channels in choices.items():
        if kind not in NotificationKind.values:
            raise InvalidNotificationPreferenceError(reason=_("unknown kind %(kind)r") % {"kind": kind})
        for channel, enabled in channels.items():
            if channel not in NotificationChannel.values:
                raise InvalidNotificationPreferenceError(reason=_("unknown channel %(channel)r") % {"channel": channel})
            if not isinstance(enabled, bool):
                raise InvalidNotificationPreferenceError(reason=_("a choice is on or off"))
            wanted.append((kind, channel, enabled))
    reachable = selectors.reachable_channels(user_ids=[user_id])[user_id]
    rows = [
        NotificationPreference(user_id=user_id, kind=kind, channel=channel, enabled=enabled)
        for kind, channel, enabled in wanted
        if (kind, channel) not in ALWAYS_ON and not (enabled and channel not in reachable)
    ]
    NotificationPreference.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["user", "kind", "channel"], update_fields=["enabled", "updated_at"]
    )
    return len(rows)


# --- The outbox ---------------------------------------------------------------------------


def deliveries_queue(*, channels_by_notification: Iterable[tuple[int, Iterable[str]]]) -> list[int]:
    """Write the deliveries of new notifications (``(notification_id, channels)``; the inbox is
    not a delivery) in the caller's transaction, and send each after commit. Returns their ids."""
    rows = [
        Delivery(notification_id=notification_id, channel=channel)
        for notification_id, channels in channels_by_notification
        for channel in sorted(set(channels) & EXTERNAL_CHANNELS)
    ]
    if not rows:
        return []
    ids = [delivery.pk for delivery in Delivery.objects.bulk_create(rows)]
    after_commit(lambda: _enqueue(ids), label="queue deliveries")
    return ids


def retry_delay(attempt: int) -> timedelta:
    """How long after failed attempt number ``attempt`` (1, 2, …) the next one is due: 1, 2, 4, 8 …
    minutes, at most an hour."""
    return outbox.backoff(attempt, cap=RETRY_CAP)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    channel: str
    attempt: int
    notification_id: int
    user_id: int


def _claim(delivery_id: int) -> _Claim | None:
    """Take the delivery for this worker if it is due and nobody holds it."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                pk=delivery_id,
                status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
                next_attempt_at__lte=now,
            )
            .values("channel", "attempts", "notification_id", "notification__user_id")
            .first()
        )
        if row is None:
            return None
        attempt = row["attempts"] + 1
        Delivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SENDING, attempts=attempt, next_attempt_at=now + CLAIM_LEASE
        )
    return _Claim(delivery_id, row["channel"], attempt, row["notification_id"], row["notification__user_id"])


def _finish(claim: _Claim, **fields) -> None:
    """Record the outcome of the claim robustly (outbox.outcome_record: a lost connection is
    replaced and the write tried again); raises OutcomeNotRecorded when it could not be."""
    outbox.outcome_record(
        lambda values: _write_outcome(claim.delivery_id, claim.attempt, values),
        label=f"delivery {claim.delivery_id}",
        attempt=claim.attempt,
        fields=fields,
    )


def _write_outcome(delivery_id: int, attempt: int, fields: Mapping) -> int:
    # Only our own claim: one that lapsed and was taken by another worker is theirs now.
    return Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING, attempts=attempt).update(**fields)


def _status(delivery_id: int) -> str:
    """The delivery's status now, or "missing" when the row is gone."""
    return Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or "missing"


def delivery_send(*, delivery_id: int, unrecorded: Mapping | None = None) -> str:
    """Send one delivery now if it is due, and return its status afterwards.

    Claims the row first (``SELECT … FOR UPDATE SKIP LOCKED``, then status "sending" with a
    lease), so two workers, or a job run twice, never both send it; a sent, skipped or failed
    delivery is left alone. A member without a verified address (or who switched the channel
    off since) is skipped with the reason code. A failing backend counts an attempt: retried
    after :func:`retry_delay`, failed for good (reason ``gave_up``) after
    ``NOTIFICATION_DELIVERY_MAX_ATTEMPTS``; a permanent refusal (:func:`is_permanent`) fails at
    once (reason ``permanent``). A sent message whose operator template failed records reason
    ``template_fallback`` and the template's error. Runs outside any transaction of the
    caller's (it talks to a mail server or an SMS provider).

    The outcome is written after the send, tried again over a lost connection
    (outbox.outcome_record); when it still cannot be written, raises outbox.OutcomeNotRecorded
    whose ``marker`` the job passes back as ``unrecorded`` in its retry: that call records the
    outcome of the (still held) claim and sends nothing. Returns the status then.
    """
    if unrecorded is not None:
        outbox.outcome_replay(
            unrecorded,
            lambda attempt, values: _write_outcome(delivery_id, attempt, values),
            label=f"delivery {delivery_id}",
        )
        return _status(delivery_id)
    claim = _claim(delivery_id)
    if claim is None:
        return _status(delivery_id)
    notification = Notification.objects.get(pk=claim.notification_id)
    reason = _skip_reason(claim, notification)
    if reason:
        _finish(claim, status=DeliveryStatus.SKIPPED, reason=reason, last_error="", next_attempt_at=timezone.now())
        return DeliveryStatus.SKIPPED
    try:
        if claim.channel == NotificationChannel.EMAIL:
            template_errors = _send_email(notification, delivery_id=delivery_id)
        else:
            template_errors = _send_sms(notification)
    except Exception as error:
        now = timezone.now()
        permanent = is_permanent(error)
        final = permanent or claim.attempt >= settings.NOTIFICATION_DELIVERY_MAX_ATTEMPTS
        # Never the recipient: SMTPRecipientsRefused is a {address: (code, message)} mapping, and
        # servers and SMS providers quote the address or number in their messages.
        logger.warning(
            "delivery %s (%s) attempt %s failed%s: %s",
            delivery_id,
            claim.channel,
            claim.attempt,
            " for good" if permanent else "",
            error_description(error),
        )
        status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
        _finish(
            claim,
            status=status,
            reason=(DeliveryReason.PERMANENT if permanent else DeliveryReason.GAVE_UP) if final else "",
            next_attempt_at=now if final else now + retry_delay(claim.attempt),
            last_error=f"{type(error).__name__}: {error}"[:500],
        )
        return status
    note = ""
    if template_errors:
        note = "operator template failed: {}; sent the built-in text".format("; ".join(template_errors))
    _finish(
        claim,
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        reason=DeliveryReason.TEMPLATE_FALLBACK if note else "",
        last_error=note[:500],
    )
    return DeliveryStatus.SENT


def is_permanent(error: BaseException) -> bool:
    """Whether sending the same message again is bound to be refused again: an SmsError marked
    permanent (Twilio 4xx other than 408/429), SMTP refusing every recipient with a 5xx code
    (``SMTPRecipientsRefused``: no such mailbox) or the message's data with a 5xx code. Anything
    else (a network error, a 4xx "try later", bad SMTP credentials) is retried."""
    if isinstance(error, sms.SmsError):
        return error.permanent
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [answer[0] for answer in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPDataError):
        return 500 <= error.smtp_code < 600
    return False


def error_description(error: BaseException) -> str:
    """A failed send's error for the log, without the recipient: its type, the SMTP codes and
    server messages (SMTPRecipientsRefused: each refused recipient's, in order, without the
    address), any e-mail address or phone number left in the text masked
    (pointsmall.kernel.masking.mask_contacts_in)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(
            f"{code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
            for code, message in error.recipients.values()
        )
        text = f"{len(error.recipients)} recipient(s) refused: {answers}"
    elif isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = f"{error.smtp_code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
    else:
        text = str(error)
    return f"{type(error).__name__}: {mask_contacts_in(text)}"


def deliveries_resend(*, delivery_ids: Iterable[int] | None = None, failed_since: datetime | None = None) -> int:
    """Queue failed deliveries (and those skipped for a missing address: the member may have
    verified one since) to be sent again now, with a fresh attempt budget; returns how many.

    ``delivery_ids`` picks rows (the admin's selection); ``failed_since`` picks every failed
    row created at or after that moment (after an outage). Rows sent, pending, being sent or
    skipped for another reason are left alone: a sent message is never sent again. Each row
    is sent after commit (and by the sweep if that nudge is lost). Safe to call twice.
    """
    if delivery_ids is None and failed_since is None:
        return 0
    rows = Delivery.objects.filter(
        Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.SKIPPED, reason__in=RESENDABLE_SKIPS)
    )
    if delivery_ids is not None:
        rows = rows.filter(pk__in=list(delivery_ids))
    if failed_since is not None:
        rows = rows.filter(status=DeliveryStatus.FAILED, created_at__gte=failed_since)
    with transaction.atomic():
        ids = list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), reason="", last_error=""
        )
        after_commit(lambda: _enqueue(ids), label="queue deliveries")
    return len(ids)


def _enqueue(ids: list[int]) -> None:
    # Imported here: the jobs module imports the services.
    from accounts import jobs

    # A broker outage loses these nudges, not the deliveries: the sweep sends them. The first
    # failure pauses publishing in this process (pointsmall.kernel.publish): the rest are skipped.
    for delivery_id in ids:
        if not publish(partial(jobs.delivery_send.delay, delivery_id), what="delivery_send"):
            return


def deliveries_send_due(*, limit: int = 500, budget: float = SWEEP_BUDGET) -> dict[str, int]:
    """Send the deliveries that are due (a retry, a lost task, a lapsed claim), oldest first,
    at most ``limit``, starting no send after ``budget`` seconds (the rest waits for the next
    run); returns ``{status: count}`` of what they became. Safe to run twice and on several
    workers (each delivery is claimed)."""
    stop_at = time.monotonic() + budget
    ids = list(
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING], next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    report: dict[str, int] = {}
    for delivery_id in ids:
        if time.monotonic() > stop_at:
            break
        try:
            status = delivery_send(delivery_id=delivery_id)
        except outbox.OutcomeNotRecorded as error:
            # Sent, not recorded: a job records it later (not sending again), and the sweep goes on.
            status = _record_later(delivery_id, error)
        report[status] = report.get(status, 0) + 1
    return report


def _record_later(delivery_id: int, error: outbox.OutcomeNotRecorded) -> str:
    """Hand an outcome the sweep could not write to a delivery_send job (``unrecorded``); returns
    "sending" (what the row still says). If the broker is down too, the claim's lease decides."""
    from accounts import jobs

    try:
        jobs.delivery_send.apply_async(
            kwargs={"delivery_id": delivery_id, "unrecorded": error.marker}, countdown=RECORD_LATER_DELAY
        )
    except Exception:
        logger.exception(
            "delivery %s: could not queue recording its outcome; it is sent again after its claim", delivery_id
        )
    return DeliveryStatus.SENDING


def _skip_reason(claim: _Claim, notification: Notification) -> str:
    """The DeliveryReason code why this delivery is not sent, "" to send it."""
    email, phone = selectors.member_contact(user_id=claim.user_id)
    if claim.channel == NotificationChannel.EMAIL and email is None:
        return DeliveryReason.NO_EMAIL
    if claim.channel == NotificationChannel.SMS and phone is None:
        return DeliveryReason.NO_PHONE
    channels = selectors.notification_channels(user_ids=[claim.user_id], kind=notification.kind)[claim.user_id]
    if claim.channel not in channels:
        return DeliveryReason.SWITCHED_OFF
    return ""


# --- Rendering, in the recipient's language ------------------------------------------------


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    sms: str
    unsubscribe_url: str
    # The From header: the mall's name in the recipient's language, DEFAULT_FROM_EMAIL's address.
    from_email: str = ""
    # Operator template fields that failed and were replaced by the built-in text: {field: error}.
    template_errors: Mapping[str, str] = field(default_factory=dict)


def _absolute(path: str) -> str:
    return f"{settings.MALL_URL_SCHEME}://{settings.MALL_DOMAIN}{path}" if path else ""


def _mall_name() -> str:
    return settings.MALL_NAME or _("Points Mall")


def sender() -> str:
    """The From header of a notification e-mail in the active language: the mall's name (the
    same rule as the subject's 【…】: MALL_NAME, else "Points Mall" translated) with the address
    of DEFAULT_FROM_EMAIL (its display name, if any, is replaced)."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((_mall_name(), address or settings.DEFAULT_FROM_EMAIL))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with an ellipsis when it was cut."""
    if len(text) <= limit:
        return text
    if limit < len(ELLIPSIS):
        return ""
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _fit(prefix: str, text: str, link: str, limit: int) -> str:
    """``prefix`` + ``text`` in at most ``limit`` characters, keeping the prefix (the mall's
    name) and ``link`` whole: the rest of the text is shortened. A link inside the text
    (an operator's template) is moved to the end when the text has to be cut."""
    whole = prefix + text
    if len(whole) <= limit:
        return whole
    if link and link in text:
        head, _sep, tail = text.rpartition(link)
        rest = _one_line(f"{head} {tail}")
        return prefix + _shorten(rest, limit - len(prefix) - len(link) - 1) + " " + link
    return prefix + _shorten(text, limit - len(prefix))


def message_context(notification: Notification) -> dict:
    """What the built-in layouts and an operator's template may use, in the active language."""
    user = notification.user
    text = notification.text()
    context = dict(notification.params or {})
    context.update(
        title=text.title,
        body=text.body,
        link=_absolute(notification.link),
        mall_name=_mall_name(),
        member_name=user.display_name or user.own_email.partition("@")[0],
        params=dict(notification.params or {}),
    )
    return context


def message_render(notification: Notification) -> RenderedMessage:
    """The notification as e-mail and SMS in the member's language (their profile's, not the
    sender's or the worker's), through the operator's template for its code if there is one."""
    language = selectors.member_language(user_id=notification.user_id)
    with translation.override(language):
        context = message_context(notification)
        template = (
            MessageTemplate.objects.filter(message_code=notification.message_code, language=language).first()
            if notification.message_code
            else None
        )

        template_errors: dict[str, str] = {}

        def text_of(name: str, default: str) -> str:
            source = getattr(template, name, "") if template else ""
            if not source:
                return default
            try:
                return message_templates.render_text(source, context, max_chars=message_templates.MAX_CHARS[name])
            except message_templates.TemplateTextError as error:
                # Checked when saved; one that still fails (a parameter it cannot take, a text
                # too long for these parameters) never blocks the message: the built-in text
                # is sent and the delivery records why (reason template_fallback).
                logger.warning(
                    "message template %s/%s %s does not render, sending the built-in text: %s",
                    notification.message_code,
                    language,
                    name,
                    error,
                )
                template_errors[name] = str(error)
                return default

        subject = _one_line(text_of("email_subject", context["title"]))
        body = text_of("email_body", context["body"])
        unsubscribe_url = ""
        if not notification.transactional:
            token = unsubscribe_token(user_id=notification.user_id, kind=notification.kind)
            unsubscribe_url = _absolute(reverse("notification_unsubscribe", args=[token]))
        layout = {
            **context,
            "subject": subject,
            "body": body,
            "kind_label": notification.get_kind_display(),
            "unsubscribe_url": unsubscribe_url,
            "home_url": _absolute("/"),
            "preferences_url": _absolute(reverse("notification_preferences")),
            "mall_domain": settings.MALL_DOMAIN,
            "language": language,
        }
        default_sms = " ".join(part for part in (context["title"], context["body"], context["link"]) if part)
        sms_text = _one_line(text_of("sms_text", default_sms))
        prefix = f"【{context['mall_name']}】"
        return RenderedMessage(
            subject=_fit(prefix, subject, "", SUBJECT_MAX),
            text=render_to_string("accounts/email/notification.txt", layout),
            html=render_to_string("accounts/email/notification.html", layout),
            sms=_fit(prefix, sms_text, context["link"], SMS_MAX),
            unsubscribe_url=unsubscribe_url,
            from_email=sender(),
            template_errors=template_errors,
        )


def message_id(delivery_id: int) -> str:
    """The e-mail's Message-ID: the same for every attempt of one delivery
    (``<delivery-12@mall.example.com>``), so a copy sent again after a crash at the worst
    instant (sent, the worker killed before recording it) is recognisably the same message."""
    domain = urlsplit(f"//{settings.MALL_DOMAIN}").hostname or "localhost"
    return f"<delivery-{delivery_id}@{domain}>"


def _send_email(notification: Notification, *, delivery_id: int) -> list[str]:
    """Send the e-mail; returns what failed in the operator's template (the built-in text went)."""
    rendered = message_render(notification)
    headers = {"Message-ID": message_id(delivery_id)}
    if rendered.unsubscribe_url:
        # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to the URL.
        headers["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=rendered.from_email,
        to=[notification.user.email],
        headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    if message.send(fail_silently=False) != 1:
        raise RuntimeError("the e-mail backend did not take the message")
    return _errors_of(rendered, ("email_subject", "email_body"))


def _errors_of(rendered: RenderedMessage, names: tuple[str, ...]) -> list[str]:
    return [f"{name}: {rendered.template_errors[name]}" for name in names if name in rendered.template_errors]


def _send_sms(notification: Notification) -> list[str]:
    """Send the SMS; returns what failed in the operator's template (the built-in text went)."""
    rendered = message_render(notification)
    phone = notification.user.phone
    if not phone:
        raise sms.SmsError("the member has no phone number")
    logger.info("SMS for notification %s to %s", notification.pk, mask_phone(phone))
    sms.sms_deliver(phone=phone, text=rendered.sms)
    return _errors_of(rendered, ("sms_text",))


# --- Unsubscribing -------------------------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    """A signed token that switches e-mail off for ``kind`` for this member (no login needed)."""
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(*, token: str) -> tuple[int, str]:
    """``(user_id, kind)`` of a valid token; raises UnsubscribeLinkInvalidError (bad, forged,
    expired, or for a member or kind that no longer exists)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
        user_id, kind = int(data["u"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise UnsubscribeLinkInvalidError() from None
    if kind not in NotificationKind.values or not get_user_model().objects.filter(pk=user_id).exists():
        raise UnsubscribeLinkInvalidError()
    return user_id, kind


@transaction.atomic
def notification_unsubscribe(*, token: str) -> tuple[int, str]:
    """Switch e-mail off for the token's member and kind; returns ``(user_id, kind)``.

    Raises UnsubscribeLinkInvalidError and writes nothing for a bad token. Safe to call twice.
    """
    user_id, kind = unsubscribe_token_read(token=token)
    notification_preferences_set(user_id=user_id, choices={kind: {NotificationChannel.EMAIL: False}})
    return user_id, kind
