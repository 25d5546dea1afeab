"""Wiring of the check-in privileges into the catalog (docs/decisions/0020, 0024).

The catalog declares the make-up card and check-in multiplier effects; the tasks app delivers
them. Neither imports the other: these adapters, registered at start-up by
``PointsmallConfig.ready()``, turn the catalog's call (``EffectParams``) into the check-in
service's keyword arguments and its result into the catalog's ``Delivery``.
"""

from __future__ import annotations

from decimal import Decimal

from catalog.enums import PrivilegeEffect
from catalog.services.privileges import Delivery, EffectParams, privilege_effect_register
from tasks import services as tasks_services


def makeup_card_apply(
    *, user_id: int, quantity: int, params: EffectParams, idempotency_key: str, reference: str
) -> Delivery:
    """One make-up card per item redeemed."""
    delivery = tasks_services.makeup_card_apply(
        user_id=user_id, quantity=quantity, idempotency_key=idempotency_key, reference=reference
    )
    return Delivery(reference=delivery.reference)


def makeup_card_reverse(*, user_id: int, idempotency_key: str) -> bool:
    return tasks_services.makeup_card_reverse(user_id=user_id, idempotency_key=idempotency_key)


def checkin_multiplier_apply(
    *, user_id: int, quantity: int, params: EffectParams, idempotency_key: str, reference: str
) -> Delivery:
    """``params.days`` × quantity days at ``params.multiplier``, queued after a running boost."""
    delivery = tasks_services.checkin_boost_apply(
        user_id=user_id,
        days=(params.days or 0) * quantity,
        # A product without a multiplier can't be put on sale; 1 is refused by the service anyway.
        multiplier=params.multiplier if params.multiplier is not None else Decimal(1),
        idempotency_key=idempotency_key,
        reference=reference,
    )
    return Delivery(reference=delivery.reference, starts_at=delivery.starts_at, ends_at=delivery.ends_at)


def checkin_multiplier_reverse(*, user_id: int, idempotency_key: str) -> bool:
    return tasks_services.checkin_boost_reverse(user_id=user_id, idempotency_key=idempotency_key)


def register_checkin_privileges() -> None:
    """Make the catalog's check-in privileges available. Safe to call twice."""
    privilege_effect_register(
        effect=PrivilegeEffect.MAKEUP_CARD, applier=makeup_card_apply, reverser=makeup_card_reverse
    )
    privilege_effect_register(
        effect=PrivilegeEffect.CHECKIN_MULTIPLIER,
        applier=checkin_multiplier_apply,
        reverser=checkin_multiplier_reverse,
    )
