"""Text messages (SMS) to members' phones, through the backend named by ``SMS_BACKEND``.

Like Django's e-mail backends: a class with ``send_messages(messages)``. The mall ships a
console backend (writes each message to the log: development) and a local-memory one
(keeps them in ``accounts.sms.outbox``: tests); production names a class that talks to
its SMS provider: ``accounts.sms.TwilioBackend`` ships for Twilio's Messages API.
"""

from __future__ import annotations

import base64
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.exceptions import SmsError
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
    try:
        return _backend().send_messages([SmsMessage(phone=phone, text=text)]) == 1
    except Exception:
        log.exception("SMS to %s failed", mask_phone(phone))
        return False


def _backend():
    return import_string(getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND))()


def sms_deliver(*, phone: str, text: str) -> None:
    """Send one text message now and raise if the backend fails or refuses it: for notification
    deliveries, which count the failure and retry (unlike :func:`sms_send`)."""
    if _backend().send_messages([SmsMessage(phone=phone, text=text)]) != 1:
        raise SmsError("the SMS backend did not take the message")


# Client errors worth retrying: a request timeout, too many requests.
RETRYABLE_4XX = frozenset({408, 429})
# The longest answer read from the provider (bytes); the rest is ignored.
ANSWER_MAX = 64 * 1024


def _read_before(response, deadline: float) -> bytes:
    """The answer's body, read a piece at a time (each ``read1`` returns what one socket read
    got); raises SmsError once ``deadline`` (``time.monotonic()``) has passed."""
    body = b""
    while len(body) < ANSWER_MAX:
        if time.monotonic() > deadline:
            raise SmsError("Twilio's answer took longer than SMS_TWILIO_TIMEOUT")
        piece = response.read1(4096)
        if not piece:
            break
        body += piece
    return body


class TwilioBackend:
    """Twilio's Messages API: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json`` with HTTP basic
    auth (account SID, auth token) and the form fields To, From, Body.

    Settings: SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN, SMS_TWILIO_FROM (a number or a
    messaging service's sender), SMS_TWILIO_BASE_URL (default https://api.twilio.com) and
    SMS_TWILIO_TIMEOUT (seconds). Mainland numbers are sent as +86…. A non-2xx answer or a
    network error raises SmsError; a 4xx answer other than 408 and 429 (a number Twilio
    refuses, code 21211; bad credentials are 401) is ``permanent``: sending it again would be
    refused again.

    SMS_TWILIO_TIMEOUT bounds the whole answer, not each socket read: the body is read in
    small pieces against a monotonic deadline, so a server that drips a byte at a time gets
    SmsError after about the timeout (one slow read of the status line and headers is still
    bounded only by the socket timeout; the Celery task's time limit is the last guard).
    """

    def __init__(self) -> None:
        self.sid = settings.SMS_TWILIO_ACCOUNT_SID
        self.token = settings.SMS_TWILIO_AUTH_TOKEN
        self.sender = settings.SMS_TWILIO_FROM
        self.base = settings.SMS_TWILIO_BASE_URL.rstrip("/")
        self.timeout = settings.SMS_TWILIO_TIMEOUT
        if not (self.sid and self.token and self.sender):
            raise SmsError("SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN and SMS_TWILIO_FROM must be set")

    @staticmethod
    def _e164(phone: str) -> str:
        return phone if phone.startswith("+") else f"+86{phone}"

    def send_messages(self, messages: list[SmsMessage]) -> int:
        url = f"{self.base}/2010-04-01/Accounts/{urllib.parse.quote(self.sid)}/Messages.json"
        credentials = base64.b64encode(f"{self.sid}:{self.token}".encode()).decode("ascii")
        sent = 0
        for message in messages:
            data = urllib.parse.urlencode(
                {"To": self._e164(message.phone), "From": self.sender, "Body": message.text}
            ).encode()
            request = urllib.request.Request(  # noqa: S310 (the URL is the configured https base)
                url,
                data=data,
                method="POST",
                headers={
                    "Authorization": f"Basic {credentials}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
            )
            deadline = time.monotonic() + self.timeout
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    status = response.status
                    _read_before(response, deadline)
            except urllib.error.HTTPError as error:
                detail = error.read(300).decode("utf-8", "replace")
                permanent = 400 <= error.code < 500 and error.code not in RETRYABLE_4XX
                raise SmsError(f"Twilio answered {error.code}: {detail}", permanent=permanent) from None
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                raise SmsError(f"Twilio not reachable: {error}") from None
            if not 200 <= status < 300:
                raise SmsError(f"Twilio answered {status}")
            sent += 1
        return sent
