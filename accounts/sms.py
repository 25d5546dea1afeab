"""Text messages (SMS) to members' phones, through the backend named by ``SMS_BACKEND``.

Like Django's e-mail backends: a class with ``send_messages(messages)``. The mall ships a
console backend (writes each message to the log: development) and a local-memory one
(keeps them in ``accounts.sms.outbox``: tests); production names a class that talks to
its SMS provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from pointsmall.kernel.masking import mask_phone

log = logging.getLogger(__name__)

DEFAULT_BACKEND = "accounts.sms.ConsoleBackend"

# What the local-memory backend sent, oldest first (tests read and clear it).
outbox: list[SmsMessage] = []


@dataclass(frozen=True)
class SmsMessage:
    phone: str  # as stored: 11 mainland digits, or + and the international number
    text: str


class ConsoleBackend:
    """Writes each message to the log (with the number masked): for development only."""

    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            log.warning("SMS to %s: %s", mask_phone(message.phone), message.text)
        return len(messages)


class LocmemBackend:
    """Keeps each message in ``accounts.sms.outbox``: for tests."""

    def send_messages(self, messages: list[SmsMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


def sms_send(*, phone: str, text: str) -> bool:
    """Send one text message now; True if the backend took it. A failing backend is logged, not
    raised: callers send after their transaction committed, and a member can ask again."""
    backend = import_string(getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND))()
    try:
        return backend.send_messages([SmsMessage(phone=phone, text=text)]) == 1
    except Exception:
        log.exception("SMS to %s failed", mask_phone(phone))
        return False
