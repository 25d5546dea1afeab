"""The member's address book. Every write locks the member's user row first (accounts.locks)
so the cap and the one-default rule hold under concurrent requests; a partial unique
constraint backs the one-default rule in the database."""

from __future__ import annotations

from django.db import transaction

from accounts import locks, regions, rules, signals
from accounts.exceptions import AddressLimitReachedError, AddressNotFoundError, InvalidPhoneError, InvalidTextError
from accounts.models import Address
from accounts.selectors import AddressView, address_get


def _normalized_phone(phone: str) -> str:
    normalized = rules.normalize_phone(phone)
    if normalized is None:
        raise InvalidPhoneError()
    return normalized


def _cleaned(**fields: str) -> dict[str, str]:
    """The text fields as stored: the one member-text rule (rules.clean_member_text)."""
    try:
        return {name: rules.clean_member_text(value or "") for name, value in fields.items()}
    except rules.UnsafeTextError:
        raise InvalidTextError() from None


def _region_code(text: dict[str, str]) -> str:
    # The service stores what the host API or the form sends; the form has checked the chain.
    return regions.region_code(province=text["province"], city=text["city"], district=text["district"]) or ""


def _locked_address(*, user_id: int, address_id: int) -> Address:
    locks.member_for_update(user_id=user_id)
    address = Address.objects.filter(user_id=user_id, pk=address_id).first()
    if address is None:
        raise AddressNotFoundError()
    return address


def _clear_default(*, user_id: int) -> None:
    # Clear before setting: the partial unique index would refuse two defaults even for a moment.
    Address.objects.filter(user_id=user_id, is_default=True).update(is_default=False)


@transaction.atomic
def address_create(
    *,
    user_id: int,
    recipient: str,
    phone: str,
    province: str,
    city: str,
    district: str = "",
    detail: str,
    postal_code: str = "",
    is_default: bool = False,
) -> AddressView:
    """Add an address. The member's first address is the default whatever ``is_default`` says.

    Text fields are cleaned by ``rules.clean_member_text``. Raises InvalidTextError, InvalidPhoneError,
    AddressLimitReachedError at 20 addresses. Locks the member's user row.
    Not idempotent: calling twice adds two addresses.
    """
    text = _cleaned(
        recipient=recipient, province=province, city=city, district=district, detail=detail, postal_code=postal_code
    )
    normalized = _normalized_phone(phone)
    locks.member_for_update(user_id=user_id)
    count = Address.objects.filter(user_id=user_id).count()
    if count >= rules.ADDRESS_LIMIT:
        raise AddressLimitReachedError(limit=rules.ADDRESS_LIMIT)
    make_default = is_default or count == 0
    if make_default:
        _clear_default(user_id=user_id)
    address = Address.objects.create(
        user_id=user_id, phone=normalized, is_default=make_default, region_code=_region_code(text), **text
    )
    signals.address_added.send(sender=Address, user_id=user_id, reference=f"accounts.address:{address.pk}")
    return address_get(user_id=user_id, address_id=address.pk)


@transaction.atomic
def address_update(
    *,
    user_id: int,
    address_id: int,
    recipient: str,
    phone: str,
    province: str,
    city: str,
    district: str = "",
    detail: str,
    postal_code: str = "",
    is_default: bool = False,
) -> AddressView:
    """Change one of the member's addresses; ``is_default=True`` makes it the default.

    The default stays the default when ``is_default`` is False: a member always has one,
    and changes it by making another address the default. Raises AddressNotFoundError for an
    address that is not the member's, InvalidTextError, InvalidPhoneError. Locks the member's user row.
    Safe to call twice.
    """
    text = _cleaned(
        recipient=recipient, province=province, city=city, district=district, detail=detail, postal_code=postal_code
    )
    normalized = _normalized_phone(phone)
    address = _locked_address(user_id=user_id, address_id=address_id)
    if is_default and not address.is_default:
        _clear_default(user_id=user_id)
        address.is_default = True
    for name, value in text.items():
        setattr(address, name, value)
    address.region_code = _region_code(text)
    address.phone = normalized
    address.save()
    return address_get(user_id=user_id, address_id=address.pk)


@transaction.atomic
def address_delete(*, user_id: int, address_id: int) -> None:
    """Delete one of the member's addresses; if it was the default, the most recent remaining one becomes it.

    Raises AddressNotFoundError for an address that is not the member's (so a second call raises it).
    Locks the member's user row.
    """
    address = _locked_address(user_id=user_id, address_id=address_id)
    was_default = address.is_default
    address.delete()
    if was_default:
        successor = Address.objects.filter(user_id=user_id).order_by("-created_at", "-pk").first()
        if successor is not None:
            Address.objects.filter(pk=successor.pk).update(is_default=True)


@transaction.atomic
def address_set_default(*, user_id: int, address_id: int) -> None:
    """Make one of the member's addresses the default. Raises AddressNotFoundError for anyone else's.

    Locks the member's user row. Safe to call twice.
    """
    address = _locked_address(user_id=user_id, address_id=address_id)
    if address.is_default:
        return
    _clear_default(user_id=user_id)
    Address.objects.filter(pk=address.pk).update(is_default=True)
