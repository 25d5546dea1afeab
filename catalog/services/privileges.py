"""Privilege items (权益): what they do, whether they may be sold, and delivering it once.

A privilege product declares an effect (``Product.effect`` and its parameters). An effect
may be sold only while a service delivers it: the catalog delivers tier trials itself
(through ``points.services.tier_trial_grant``); the check-in app delivers the make-up
check-in card and the check-in multiplier card, registered with ``privilege_effect_register``
(wired by the project package: the catalog and the check-in app import nothing of each
other). An effect nobody delivers can't be put on sale: the product form refuses it, the
redemption refuses it, and none is on the shelf (docs/decisions/0020).

The effect travels with the order: the redemption copies the product's effect into an
``OrderEffect`` row (what the member bought, whatever the operator edits later), and the
order's completion applies it once, in the same transaction. An effect whose deliverer also
registered a reverser can be taken back while unused (``order_effect_reverse``), which is
what lets the member or an operator still cancel its completed order; a tier trial starts
at once and has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import locks, order_states, rules
from catalog.enums import PrivilegeEffect, ProductKind
from catalog.exceptions import PrivilegeInUseError, PrivilegeNotNeededError, PrivilegeUnavailableError
from catalog.models import Order, OrderEffect, Product
from points import selectors as points_selectors
from points import services as points_services

MAX_EFFECT_DAYS = 366
MAX_EFFECT_MULTIPLIER = Decimal(10)


@dataclass(frozen=True)
class EffectParams:
    """The declared parameters of one item's effect."""

    tier: str = ""  # tier code, for a tier trial
    days: int | None = None  # per item redeemed
    multiplier: Decimal | None = None


@dataclass(frozen=True)
class Delivery:
    """What applying an effect created: a reference to it and, for timed effects, its window."""

    reference: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


# An applier delivers ``quantity`` items' worth of an effect to a member, inside the caller's
# transaction, after the caller locked the member's points account. It must be safe to call
# twice with the same ``idempotency_key`` (one effect).
Applier = Callable[..., Delivery]
# A reverser takes back an applied effect that has not been used yet, called as
# ``reverser(user_id=, idempotency_key=)`` with the applier's key, inside the caller's
# transaction after the points account lock. Returns True when the effect is taken back (or was
# already), False when (part of) it has been used and it can no longer be taken back.
Reverser = Callable[..., bool]

# Which parameters each effect needs; the others must be left empty.
_PARAMETERS: dict[str, set[str]] = {
    PrivilegeEffect.TIER_TRIAL: {"effect_tier", "effect_days"},
    PrivilegeEffect.MAKEUP_CARD: set(),
    PrivilegeEffect.CHECKIN_MULTIPLIER: {"effect_days", "effect_multiplier"},
}


def _tier_trial(*, user_id: int, quantity: int, params: EffectParams, idempotency_key: str, reference: str) -> Delivery:
    result = points_services.tier_trial_grant(
        user_id=user_id,
        tier_code=params.tier,
        days=(params.days or 0) * quantity,
        idempotency_key=idempotency_key,
        reference=reference,
    )
    return Delivery(reference=idempotency_key, starts_at=result.starts_at, ends_at=result.ends_at)


_APPLIERS: dict[str, Applier] = {PrivilegeEffect.TIER_TRIAL: _tier_trial}
# Effects that can be taken back before use; a tier trial starts at once, so it has none.
_REVERSERS: dict[str, Reverser] = {}


def privilege_effect_register(*, effect: str, applier: Applier, reverser: Reverser | None = None) -> None:
    """Make ``effect`` available: its items may then be put on sale and ``applier`` delivers them.

    ``reverser`` (optional) takes an applied effect back while it is unused, so that its order
    can still be cancelled. Called once at start-up by whoever delivers the effect (the check-in
    app's cards, wired in the project package). Safe to call twice with the same functions.
    """
    if effect not in PrivilegeEffect.values:
        raise ValueError(f"unknown privilege effect {effect!r}")
    _APPLIERS[effect] = applier
    if reverser is not None:
        _REVERSERS[effect] = reverser


