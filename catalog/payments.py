"""Payment backends for the cash part of points + cash orders: a small pluggable interface.

A backend gives an order a payment reference, tells the member how to pay
(``start(order)``: a page to go to, or instructions), and checks what the gateway reports
back (``verify_notification(request)``). Refunds work the same way: the mall asks
(``refund_request(refund)``) and the gateway confirms with a signed notification
(``verify_refund_notification(request)``). Marking an order paid or a refund done is the
services' job (``catalog.services``), never a backend's.

Which backend new payments use: ``settings.CATALOG_PAYMENT_BACKEND`` ("sandbox" by default).
An order keeps the backend it started paying with.

- "offline": the member sees instructions and quotes the reference; an operator confirms
  the payment in the admin, and records a refund (with the bank's reference) once made.
- "sandbox": behaves like a real gateway. The member pays on a test gateway page; the
  gateway then sends an asynchronous notification signed with HMAC-SHA256 to our callback,
  which verifies it before anything is written. The gateway side lives here too
  (``SandboxBackend.gateway_*``), so the merchant side can be tested against it for real.

Where the gateway sends its notifications: ``CATALOG_PAYMENT_CALLBACK_BASE`` when set,
else the scheme and host of the request that started the payment or refund, else the
Sites framework's domain (``callback_base``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from catalog.enums import PaymentBackendName
from catalog.exceptions import BadSignatureError, InvalidNotificationError, RefundRefusedError, StaleNotificationError
from catalog.models import CashRefund, Order
from pointsmall.kernel import clock
from pointsmall.outbox import services as outbox

SIGNATURE_HEADER = "X-Sandbox-Signature"
# A notification older (or, with a skewed clock, newer) than this is refused: it bounds how
# long a captured notification could be replayed.
NOTIFICATION_MAX_AGE_SECONDS = 600
STATUS_PAID = "paid"
REFUND_STATUS_REFUNDED = "refunded"
REFUND_STATUS_FAILED = "failed"
CALLBACK_TIMEOUT_SECONDS = 5
NOTIFICATION_FIELDS = {"reference", "order_id", "amount", "status", "timestamp", "nonce"}
REFUND_NOTIFICATION_FIELDS = {
    "reference",
    "payment_reference",
    "order_id",
    "amount",
    "status",
    "attempt",
    "reason",
    "timestamp",
    "nonce",
}


@dataclass(frozen=True)
class PaymentStart:
    """How the member pays one order: go to ``redirect_url``, or follow ``instructions``."""

    backend: str
    order_id: int
    reference: str
    amount: Decimal
    pay_by: datetime | None
    redirect_url: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified report from a gateway that a payment happened."""

    reference: str
    order_id: int
    amount: Decimal
    status: str
    timestamp: int
    nonce: str


@dataclass(frozen=True)
class RefundNotification:
    """A verified report from a gateway that a refund went through (or failed)."""

    reference: str
    payment_reference: str
    order_id: int
    amount: Decimal
    status: str
    attempt: int
    reason: str
    timestamp: int
    nonce: str


class PaymentBackend(ABC):
    name: str
    reference_prefix: str
    # What the member is promised before cancelling a paid order: the refund reaches the
    # original payment method within this many working days.
    refund_working_days: int
    # The URL name of the callback where the gateway confirms refunds ("" without one).
    refund_callback: str = ""

    def new_reference(self, order: Order) -> str:
        # The order number keeps references unique; the random part makes them unguessable.
        return f"{self.reference_prefix}-{order.pk}-{secrets.token_hex(8)}"

    @abstractmethod
    def start(self, order: Order) -> PaymentStart:
        """How the member pays ``order`` (which already has its payment reference)."""

    def _start(self, order: Order, *, redirect_url: str = "", instructions: str = "") -> PaymentStart:
        """The PaymentStart of ``order`` (its reference, cash amount and deadline) through this backend."""
        return PaymentStart(
            backend=self.name,
            order_id=order.pk,
            reference=order.payment_reference,
            amount=order.cash_total,
            pay_by=order.pay_by,
            redirect_url=redirect_url,
            instructions=instructions,
        )

    @abstractmethod
    def verify_notification(self, request: HttpRequest) -> Notification:
        """The gateway's report in ``request``, verified; raises InvalidNotificationError."""

    @property
    def refunds_by_gateway(self) -> bool:
        """True when the gateway makes the refund and confirms it; False when an operator records it."""
        return bool(self.refund_callback)

    def refund_request(self, refund: CashRefund) -> None:
        """Ask the gateway to refund ``refund`` (it confirms later, by notification). Safe to call twice."""
        raise RefundRefusedError(
            reason=_("%(backend)s refunds are made and recorded by an operator") % {"backend": self.name}
        )

    def verify_refund_notification(self, request: HttpRequest) -> RefundNotification:
        """The gateway's refund report in ``request``, verified; raises InvalidNotificationError."""
        raise InvalidNotificationError(
            reason=_("%(backend)s refunds are recorded by an operator, not by notifications") % {"backend": self.name}
        )


