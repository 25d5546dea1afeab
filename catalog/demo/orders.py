"""Demo people and orders: the shop-staff account, and the orders of orders.toml in every state.

Orders are placed with ``order_redeem`` (PIN and all) and moved on with the order
services, so the ledger sees exactly what a real member and operator would do.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from catalog import order_states, services
from catalog.demo.data import ADDRESSES, DEMO_PIN, ORDERS, SHOP_STAFF
from catalog.enums import OrderStatus, ProductKind
from catalog.models import Code, Order, Product
from catalog.order_states import Action, Actor
from pointsmall.kernel.errors import DomainError


def seed_shop_staff(stdout) -> None:
    """The coupon-desk account in the "Shop staff" group; prints its login."""
    email, password = SHOP_STAFF["email"], SHOP_STAFF["password"]
    user, created = get_user_model().objects.get_or_create(
        email=email, defaults={"display_name": SHOP_STAFF["display_name"]}
    )
    if created:
        user.set_password(password)
        user.save()
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    group, _created = Group.objects.get_or_create(name="Shop staff")
    user.groups.add(group)
    login = f"{email} / {password}" if created else f"{email} (exists)"
    stdout.write(f"Shop staff: {login} — coupon desk at /mall/staff/coupons/")


def _ready_member(user) -> int | None:
    """A PIN and a shipping address for a demo member; returns the address id."""
    if not accounts_selectors.pin_is_set(user_id=user.pk):
        accounts_services.pin_set(user_id=user.pk, pin=DEMO_PIN)
    addresses = accounts_selectors.address_list(user_id=user.pk)
    if addresses:
        return addresses[0].id
    address = accounts_services.address_create(user_id=user.pk, **ADDRESSES[user.email], is_default=True)
    return address.id


def _step(order: Order, admin_id: int | None) -> Order:
    """Move an order one step along the happy path, as the operator (or member) would."""
    if order.status == OrderStatus.AWAITING_PAYMENT:
        return services.order_mark_paid(
            order_id=order.pk, payment_reference=f"offline:{admin_id}:{order.pk}", actor_id=admin_id
        )
    if order.status == OrderStatus.PENDING_REVIEW:
        return services.order_approve(order_id=order.pk, actor_id=admin_id)
    if order.status == OrderStatus.APPROVED:
        return services.order_ship(
            order_id=order.pk,
            actor_id=admin_id,
            carrier="顺丰速运 SF Express",
            tracking_number=f"SF{1400000000 + order.pk}",
        )
    if order.status == OrderStatus.SHIPPED:
        return services.order_deliver(order_id=order.pk, actor_id=admin_id)
    return services.order_confirm_receipt(order_id=order.pk, member_id=order.member_id)


def _advance(order: Order, target: str, admin_id: int | None) -> Order:
    if target == OrderStatus.REJECTED and order_states.allows(Action.REJECT, order.status, by=Actor.OPERATOR):
        return services.order_reject(
            order_id=order.pk, actor_id=admin_id, reason="Only one limited edition per household"
        )
    if target == OrderStatus.CANCELLED and order_states.allows(Action.CANCEL, order.status, by=Actor.MEMBER):
        return services.order_cancel(order_id=order.pk, member_id=order.member_id, reason="Ordered the wrong colour")
    road = order_states.ROAD  # the happy path an order walks, one _step at a time
    if target not in road:
        return order
    while order.status in road and road.index(order.status) < road.index(target):
        order = _step(order, admin_id)
    return order


def seed_orders(stdout, admin_id: int | None) -> list[Order]:
    """Place and move on the demo orders of members who exist; a refused order is skipped with a note.

    Each order checks a PIN, which commits on its own: call this outside any transaction.
    """
    members = {u.email: u for u in get_user_model().objects.filter(email__in={o.email for o in ORDERS})}
    addresses: dict[str, int | None] = {}
    products = {p.name_en: p for p in Product.objects.filter(name_en__in={o.product for o in ORDERS})}
    placed: list[Order] = []
    for spec in ORDERS:
        member = members.get(spec.email)
        if member is None:
            continue
        if spec.email not in addresses:
            addresses[spec.email] = _ready_member(member)
        product = products[spec.product]
        try:
            order = services.order_redeem(
                user_id=member.pk,
                product_id=product.pk,
                quantity=spec.quantity,
                idempotency_key=f"demo:catalog:{spec.email}:{spec.key}",
                pin=DEMO_PIN,
                address_id=addresses[spec.email] if product.kind == ProductKind.PHYSICAL else None,
            )
            order = _advance(order, spec.target, admin_id)
            if spec.used_in_store and admin_id is not None:
                code = Code.objects.filter(order=order).first()
                if code is not None and code.used_at is None:
                    services.coupon_redeem_in_store(code_id=code.pk, code=code.code, actor_id=admin_id)
        except DomainError as error:
            stdout.write(f"  skipped demo order {spec.key} for {spec.email}: {error.message}")
            continue
        placed.append(order)
    return placed
