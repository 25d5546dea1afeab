"""The notifications inbox (站内信): the one place any app sends a member a message."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.enums import NotificationChannel, NotificationKind
from accounts.exceptions import InvalidNotificationError, NotificationNotFoundError
from accounts.models import Notification
from accounts.services.delivery import deliveries_queue
from points import notices
from points.exceptions import InvalidMessageError

TITLE_MAX = 120
BODY_MAX = 2000
LINK_MAX = 300


def _check(kind: str, title: str, body: str, link: str) -> None:
    if kind not in NotificationKind.values:
        raise InvalidNotificationError(reason=_("unknown kind %(kind)r") % {"kind": kind})
    if len(title) > TITLE_MAX:
        raise InvalidNotificationError(reason=_("the title must be 1 to %(max)s characters") % {"max": TITLE_MAX})
    if len(body) > BODY_MAX:
        raise InvalidNotificationError(reason=_("the body may be at most %(max)s characters") % {"max": BODY_MAX})
    # Only links into the mall: an inbox message must never send a member to another site.
    # Backslashes and whitespace are refused too: browsers treat a leading "/\" like "//".
    if link and (
        not link.startswith("/")
        or link.startswith("//")
        or len(link) > LINK_MAX
        or any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in link)
    ):
        raise InvalidNotificationError(reason=_("the link must be a path on this site, like /points/"))


def _message(message_code: str, params: dict | None, title: str, body: str) -> dict:
    """The stored fields of the message: a checked code and parameters, or an operator's free text."""
    if message_code:
        if title or body:
            raise InvalidNotificationError(reason=_("a message has a code or a free-text title, not both"))
        try:
            return {"message_code": message_code, "params": notices.check(message_code, params)}
        except InvalidMessageError as error:
            raise InvalidNotificationError(reason=error.params["reason"]) from None
    if params:
        raise InvalidNotificationError(reason=_("parameters without a message code"))
    if not title.strip():
        raise InvalidNotificationError(reason=_("the title must be 1 to %(max)s characters") % {"max": TITLE_MAX})
    return {"title": title.strip(), "body": body.strip()}


@transaction.atomic
def notification_send(
    *,
    user_id: int,
    kind: str,
    message_code: str = "",
    params: dict | None = None,
    title: str = "",
    body: str = "",
    link: str = "",
    dedupe_key: str | None = None,
    transactional: bool = False,
) -> int:
    """Put a message in the member's inbox and return its id.

    Apps send a ``message_code`` registered in their notices.py with its ``params`` (JSON
    values); the member reads it rendered in their language when they open the inbox. A
    ``title`` and ``body`` instead are free text shown as written, for what an operator writes.
    Either way it is shown as plain text.

    With a ``dedupe_key`` (unique per member) the send is safe to call twice: a second call
    with the same key returns the first message's id and writes nothing. Without one, each
    call sends a message. ``transactional`` marks a message about the member's own order or
    purchase (shipped, code delivered, payment refunded): it reaches the inbox even when the
    member switched its kind off.

    The member's preferences for ``kind`` decide the rest: the inbox (a message switched off
    there is kept, hidden from the inbox), and one e-mail/SMS delivery per channel they want
    and can receive now (a verified address: selectors.reachable_channels; none is written
    for a channel they have no address for), written in this transaction and sent after commit
    (accounts.services.delivery). Raises InvalidNotificationError. Locks nothing.
    """
    _check(kind, title, body, link)
    fields = _message(message_code, params, title, body)
    if dedupe_key is not None:
        existing = Notification.objects.filter(user_id=user_id, dedupe_key=dedupe_key).values_list("pk", flat=True)
        if first := existing.first():
            return first
    channels = selectors.notification_channels(user_ids=[user_id], kind=kind)[user_id]
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user_id=user_id,
                kind=kind,
                link=link,
                dedupe_key=dedupe_key,
                transactional=transactional,
                in_inbox=transactional or NotificationChannel.INBOX in channels,
                **fields,
            )
            reachable = selectors.reachable_channels(user_ids=[user_id])[user_id]
            deliveries_queue(channels_by_notification=[(notification.pk, channels & reachable)])
    except IntegrityError:
        # A concurrent sender with the same key got there first.
        if dedupe_key is None:
            raise
        return Notification.objects.filter(user_id=user_id, dedupe_key=dedupe_key).values_list("pk", flat=True).get()
    return notification.pk


@transaction.atomic
def notifications_send_bulk(
    *,
    user_ids: Iterable[int],
    kind: str,
    dedupe_key: str,
    message_code: str = "",
    params: dict | None = None,
    title: str = "",
    body: str = "",
    link: str = "",
    batch_size: int = 1000,
) -> int:
    """Send one message to many members (an announcement, a new task) and return how many were new.

    The same message and checks as :func:`notification_send`, written with one INSERT per
    ``batch_size`` members. ``dedupe_key`` is required: running the fan-out again (a retried
    job) skips every member who already has the message. Never transactional. Each member's
    preferences are honoured as in :func:`notification_send` (read in one query per batch; the
    e-mail and SMS deliveries bulk-written too). Raises InvalidNotificationError. Locks nothing.
    """
    _check(kind, title, body, link)
    fields = _message(message_code, params, title, body)
    created = 0
    ids = list(dict.fromkeys(user_ids))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        already = set(
            Notification.objects.filter(user_id__in=chunk, dedupe_key=dedupe_key).values_list("user_id", flat=True)
        )
        new = [user_id for user_id in chunk if user_id not in already]
        channels = selectors.notification_channels(user_ids=new, kind=kind)
        rows = [
            Notification(
                user_id=user_id,
                kind=kind,
                link=link,
                dedupe_key=dedupe_key,
                in_inbox=NotificationChannel.INBOX in channels[user_id],
                **fields,
            )
            for user_id in new
        ]
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        created += len(rows)
        # Only channels the member can receive now: no delivery row for an address they lack.
        reachable = selectors.reachable_channels(
            user_ids=[user_id for user_id in new if channels[user_id] - {NotificationChannel.INBOX}]
        )
        channels = {user_id: channels[user_id] & reachable.get(user_id, frozenset()) for user_id in new}
        # ignore_conflicts returns no ids: read back this batch's rows (a concurrent run's rows
        # get no second delivery: one per notification and channel, and only theirs are new to them).
        external = {user_id for user_id in new if channels[user_id] - {NotificationChannel.INBOX}}
        if external:
            sent = Notification.objects.filter(user_id__in=external, dedupe_key=dedupe_key, deliveries__isnull=True)
            deliveries_queue(
                channels_by_notification=[
                    (notification_id, channels[user_id])
                    for notification_id, user_id in sent.values_list("pk", "user_id")
                ]
            )
    return created


@transaction.atomic
def notification_mark_read(*, user_id: int, notification_id: int) -> str:
    """Mark one of the member's messages read and return its link ("" if it has none).

    Raises NotificationNotFoundError for a message that is not the member's. Locks nothing.
    Safe to call twice: the first read time is kept.
    """
    link = Notification.objects.filter(user_id=user_id, pk=notification_id).values_list("link", flat=True).first()
    if link is None:
        raise NotificationNotFoundError()
    Notification.objects.filter(pk=notification_id, read_at__isnull=True).update(read_at=timezone.now())
    return link


@transaction.atomic
def notifications_mark_all_read(*, user_id: int) -> int:
    """Mark every unread message of the member read; returns how many changed. Safe to call twice."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(read_at=timezone.now())