def _money(amount: Decimal) -> str:
    return f"¥{amount:.2f}"


class OfflineBackend(PaymentBackend):
    """The member pays outside the mall (bank transfer, at the service desk); an operator confirms it."""

    name = PaymentBackendName.OFFLINE
    reference_prefix = "OFF"
    refund_working_days = 3

    def start(self, order: Order) -> PaymentStart:
        deadline = clock.minute_text(order.pay_by)
        instructions = _(
            "Pay %(amount)s by bank transfer or at the service desk before %(deadline)s, quoting the reference "
            "%(reference)s. Your order goes ahead as soon as an operator confirms the payment; if it has not "
            "arrived by then, the order is cancelled and your points are refunded."
        ) % {"amount": _money(order.cash_total), "deadline": deadline, "reference": order.payment_reference}
        return self._start(order, instructions=instructions)

    def verify_notification(self, request: HttpRequest) -> Notification:
        # There is no gateway to hear from: an operator's admin action is the confirmation.
        raise InvalidNotificationError(reason=_("offline payments are confirmed by an operator, not by notifications"))


def sandbox_secret() -> bytes:
    return str(getattr(settings, "SANDBOX_PAYMENT_SECRET", settings.SECRET_KEY)).encode()


def sign(body: bytes) -> str:
    """hex(HMAC-SHA256(secret, body)): what the sandbox gateway puts in the X-Sandbox-Signature header."""
    return hmac.new(sandbox_secret(), body, hashlib.sha256).hexdigest()


def _parse_amount(value: object) -> Decimal:
    # Money never travels as a float: "12.50" (or a whole number) only.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidNotificationError(reason=_("amount must be a decimal string"))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidNotificationError(reason=_("amount must be a decimal string")) from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise InvalidNotificationError(reason=_("amount must be positive, in yuan with at most 2 decimals"))
    return amount


