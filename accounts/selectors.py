"""Reads of the accounts app. Other apps get small frozen dataclasses, never models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.utils import timezone

from accounts import rules
from accounts.exceptions import AddressNotFound
from accounts.models import Address, Notification, PaymentPin

INBOX_PAGE_SIZE = 20


@dataclass(frozen=True)
class AddressView:
    id: int
    user_id: int
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str
    is_default: bool
    created_at: datetime

    @property
    def region(self) -> str:
        return " ".join(part for part in (self.province, self.city, self.district) if part)

    @property
    def full_address(self) -> str:
        """One line, the way a courier label reads: region, street, postal code."""
        line = f"{self.region} {self.detail}"
        return f"{line} ({self.postal_code})" if self.postal_code else line

    @property
    def phone_masked(self) -> str:
        return rules.mask_phone(self.phone)


def _address_view(address: Address) -> AddressView:
    return AddressView(
        id=address.pk,
        user_id=address.user_id,
        recipient=address.recipient,
        phone=address.phone,
        province=address.province,
        city=address.city,
        district=address.district,
        detail=address.detail,
        postal_code=address.postal_code,
        is_default=address.is_default,
        created_at=address.created_at,
    )


def address_list(*, user_id: int) -> list[AddressView]:
    """The member's addresses: the default first, then the most recently added."""
    addresses = Address.objects.filter(user_id=user_id).order_by("-is_default", "-created_at", "-pk")
    return [_address_view(a) for a in addresses]


def address_get(*, user_id: int, address_id: int) -> AddressView:
    """One of the member's addresses (e.g. to copy into an order). Raises AddressNotFound for anyone else's."""
    address = Address.objects.filter(user_id=user_id, pk=address_id).first()
    if address is None:
        raise AddressNotFound()
    return _address_view(address)


def address_count(*, user_id: int) -> int:
    return Address.objects.filter(user_id=user_id).count()


@dataclass(frozen=True)
class PinStatus:
    is_set: bool
    failed_attempts: int = 0
    locked_until: datetime | None = None

    @property
    def attempts_left(self) -> int:
        return max(0, rules.PIN_MAX_FAILURES - self.failed_attempts)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def minutes_locked(self, now: datetime) -> int:
        """Whole minutes until PIN use unlocks (0 when it is not locked)."""
        if not self.is_locked(now):
            return 0
        return rules.minutes_left((self.locked_until - now).total_seconds())


def pin_is_set(*, user_id: int) -> bool:
    return PaymentPin.objects.filter(user_id=user_id).exists()


def pin_status(*, user_id: int) -> PinStatus:
    """Whether a PIN is set and, if so, how many wrong attempts it has seen and until when it is locked."""
    row = PaymentPin.objects.filter(user_id=user_id).values("failed_attempts", "locked_until").first()
    if row is None:
        return PinStatus(is_set=False)
    if row["locked_until"] is not None and row["locked_until"] <= timezone.now():
        # An expired lock is history: the next attempt starts a fresh count (see pin_verify).
        return PinStatus(is_set=True)
    return PinStatus(is_set=True, failed_attempts=row["failed_attempts"], locked_until=row["locked_until"])


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def notification_list(*, user_id: int, page: int | str = 1, per_page: int = INBOX_PAGE_SIZE) -> Page:
    """A page of the member's inbox, newest first, as NotificationView objects."""
    paginator = Paginator(Notification.objects.filter(user_id=user_id).order_by("-created_at", "-pk"), per_page)
    result = paginator.get_page(page)
    result.object_list = [
        NotificationView(
            id=n.pk,
            kind=n.kind,
            kind_label=n.get_kind_display(),
            title=n.title,
            body=n.body,
            link=n.link,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n in result.object_list
    ]
    return result


def notification_unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()
