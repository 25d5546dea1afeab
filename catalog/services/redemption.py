"""Redemption (兑换): quote, then redeem in one transaction that leaves nothing behind on failure.

Lock order: the member's points account (serialises one member's redemptions, so the
per-day and lifetime limits cannot be raced), then a free code (SKIP LOCKED,
``catalog.locks``), then the product's stock row last with a guarded UPDATE
(``services.stock.stock_take``) — the hot row is held for the shortest time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from catalog import flash_gate, locks, notices, order_states, rules, signals
from catalog.enums import OrderStatus, ProductKind
from catalog.exceptions import (
    AddressRequiredError,
    DailyLimitReachedError,
    InvalidQuantityError,
    LifetimeLimitReachedError,
    NoCodesLeftError,
    OrderCapExceededError,
    OutOfStockError,
    ProductUnavailableError,
    RequestConflictError,
    SaleEndedError,
    SaleNotStartedError,
    SoldOutError,
    TierRequiredError,
)
from catalog.models import Code, Order, Product, SalePrice
from catalog.selectors.quota import redemption_quota
from catalog.services import order_messages, privileges
from catalog.services.orders import order_created_announce, order_event_record
from catalog.services.stock import stock_take
from points import selectors as points_selectors
from points import services as points_services
from points.confirmation import Totals, confirmation_check, confirmation_read, confirmation_sign
from points.exceptions import InsufficientPointsError
from pointsmall.kernel import clock
from pointsmall.kernel.errors import DomainError

CONFIRMATION_PURPOSE = "catalog.redeem"


@dataclass(frozen=True)
class Quote:
    product_id: int
    quantity: int
    price: rules.Price
    points_total: int
    points_saved: int
    cash_total: Decimal
    balance: int
    needs_address: bool

    @property
    def balance_after(self) -> int:
        return self.balance - self.points_total

    @property
    def affordable(self) -> bool:
        return self.balance >= self.points_total

    @property
    def shortfall(self) -> int:
        """Points still missing to afford this (0 when affordable): shown instead of a negative balance."""
        return max(self.points_total - self.balance, 0)

    @property
    def totals(self) -> Totals:
        return Totals(points=self.points_total, cash=self.cash_total)


def _sale_points(product: Product, now) -> int | None:
    return (
        SalePrice.objects.filter(product=product, starts_at__lte=now, ends_at__gt=now)
        .order_by("points_price")
        .values_list("points_price", flat=True)
        .first()
    )


def _check_on_sale(product: Product, now) -> None:
    if not rules.redeemable(on_shelf=product.on_shelf, category_active=product.category.active):
        # A sold-out item may leave the shelf by itself (``auto_off_shelf``): the buyers who raced
        # for its last unit hear the true reason, "sold out", not "not available" (issue #18).
        raise SoldOutError() if product.stock <= 0 else ProductUnavailableError()
    if product.sale_starts_at and now < product.sale_starts_at:
        raise SaleNotStartedError(start=clock.minute_text(product.sale_starts_at))
    if product.sale_ends_at and now >= product.sale_ends_at:
        raise SaleEndedError()


def _check_tier(product: Product, tier_rank: int) -> None:
    if product.min_tier_rank > tier_rank:
        names = {t.rank: t.name for t in points_selectors.tier_ladder()}
        raise TierRequiredError(tier=names.get(product.min_tier_rank, product.min_tier_rank))


def _check_limits(product: Product, user_id: int, quantity: int, now) -> None:
    if quantity < 1 or quantity > product.per_order_limit:
        raise InvalidQuantityError(limit=product.per_order_limit)
    quota = redemption_quota(
        user_id=user_id,
        product_id=product.pk,
        per_day_limit=product.per_day_limit,
        lifetime_limit=product.lifetime_limit,
        now=now,
    )
    if quota.left_today is not None and quantity > quota.left_today:
        raise DailyLimitReachedError(limit=quota.per_day_limit, left=quota.left_today)
    if quota.left_total is not None and quantity > quota.left_total:
        raise LifetimeLimitReachedError(limit=quota.lifetime_limit, left=quota.left_total)


def _product(product_id: int) -> Product:
    product = Product.objects.select_related("category").filter(pk=product_id).first()
    if product is None:
        raise ProductUnavailableError()
    return product


def redemption_quote(*, user_id: int, product_id: int, quantity: int) -> Quote:
    """Everything the confirmation page shows, with every rule checked (stock is re-checked on redeem)."""
    return _quote(_product(product_id), user_id=user_id, quantity=quantity)


def _quote(product: Product, *, user_id: int, quantity: int) -> Quote:
    now = timezone.now()
    _check_on_sale(product, now)
    # A privilege that would do nothing is not sold (docs/decisions/0020).
    privileges.privilege_check(product=product, user_id=user_id)
    # Tier and spendable balance in one query whose SQL is built once per process (member_status).
    status = points_selectors.member_status(user_id=user_id)
    tier = status.tier if status else None
    _check_tier(product, tier.rank if tier else 0)
    _check_limits(product, user_id, quantity, now)
    if product.stock < quantity:
        raise OutOfStockError(left=product.stock) if product.stock else SoldOutError()
    price = rules.price_for(
        regular=product.points_price, sale=_sale_points(product, now), price_percent=tier.price_percent if tier else 100
    )
    total = price.unit_points * quantity
    if total > settings.CATALOG_ORDER_CAP_POINTS:
        raise OrderCapExceededError(cap=settings.CATALOG_ORDER_CAP_POINTS)
    return Quote(
        product_id=product.pk,
        quantity=quantity,
        price=price,
        points_total=total,
        points_saved=price.saved_per_unit * quantity,
        cash_total=product.cash_price * quantity,
        balance=status.balance if status else 0,
        needs_address=product.kind == ProductKind.PHYSICAL,
    )


def _confirmation_subject(product_id: int, quantity: int) -> str:
    return f"product:{product_id}:quantity:{quantity}"


def redemption_confirmation_sign(*, user_id: int, product_id: int, quantity: int, totals: Totals) -> str:
    """The token the confirmation page sends with its form: the totals it shows (a quote's
    ``totals``), for this member, product and quantity (points.confirmation). Pure: writes nothing."""
    return confirmation_sign(
        purpose=CONFIRMATION_PURPOSE,
        user_id=user_id,
        subject=_confirmation_subject(product_id, quantity),
        totals=totals,
    )


def redemption_confirmation_read(*, token: str, user_id: int, product_id: int, quantity: int) -> Totals:
    """The totals the member confirmed. Raises ConfirmationInvalidError for a missing or altered token, or
    one made for another member, product or quantity. Pure: writes nothing."""
    return confirmation_read(
        token=token,
        purpose=CONFIRMATION_PURPOSE,
        user_id=user_id,
        subject=_confirmation_subject(product_id, quantity),
    )


def _price_still_confirmed(*, user_id: int, product_id: int, quantity: int, confirmed: Totals) -> None:
    """Before the PIN: a price that changed since the page was shown is refused without a PIN attempt,
    and so is an item no longer on sale at all (off the shelf, or sold out): no PIN is asked for
    what cannot be had, and the view builds no page before it knows (docs/decisions/0049).

    Any other refusal of the quote is left to the transaction, after the PIN, as before
    (docs/decisions/0010); the transaction compares the price again, under the account lock.
    """
    try:
        quote = redemption_quote(user_id=user_id, product_id=product_id, quantity=quantity)
    except (ProductUnavailableError, SoldOutError):
        raise
    except DomainError:
        return
    confirmation_check(confirmed=confirmed, actual=quote.totals)


def redemption_precheck(
    *, product_id: int, quantity: int, idempotency_key: str = "", user_id: int | None = None
) -> None:
    """Refuse a flash-sale request that cannot succeed, before any expensive work (issue #18).

    For a flash product (``flash_sale``): SoldOutError (nothing left) or OutOfStockError (fewer
    left than ``quantity``), SaleNotStartedError, SaleEndedError. Cost: one Redis GET
    (``flash_gate.left``) when the gate already says "sold out" — no database work at all —
    otherwise one primary-key read of the product. No PIN check, no transaction, nothing written.
    Returns None when it has nothing to say (a regular product, an unknown one, or one that may
    still sell): the full path decides, PIN first (docs/decisions/0010).

    ``idempotency_key`` (the order's full key): a request that already placed its order is never
    refused here, so a double click after the last unit sold still gets the member's order back.
    ``user_id``: units that member reserved on arrival (``flash_gate.reserve``) count as theirs.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return
    refusal: DomainError | None = None
    left = flash_gate.left(product_id=product_id)
    # Units this member reserved on arrival (catalog.middleware) are theirs, not "left".
    if left is not None and left < quantity and not flash_gate.reserved(product_id=product_id, member_id=user_id):
        refusal = OutOfStockError(left=left) if left > 0 else SoldOutError()
    else:
        row = (
            Product.objects.filter(pk=product_id, flash_sale=True)
            .values_list("stock", "sale_starts_at", "sale_ends_at")
            .first()
        )
        if row is None:
            return
        stock, starts_at, ends_at = row
        now = timezone.now()
        if starts_at and now < starts_at:
            refusal = SaleNotStartedError(start=clock.minute_text(starts_at))
        elif ends_at and now >= ends_at:
            refusal = SaleEndedError()
        elif stock < quantity:
            refusal = OutOfStockError(left=stock) if stock > 0 else SoldOutError()
    if refusal is None:
        return
    if idempotency_key and Order.objects.filter(idempotency_key=idempotency_key).exists():
        return
    raise refusal


def _replay(idempotency_key: str, user_id: int, product_id: int, quantity: int) -> Order | None:
    order = Order.objects.filter(idempotency_key=idempotency_key).first()
    if order is None:
        return None
    if order.member_id != user_id or order.product_id != product_id or order.quantity != quantity:
        raise RequestConflictError()
    return order


def _no_free_code(product: Product) -> DomainError:
    """The refusal when no free code could be locked for a code product.

    Codes and stock move together (an import restocks), so no free code means the codes left
    are held by redemptions in flight (SKIP LOCKED passed them) or all given out: either way
    the item is sold out to this buyer, and they hear that, as from the stock row (issue #18).
    Only a regular item whose stock says units are left while no code at all is left (codes
    not imported yet) is "out of codes at the moment". A flash-sale item always says sold out.
    """
    if product.flash_sale or product.stock <= 0:
        return SoldOutError()
    if Code.objects.filter(product_id=product.pk, order__isnull=True).exists():
        return SoldOutError()
    return NoCodesLeftError()


def _first_status(product: Product) -> str:
    return order_states.opening_status(
        awaiting_cash=product.cash_price > 0,
        requires_review=product.requires_review,
        physical=product.kind == ProductKind.PHYSICAL,
    )


def order_redeem(
    *,
    user_id: int,
    product_id: int,
    quantity: int,
    idempotency_key: str,
    pin: str,
    address_id: int | None = None,
    confirmed: Totals | None = None,
) -> Order:
    """Redeem ``quantity`` of a product: check the PIN, then debit points, take a code and stock.

    ``confirmed`` is what the member confirmed the whole order costs (points and cash, from
    the confirmation page's token): if the price computed now differs in any way, up or
    down, PriceChangedError is raised with the new totals and nothing is charged or written. A
    change already visible before the PIN check is refused without checking (or counting)
    the PIN; one that lands between the PIN and the transaction is refused by the
    transaction, after a PIN check that then counts as usual. Every member-facing caller
    passes it; ``None`` is for callers no member watches (demo seeding, tests).

    The PIN is checked first in its own transaction, so a wrong PIN is counted even though
    nothing else happens. Everything else happens in one transaction: any refusal leaves no
    order, no debit, no stock change behind. Safe to call twice: the same key returns the
    first order at the price it was charged (a double click or a retried POST is one
    redemption), whatever ``confirmed`` says. For a flash sale the Redis gate may refuse
    first (SoldOutError/OutOfStockError), before any database transaction.

    A flash item that is sold out, not started or ended is refused before the PIN check and
    before any transaction (``redemption_precheck``, then the gate), so a loser of a flash sale
    costs a Redis call or two, not a redemption (issue #18). The PIN is still checked before
    anything is sold: the gate's units are only held until then, and go back if it is wrong.
    Every refusal of a sold-out item says "sold out" (SoldOutError), whichever step found it.
    """
    if (order := _replay(idempotency_key, user_id, product_id, quantity)) is not None:
        return order
    redemption_precheck(product_id=product_id, quantity=quantity, idempotency_key=idempotency_key, user_id=user_id)
    # A flash sale's Redis gate refuses a sold-out burst before the PIN and the database; the
    # units it hands out (or this request reserved on arrival) go back unless this call really
    # sold them (catalog/flash_gate.py).
    with flash_gate.hold(product_id=product_id, quantity=quantity, member_id=user_id) as held:
        if confirmed is not None:
            _price_still_confirmed(user_id=user_id, product_id=product_id, quantity=quantity, confirmed=confirmed)
        accounts_services.pin_verify(user_id=user_id, pin=pin)
        try:
            order, created = _redeem(
                user_id=user_id,
                product_id=product_id,
                quantity=quantity,
                idempotency_key=idempotency_key,
                address_id=address_id,
                confirmed=confirmed,
            )
        except IntegrityError:
            # The same key committed by a parallel request between our replay check and insert.
            if (order := _replay(idempotency_key, user_id, product_id, quantity)) is not None:
                return order
            raise
        if created:
            held.keep(idempotency_key=idempotency_key)
        return order


@transaction.atomic(durable=True)
def _redeem(
    *,
    user_id: int,
    product_id: int,
    quantity: int,
    idempotency_key: str,
    address_id: int | None,
    confirmed: Totals | None,
) -> tuple[Order, bool]:
    """The redemption transaction; returns the order and whether this call created it.

    Durable: it must be the outermost transaction, so a committed order is really committed
    when ``order_redeem`` keeps the flash gate's units, and the PIN attempt before it commits
    on its own (docs/decisions/0010).
    """
    points_services.account_lock(user_id=user_id)
    if (order := _replay(idempotency_key, user_id, product_id, quantity)) is not None:
        return order, False
    product = _product(product_id)
    quote = _quote(product, user_id=user_id, quantity=quantity)
    if confirmed is not None:
        # The price that is charged is the one computed here, under the account lock: it must be
        # the one the member confirmed, or nothing happens (docs/decisions/0016).
        confirmation_check(confirmed=confirmed, actual=quote.totals)
    if quote.balance < quote.points_total:
        raise InsufficientPointsError(available=quote.balance, required=quote.points_total)
    address = None
    if product.kind == ProductKind.PHYSICAL:
        if address_id is None:
            raise AddressRequiredError()
        address = accounts_selectors.address_get(user_id=user_id, address_id=address_id)
    now = timezone.now()
    status = _first_status(product)
    order = Order.objects.create(
        member_id=user_id,
        product=product,
        product_name=product.name,
        kind=product.kind,
        quantity=quantity,
        unit_points=quote.price.unit_points,
        points_total=quote.points_total,
        points_saved=quote.points_saved,
        cash_total=quote.cash_total,
        status=status,
        idempotency_key=idempotency_key,
        recipient=address.recipient if address else "",
        phone=address.phone if address else "",
        address=f"{address.region} {address.detail}" if address else "",
        postal_code=address.postal_code if address else "",
        pay_by=now + timezone.timedelta(minutes=settings.CATALOG_PAYMENT_TIMEOUT_MINUTES)
        if status in order_states.AWAITING_PAYMENT
        else None,
        created_at=now,
    )
    receipt = points_services.points_spend(
        user_id=user_id,
        amount=quote.points_total,
        idempotency_key=f"{rules.order_reference(order.pk)}:spend",
        reference=rules.order_reference(order.pk),
        **notices.redeemed(product=product, quantity=quantity),
    )
    Order.objects.filter(pk=order.pk).update(spend_entry_id=receipt.entry_id)
    order.spend_entry_id = receipt.entry_id
    if product.needs_code:
        code = locks.free_codes_for_update(product_id=product.pk).first()
        if code is None:
            raise _no_free_code(product)
        valid_until = (
            now + timezone.timedelta(days=product.coupon_valid_days) if product.kind == ProductKind.COUPON else None
        )
        Code.objects.filter(pk=code.pk).update(order=order, assigned_at=now, valid_until=valid_until)
    order_event_record(order_id=order.pk, from_status="", to_status=status, created_at=now)
    # A privilege order carries what it delivers, and delivers it when it completes (here, or later).
    privileges.order_effect_record(order=order, product=product)
    privileges.order_effect_apply(order=order)
    order_messages.order_placed_notify(order=order)
    standing = Order.objects.filter(member_id=user_id).exclude(pk=order.pk)
    first = not standing.exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.REJECTED]).exists()
    signals.redemption_placed.send(
        sender=Order, user_id=user_id, order_id=order.pk, reference=rules.order_reference(order.pk), first=first
    )
    order_created_announce(order=order, source="redemption")
    # The product's stock row last: a hot item's row is locked from this UPDATE to the commit, so
    # everything that does not need it (the ledger, the code, the messages, the receivers) comes
    # first and the crowd behind it waits for one statement and a commit (docs/decisions/0049).
    # The flash gate already moved: ``order_redeem`` took these units from the counter before
    # this transaction, keeps them once it commits and gives them back if it rolls back.
    stock_take(product_id=product.pk, quantity=quantity, order_id=order.pk, gate_held=True)
    return order, True