def effect_reversible(effect: str) -> bool:
    """Whether an applied ``effect`` can be taken back while unused (a reverser is registered)."""
    return effect in _REVERSERS


def effect_revocable(effect: OrderEffect | None) -> bool:
    """Whether this order effect may still be taken back: applied, not taken back yet, and of a
    type with a reverser. Whether it was used is only known by asking the reverser (at cancel).
    Pure: reads the row it is given."""
    return (
        effect is not None
        and effect.applied_at is not None
        and effect.reversed_at is None
        and effect_reversible(effect.effect)
    )


def order_effect_revocable(*, order: Order) -> bool:
    """Whether ``order`` is a completed privilege whose effect may still be taken back
    (``order_states.Condition.UNUSED_PRIVILEGE``). Reads the effect row (no lock: the caller that
    acts on it holds the order's); no query for other orders."""
    if order.kind != ProductKind.PRIVILEGE or order.status not in order_states.COMPLETED:
        return False
    return effect_revocable(OrderEffect.objects.filter(order_id=order.pk).first())


def effect_available(effect: str) -> bool:
    """Whether a service delivers ``effect`` today."""
    return effect in _APPLIERS


def available_effects() -> list[str]:
    return [effect for effect in PrivilegeEffect.values if effect in _APPLIERS]


def _label(effect: str) -> str:
    return str(PrivilegeEffect(effect).label) if effect in PrivilegeEffect.values else effect


def product_effect_errors(product: Product) -> dict[str, list[str]]:
    """What is wrong with a product's effect declaration, by form field (empty: nothing).

    An effect only on privilege items; each effect with exactly the parameters it needs, in
    range; a privilege item on the shelf only with an effect that is available today.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    effect = product.effect or ""
    if effect and product.kind != ProductKind.PRIVILEGE:
        add("effect", _("Only privilege items have an effect."))
    if product.kind == ProductKind.PRIVILEGE and not effect and product.on_shelf:
        add("on_shelf", _("Choose what this privilege does (its effect) before putting it on sale."))
    if effect not in _PARAMETERS:
        return errors
    needed = _PARAMETERS[effect]
    values = {
        "effect_tier": product.effect_tier,
        "effect_days": product.effect_days,
        "effect_multiplier": product.effect_multiplier,
    }
    for field, value in values.items():
        empty = value in (None, "")
        if field in needed and empty:
            add(field, _("Required for this effect."))
        elif field not in needed and not empty:
            add(field, _("Not used by this effect: leave it empty."))
    if "effect_tier" in needed and product.effect_tier:
        ladder = points_selectors.tier_ladder()
        codes = [tier.code for tier in ladder]
        if product.effect_tier not in codes:
            add("effect_tier", _("There is no tier “%(tier)s”.") % {"tier": product.effect_tier})
        elif ladder and product.effect_tier == ladder[0].code:
            add("effect_tier", _("Everyone has the entry tier: choose a higher one."))
    days = product.effect_days
    if "effect_days" in needed and days is not None and not 1 <= days <= MAX_EFFECT_DAYS:
        add("effect_days", _("Between 1 and %(max)s days.") % {"max": MAX_EFFECT_DAYS})
    multiplier = product.effect_multiplier
    if (
        "effect_multiplier" in needed
        and multiplier is not None
        and not Decimal(1) < multiplier <= MAX_EFFECT_MULTIPLIER
    ):
        add("effect_multiplier", _("More than 1 and at most %(max)s.") % {"max": MAX_EFFECT_MULTIPLIER})
    if product.on_shelf and not effect_available(effect):
        add(
            "on_shelf",
            _("“%(effect)s” is not available yet: this item can't be put on sale.") % {"effect": _label(effect)},
        )
    return errors


def product_sellable(product: Product) -> bool:
    """Whether the product's effect (if it is a privilege) allows it on sale today."""
    if product.kind != ProductKind.PRIVILEGE:
        return not product.effect
    return bool(product.effect) and effect_available(product.effect) and not _parameter_errors(product)


def _parameter_errors(product: Product) -> bool:
    errors = product_effect_errors(product)
    return any(field != "on_shelf" for field in errors)


