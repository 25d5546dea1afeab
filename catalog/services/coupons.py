"""Coupons used in store (核销): look a code up, mark it used exactly once.

A code is used with a guarded ``UPDATE ... WHERE used_at IS NULL``: of two tills scanning the
same coupon at the same moment, one wins and the other is refused. A refused second use is
logged (Python logging and an OrderEvent note on the order, which commits even though the
call then raises), so a disputed coupon has a paper trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog import notices, order_states
from catalog.enums import ProductKind
from catalog.exceptions import CouponAlreadyUsedError, CouponExpiredError, CouponNotActiveError, CouponNotFoundError
from catalog.models import Code
from catalog.order_states import Action
from catalog.services.orders import order_event_record
from pointsmall.kernel import clock
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.masking import mask_email, mask_phone

logger = logging.getLogger(__name__)

MAX_CODE_LENGTH = 64


@dataclass(frozen=True)
class CouponView:
    """What the till shows about one issued coupon. The owner is masked: staff need to recognise, not to know."""

    code_id: int
    code: str
    product_name: str
    order_id: int
    order_status: str
    order_status_label: str
    owner: str
    assigned_at: datetime | None
    valid_until: datetime | None
    used_at: datetime | None
    used_by: str

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    def is_expired(self, now: datetime) -> bool:
        return self.valid_until is not None and now >= self.valid_until

    @property
    def is_active(self) -> bool:
        return order_states.allows(Action.USE_IN_STORE, self.order_status)

    def usable(self, now: datetime) -> bool:
        return self.is_active and not self.is_used and not self.is_expired(now)


def _owner(user) -> str:
    parts = [mask_email(user.email)]
    if getattr(user, "phone", None):
        parts.append(mask_phone(user.phone))
    return " · ".join(parts)


def _staff_name(user) -> str:
    if user is None:
        return ""
    return getattr(user, "display_name", "") or user.email


def _view(code: Code) -> CouponView:
    order = code.order
    return CouponView(
        code_id=code.pk,
        code=code.code,
        product_name=code.product.name,
        order_id=order.pk,
        order_status=order.status,
        order_status_label=str(order.get_status_display()),
        owner=_owner(order.member),
        assigned_at=code.assigned_at,
        valid_until=code.valid_until,
        used_at=code.used_at,
        used_by=_staff_name(code.used_by),
    )


def _issued_coupons():
    return Code.objects.select_related("product", "order__member", "used_by").filter(
        product__kind=ProductKind.COUPON, order__isnull=False
    )


def normalize_code(raw: str) -> str:
    """What a person or a scanner typed, without the spaces and line breaks around it."""
    return (raw or "").strip()


def coupon_lookup(*, code: str) -> list[CouponView]:
    """Every issued coupon with this code (almost always one: codes are unique per product, not globally).

    A hand-typed code in lower case still matches a code issued in upper case. Raises
    CouponNotFoundError for an unknown code, a code still in the pool (not issued) or a code of a
    virtual item. Reads only.
    """
    value = normalize_code(code)
    if not value or len(value) > MAX_CODE_LENGTH:
        raise CouponNotFoundError()
    found = list(_issued_coupons().filter(code=value).order_by("pk"))
    if not found and value.upper() != value:
        found = list(_issued_coupons().filter(code=value.upper()).order_by("pk"))
    if not found:
        raise CouponNotFoundError()
    return [_view(c) for c in found]


def _local(moment: datetime) -> str:
    return clock.minute_text(moment)


@transaction.atomic
def _use(code_id: int, code: str, actor_id: int, now: datetime) -> tuple[CouponView | None, DomainError | None]:
    coupon = _issued_coupons().filter(pk=code_id, code=code).first()
    if coupon is None:
        return None, CouponNotFoundError()
    view = _view(coupon)
    if not view.is_active:
        return view, CouponNotActiveError(status=view.order_status_label)
    if view.used_at is None and view.is_expired(now):
        return view, CouponExpiredError(until=_local(view.valid_until))
    used = Code.objects.filter(pk=coupon.pk, used_at__isnull=True).update(used_at=now, used_by_id=actor_id)
    if used == 1:
        order_event_record(
            order_id=view.order_id,
            from_status=view.order_status,
            to_status=view.order_status,
            actor_id=actor_id,
            note=notices.coupon_used_note(),
            created_at=now,
        )
        return _view(_issued_coupons().get(pk=coupon.pk)), None
    # Someone used it first (maybe a moment ago at another till): read who, and keep a trace.
    first = _view(_issued_coupons().get(pk=coupon.pk))
    logger.warning(
        "Second in-store use of coupon %s (order %s) refused: tried by user %s, already used at %s by %s",
        coupon.pk,
        view.order_id,
        actor_id,
        first.used_at.isoformat(),
        first.used_by,
    )
    order_event_record(
        order_id=view.order_id,
        from_status=view.order_status,
        to_status=view.order_status,
        actor_id=actor_id,
        note=notices.coupon_second_use_refused_note(used_at=_local(first.used_at), used_by=str(first.used_by)),
        created_at=now,
    )
    return first, CouponAlreadyUsedError(used_at=_local(first.used_at), used_by=first.used_by)


def coupon_redeem_in_store(*, code_id: int, code: str, actor_id: int) -> CouponView:
    """Mark an issued coupon used by the staff member ``actor_id``; the code must match the id (no guessing ids).

    Locks nothing beyond the code row the guarded UPDATE touches. Safe to call twice: the
    second call is refused with CouponAlreadyUsedError (naming when and by whom) and changes
    nothing but the audit note. Raises CouponNotFoundError, CouponNotActiveError (order not completed:
    awaiting payment or review) and CouponExpiredError.
    """
    view, error = _use(code_id, normalize_code(code), actor_id, timezone.now())
    if error is not None:
        # Raised after the commit, so the refusal's audit note is kept.
        raise error
    return view