def _fields(body: bytes, expected: set[str], *, strings: tuple[str, ...], integers: tuple[str, ...]) -> dict:
    """The JSON object in ``body`` with exactly the ``expected`` fields, the given ones type-checked."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidNotificationError(reason=_("the body is not JSON")) from None
    if not isinstance(data, dict) or set(data) != expected:
        raise InvalidNotificationError(
            reason=_("expected exactly the fields %(fields)s") % {"fields": ", ".join(sorted(expected))}
        )
    for field in strings:
        if not isinstance(data[field], str) or not data[field] or len(data[field]) > 64:
            raise InvalidNotificationError(
                reason=_("%(field)s must be a non-empty string of at most 64 characters") % {"field": field}
            )
    for field in integers:
        if isinstance(data[field], bool) or not isinstance(data[field], int) or data[field] <= 0:
            raise InvalidNotificationError(reason=_("%(field)s must be a positive integer") % {"field": field})
    return data


def parse_notification(body: bytes) -> Notification:
    """The fields of a payment notification body whose signature was already checked."""
    data = _fields(
        body, NOTIFICATION_FIELDS, strings=("reference", "status", "nonce"), integers=("order_id", "timestamp")
    )
    return Notification(
        reference=data["reference"],
        order_id=data["order_id"],
        amount=_parse_amount(data["amount"]),
        status=data["status"],
        timestamp=data["timestamp"],
        nonce=data["nonce"],
    )


def parse_refund_notification(body: bytes) -> RefundNotification:
    """The fields of a refund notification body whose signature was already checked."""
    data = _fields(
        body,
        REFUND_NOTIFICATION_FIELDS,
        strings=("reference", "payment_reference", "status", "nonce"),
        integers=("order_id", "attempt", "timestamp"),
    )
    if not isinstance(data["reason"], str) or len(data["reason"]) > 200:
        raise InvalidNotificationError(reason=_("reason must be a string of at most 200 characters"))
    return RefundNotification(
        reference=data["reference"],
        payment_reference=data["payment_reference"],
        order_id=data["order_id"],
        amount=_parse_amount(data["amount"]),
        status=data["status"],
        attempt=data["attempt"],
        reason=data["reason"],
        timestamp=data["timestamp"],
        nonce=data["nonce"],
    )


def verify_signed(body: bytes, signature: str, *, now: float | None = None, parse=parse_notification):
    """Check the signature first (nothing unauthenticated is trusted), then the fields, then the age.

    ``parse`` reads the fields: ``parse_notification`` (payments) or ``parse_refund_notification``;
    a body of the one kind is refused by the other, so neither can be replayed as the other.
    """
    expected = sign(body).encode()
    given = (signature or "").strip().lower().encode("utf-8", "replace")
    if not given or not hmac.compare_digest(expected, given):
        raise BadSignatureError()
    notification = parse(body)
    now = time.time() if now is None else now
    if abs(now - notification.timestamp) > NOTIFICATION_MAX_AGE_SECONDS:
        raise StaleNotificationError(limit=NOTIFICATION_MAX_AGE_SECONDS)
    return notification


class SandboxBackend(PaymentBackend):
    """A test gateway that behaves like a real one: its own page, then a signed asynchronous notification."""

    name = PaymentBackendName.SANDBOX
    reference_prefix = "SBX"
    refund_working_days = 1
    refund_callback = "refund_callback_sandbox"

    def start(self, order: Order) -> PaymentStart:
        return self._start(order, redirect_url=reverse("payment_sandbox_gateway", args=[order.payment_reference]))

    def verify_notification(self, request: HttpRequest) -> Notification:
        return verify_signed(request.body, request.headers.get(SIGNATURE_HEADER, ""))

    def refund_request(self, refund: CashRefund) -> None:
        """The gateway's refund API: it checks the refund against the payment it took, then confirms later.

        Like a real gateway, asking twice for the same refund reference and attempt is one
        refund: the confirmation is sent again, and the mall's callback acknowledges it once.
        """
        taken = Order.objects.filter(
            payment_reference=refund.payment_reference, payment_backend=PaymentBackendName.SANDBOX
        ).values_list("cash_total", flat=True)
        if not taken:
            raise RefundRefusedError(
                reason=_("no payment with reference %(reference)s") % {"reference": refund.payment_reference}
            )
        if refund.amount > taken[0]:
            raise RefundRefusedError(
                reason=_("%(amount)s is more than the %(paid)s paid") % {"amount": refund.amount, "paid": taken[0]}
            )
        from catalog import payment_jobs  # the gateway's own workers; imported late (they import this module)

        # The gateway's own record that it owes the confirmation: a broker outage delays it, never
        # loses it, and never fails the mall's request (docs/decisions/0038).
        outbox.job_enqueue(
            payment_jobs.sandbox_gateway_refund_deliver, refund.reference, refund.attempt, refund.notify_url
        )

    @staticmethod
    def gateway_accept(*, reference: str, callback_url: str) -> int:
        """The member paid on the gateway page: the gateway owes the mall its signed notification.

        Written as a job in the job outbox (what a real gateway keeps in its own queue), relayed to
        the notifier (``catalog.sandbox_gateway_deliver``) at once and again while the broker is
        away; never raises for the broker. Returns the outbox row's id.
        """
        from catalog import payment_jobs  # the gateway's own workers; imported late (they import this module)

        return outbox.job_enqueue(payment_jobs.sandbox_gateway_deliver, reference, callback_url)

    def verify_refund_notification(self, request: HttpRequest) -> RefundNotification:
        return verify_signed(request.body, request.headers.get(SIGNATURE_HEADER, ""), parse=parse_refund_notification)

    # --- The gateway's side: what its servers send to the merchant --------------------------

    @staticmethod
    def gateway_callback_url() -> str:
        """Where payment notifications go when the task was not told (tasks queued by an older version)."""
        return notify_url("payment_callback_sandbox", callback_base())

    @staticmethod
    def gateway_refund_outcome(refund: CashRefund) -> tuple[str, str]:
        """(status, reason) the sandbox reports for a refund: it always succeeds; tests make it fail."""
        return REFUND_STATUS_REFUNDED, ""

    @staticmethod
    def gateway_notification(*, reference: str, order_id: int, amount: Decimal, now: float | None = None) -> bytes:
        """The JSON body of a "paid" notification, with a fresh timestamp and nonce."""
        payload = {
            "reference": reference,
            "order_id": order_id,
            "amount": f"{amount:.2f}",
            "status": STATUS_PAID,
            "timestamp": int(time.time() if now is None else now),
            "nonce": secrets.token_hex(16),
        }
        return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()

    @staticmethod
    def gateway_refund_notification(
        *,
        refund: CashRefund,
        attempt: int,
        status: str = REFUND_STATUS_REFUNDED,
        reason: str = "",
        now: float | None = None,
    ) -> bytes:
        """The JSON body of a refund notification for one attempt, with a fresh timestamp and nonce."""
        payload = {
            "reference": refund.reference,
            "payment_reference": refund.payment_reference,
            "order_id": refund.order_id,
            "amount": f"{refund.amount:.2f}",
            "status": status,
            "attempt": attempt,
            "reason": reason,
            "timestamp": int(time.time() if now is None else now),
            "nonce": secrets.token_hex(16),
        }
        return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


BACKENDS: dict[str, PaymentBackend] = {
    PaymentBackendName.OFFLINE: OfflineBackend(),
    PaymentBackendName.SANDBOX: SandboxBackend(),
}


def configured_backend_name() -> str:
    name = getattr(settings, "CATALOG_PAYMENT_BACKEND", PaymentBackendName.SANDBOX)
    if name not in BACKENDS:
        raise ImproperlyConfigured(f"CATALOG_PAYMENT_BACKEND={name!r}: choose one of {', '.join(sorted(BACKENDS))}")
    return name


def backend_named(name: str) -> PaymentBackend:
    if name not in BACKENDS:
        raise ImproperlyConfigured(f"Unknown payment backend {name!r}")
    return BACKENDS[name]


def backend_for(order: Order) -> PaymentBackend:
    """The backend the order pays with: the one it started with, else the configured one."""
    return backend_named(order.payment_backend or configured_backend_name())


@dataclass(frozen=True)
class Delivery:
    """What the merchant's callback answered the sandbox gateway."""

    status: int
    body: str