def privilege_check(*, product: Product, user_id: int) -> None:
    """Refuse to sell a privilege that would do nothing, before anything is charged.

    Raises PrivilegeUnavailableError when the item has no effect, or one not available today (even
    if someone put it on the shelf), and PrivilegeNotNeededError when a tier trial lends a tier the
    member has already earned (or a lower one). No query for other kinds of products.
    """
    if product.kind != ProductKind.PRIVILEGE and not product.effect:
        return
    if not product_sellable(product):
        raise PrivilegeUnavailableError()
    if product.effect == PrivilegeEffect.TIER_TRIAL:
        earned = points_selectors.earned_tier(user_id=user_id)
        lent = next((t for t in points_selectors.tier_ladder() if t.code == product.effect_tier), None)
        if earned is not None and lent is not None and earned.rank >= lent.rank:
            raise PrivilegeNotNeededError(tier=lent.name)


def order_effect_record(*, order: Order, product: Product) -> OrderEffect | None:
    """Copy the product's effect onto a new privilege order (inside the redemption's transaction)."""
    if product.kind != ProductKind.PRIVILEGE or not product.effect:
        return None
    return OrderEffect.objects.create(
        order=order,
        effect=product.effect,
        tier=product.effect_tier,
        days=product.effect_days,
        multiplier=product.effect_multiplier,
    )


def order_effect_apply(*, order: Order) -> OrderEffect | None:
    """Deliver a completed privilege order's effect, once. Call it where an order becomes completed.

    Runs inside the caller's transaction, so the completion and the effect commit together.
    Locks: the member's points account, then the effect row. Safe to call twice: an applied
    effect is returned unchanged, and the applier's key is the order's (one effect per order).
    Raises PrivilegeUnavailableError when the effect is no longer delivered (the completion then
    fails and the order stays where it was). Returns None (no query) for any other order.
    """
    if order.kind != ProductKind.PRIVILEGE or order.status not in order_states.COMPLETED:
        return None
    points_services.account_lock(user_id=order.member_id)
    effect = locks.order_effects_for_update().filter(order_id=order.pk).first()
    if effect is None or effect.applied_at is not None:
        return effect
    applier = _APPLIERS.get(effect.effect)
    if applier is None:
        raise PrivilegeUnavailableError()
    delivery = applier(
        user_id=order.member_id,
        quantity=order.quantity,
        params=EffectParams(tier=effect.tier, days=effect.days, multiplier=effect.multiplier),
        idempotency_key=f"{rules.order_reference(order.pk)}:effect",
        reference=rules.order_reference(order.pk),
    )
    now = timezone.now()
    OrderEffect.objects.filter(pk=effect.pk).update(
        applied_at=now, reference=delivery.reference[:120], starts_at=delivery.starts_at, ends_at=delivery.ends_at
    )
    effect.applied_at, effect.reference = now, delivery.reference[:120]
    effect.starts_at, effect.ends_at = delivery.starts_at, delivery.ends_at
    return effect


def order_effect_reverse(*, order: Order) -> OrderEffect:
    """Take back a completed privilege order's effect while it is unused, so the order can be cancelled.

    Runs inside the caller's transaction (the cancel), after the caller locked the member's points
    account and the order; locks the effect row. Asks the effect's reverser with the applier's key
    and sets ``reversed_at``. Safe to call twice: an effect already taken back is returned
    unchanged, without asking the reverser again. Raises PrivilegeInUseError when the reverser
    says (part of) it has been used (the reverser wrote nothing then), and InvalidTransitionError
    (cancel refused) when the order has no applied effect that can be taken back.
    """
    effect = locks.order_effects_for_update().filter(order_id=order.pk).first()
    if effect is not None and effect.reversed_at is not None:
        return effect
    if effect is None or order.status not in order_states.COMPLETED or not effect_revocable(effect):
        raise order_states.refusal(order_states.Action.CANCEL_UNUSED, order.status)
    reverser = _REVERSERS[effect.effect]
    if not reverser(user_id=order.member_id, idempotency_key=f"{rules.order_reference(order.pk)}:effect"):
        raise PrivilegeInUseError()
    now = timezone.now()
    OrderEffect.objects.filter(pk=effect.pk).update(reversed_at=now)
    effect.reversed_at = now
    return effect