def callback_base(request: HttpRequest | None = None) -> str:
    """Scheme and host where gateways reach the mall, without a trailing slash.

    ``CATALOG_PAYMENT_CALLBACK_BASE`` when set (a proxy that rewrites hosts, a tunnel);
    else the request that starts the payment or refund (its scheme, host and port: the
    mall is wherever the member reached it); else the Sites framework's domain, over https
    unless DEBUG.
    """
    configured = (getattr(settings, "CATALOG_PAYMENT_CALLBACK_BASE", "") or "").strip()
    if configured:
        return configured.rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    scheme = "http" if settings.DEBUG else "https"
    return f"{scheme}://{Site.objects.get_current().domain}"


def notify_url(url_name: str, base: str) -> str:
    """The absolute URL of the callback ``url_name`` under ``base``; only http(s) is accepted."""
    if not base.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"CATALOG_PAYMENT_CALLBACK_BASE must be an http(s) URL, not {base!r}")
    return base.rstrip("/") + reverse(url_name)


def _post_signed(url: str, body: bytes) -> Delivery:
    """POST ``body`` signed to ``url``; the answer, 4xx/5xx included. Network errors propagate (callers retry)."""
    if not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"A gateway callback must be an http(s) URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return Delivery(status=response.status, body=response.read(2000).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Delivery(status=error.code, body=error.read(2000).decode("utf-8", "replace"))


def sandbox_gateway_deliver(*, reference: str, callback_url: str = "") -> Delivery | None:
    """The sandbox gateway sends its signed "paid" notification for ``reference`` to ``callback_url``.

    ``callback_url`` is where the mall asked to be notified when the payment started (empty:
    ``callback_base()`` without a request). Returns the callback's answer (None for a
    reference the gateway never issued). Network errors propagate, so the caller can retry
    as a real gateway does.
    """
    order = (
        Order.objects.filter(payment_reference=reference, payment_backend=PaymentBackendName.SANDBOX)
        .values_list("pk", "cash_total")
        .first()
    )
    if order is None:
        return None
    order_id, amount = order
    body = SandboxBackend.gateway_notification(reference=reference, order_id=order_id, amount=amount)
    if getattr(settings, "CATALOG_PAYMENT_CALLBACK_BASE", ""):
        callback_url = notify_url("payment_callback_sandbox", callback_base())
    return _post_signed(callback_url or SandboxBackend.gateway_callback_url(), body)


def sandbox_gateway_refund_deliver(*, reference: str, attempt: int, callback_url: str = "") -> Delivery | None:
    """The sandbox gateway confirms refund ``reference`` (one ``attempt``) with a signed notification.

    Returns the callback's answer (None for a refund the gateway was never asked for).
    Network errors propagate, so the caller can retry.
    """
    refund = CashRefund.objects.filter(reference=reference, backend=PaymentBackendName.SANDBOX).first()
    if refund is None:
        return None
    status, reason = SandboxBackend.gateway_refund_outcome(refund)
    body = SandboxBackend.gateway_refund_notification(refund=refund, attempt=attempt, status=status, reason=reason)
    if getattr(settings, "CATALOG_PAYMENT_CALLBACK_BASE", "") or not callback_url:
        callback_url = notify_url("refund_callback_sandbox", callback_base())
    return _post_signed(callback_url, body)
