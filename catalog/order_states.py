"""The order state machine: which action may move an order from which status, by whom, to where.

The one table every layer asks (services check a transition with ``transition_target``,
selectors and views expose flags from ``allows``, the admin offers what ``allows`` permits,
queries filter by the sets below and by ``overdue_filter``). Pure: no queries, no clock
(``now`` is passed in).

Anchor: django-oscar ``order/abstract_models.py`` (``pipeline``, ``available_statuses()``,
``set_status()``); here the pipeline is keyed by action rather than by status, because the
same move (cancel) is allowed to different people from different statuses, and a refusal
names the action ("can't be cancelled in its current state").

The road of an order::

    placed ─┬─ awaiting_payment ─pay─┐
            ├──────────────────────── pending_review ─approve─ approved ─ship─ shipped
            ├──────────────────────────────────────────────── approved       │ deliver
            └─ completed (codes, coupons, privileges)                       delivered ─complete─ completed

    cancel (member, operator): awaiting_payment, pending_review, approved → cancelled
    cancel unused (member, operator): completed → cancelled, only for a privilege whose effect is
        applied, not taken back, and can be taken back (condition ``UNUSED_PRIVILEGE``)
    cancel unpaid (system, once ``pay_by`` passed): awaiting_payment → cancelled
    reject (operator): pending_review, approved → rejected
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from catalog.enums import OrderStatus
from catalog.exceptions import InvalidTransitionError

S = OrderStatus


class Actor(enum.StrEnum):
    """Who asks for a transition."""

    MEMBER = "member"  # the order's own member
    OPERATOR = "operator"  # mall staff in the admin or at the till
    SYSTEM = "system"  # the mall itself: a sweep, or a step that follows another one
    PAYMENT_PROVIDER = "payment_provider"  # a gateway's signed notification


class Action(enum.StrEnum):
    PLACE = "place"
    PAY = "pay"
    APPROVE = "approve"
    REJECT = "reject"
    SHIP = "ship"
    DELIVER = "deliver"
    COMPLETE = "complete"
    FULFIL = "fulfil"  # a reviewed code, coupon or privilege is delivered the moment it is approved
    CANCEL = "cancel"  # by the member or an operator
    CANCEL_UNPAID = "cancel_unpaid"  # by the system, once the time to pay ran out
    REVIEW = "review"
    USE_IN_STORE = "use_in_store"  # a coupon scanned at the till
    REFUND_LATE_PAYMENT = "refund_late_payment"  # money that arrived after the order was cancelled
    CANCEL_UNUSED = "cancel_unused"  # a completed privilege, while its effect is unused (see Condition)


class Condition(enum.StrEnum):
    """A fact about one order the table can't see (it needs a query), which an action requires.

    The caller establishes it (the service under its locks, the selector by a read) and passes
    it in ``conditions``; an action that requires a condition not passed is refused.
    """

    # A privilege order whose effect is applied, not taken back, and of a type that can be taken
    # back (``catalog.services.privileges.effect_revocable``). Whether it was used is only known
    # when the reverser is asked, inside the cancel.
    UNUSED_PRIVILEGE = "unused_privilege"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[str]  # the statuses it is allowed from ("" : no order yet)
    target: str | None  # None: the status stays (the action records something else)
    actors: frozenset[Actor]
    label: Promise  # as in "This order can't be <label> in its current state"
    requires: Condition | None = None  # allowed only when the caller passes this condition


def _t(action: Action, sources, target, actors, label: Promise, requires: Condition | None = None) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(actors), label, requires)


MEMBER, OPERATOR, SYSTEM, PROVIDER = Actor.MEMBER, Actor.OPERATOR, Actor.SYSTEM, Actor.PAYMENT_PROVIDER
UNSHIPPED = (S.AWAITING_PAYMENT, S.PENDING_REVIEW, S.APPROVED)

# Labels are lazy: built at import, they must read in the language of the request that fails.
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        # Placing: the first status is ``opening_status`` (by the product), not one target.
        _t(Action.PLACE, {""}, None, {MEMBER}, gettext_lazy("placed")),
        # After payment the order goes where it would have started without a cash part: see ``target``.
        _t(Action.PAY, {S.AWAITING_PAYMENT}, S.APPROVED, {PROVIDER, OPERATOR}, gettext_lazy("paid")),
        _t(Action.APPROVE, {S.PENDING_REVIEW}, S.APPROVED, {OPERATOR}, gettext_lazy("approved")),
        _t(Action.REJECT, {S.PENDING_REVIEW, S.APPROVED}, S.REJECTED, {OPERATOR}, gettext_lazy("rejected")),
        _t(Action.SHIP, {S.APPROVED}, S.SHIPPED, {OPERATOR}, gettext_lazy("shipped")),
        # The member confirming receipt delivers a shipped parcel, then completes it.
        _t(Action.DELIVER, {S.SHIPPED}, S.DELIVERED, {OPERATOR, MEMBER}, gettext_lazy("delivered")),
        _t(Action.COMPLETE, {S.DELIVERED}, S.COMPLETED, {MEMBER}, gettext_lazy("completed")),
        _t(Action.FULFIL, {S.APPROVED}, S.COMPLETED, {SYSTEM}, gettext_lazy("completed")),
        _t(Action.CANCEL, UNSHIPPED, S.CANCELLED, {MEMBER, OPERATOR}, gettext_lazy("cancelled")),
        _t(Action.CANCEL_UNPAID, {S.AWAITING_PAYMENT}, S.CANCELLED, {SYSTEM}, gettext_lazy("cancelled")),
        _t(Action.REVIEW, {S.DELIVERED, S.COMPLETED}, None, {MEMBER}, gettext_lazy("reviewed")),
        _t(Action.USE_IN_STORE, {S.COMPLETED}, None, {OPERATOR}, gettext_lazy("used")),
        _t(Action.REFUND_LATE_PAYMENT, {S.CANCELLED}, None, {PROVIDER, OPERATOR}, gettext_lazy("paid")),
        # A completed privilege can still be cancelled while its effect is unused (docs/decisions/0020).
        _t(
            Action.CANCEL_UNUSED,
            {S.COMPLETED},
            S.CANCELLED,
            {MEMBER, OPERATOR},
            gettext_lazy("cancelled"),
            requires=Condition.UNUSED_PRIVILEGE,
        ),
    )
}

# --- Sets derived from the table --------------------------------------------------------------

# Closed: the order gave its points back (cancelled or rejected).
CLOSED: frozenset[str] = frozenset(
    TRANSITIONS[a].target for a in (Action.CANCEL, Action.CANCEL_UNPAID, Action.CANCEL_UNUSED, Action.REJECT)
)
CANCELLED: frozenset[str] = frozenset({TRANSITIONS[Action.CANCEL].target})
# Completed: delivered and done; a privilege's effect is applied when its order gets here.
COMPLETED: frozenset[str] = frozenset({TRANSITIONS[Action.COMPLETE].target})
# Live (counted): every other order counts as a redemption (limits, "bought together", sales).
LIVE: frozenset[str] = frozenset(OrderStatus.values) - CLOSED
CANCELLABLE: frozenset[str] = TRANSITIONS[Action.CANCEL].sources
# Confirming receipt delivers (if shipped) and completes.
RECEIVABLE: frozenset[str] = TRANSITIONS[Action.DELIVER].sources | TRANSITIONS[Action.COMPLETE].sources
REVIEWABLE: frozenset[str] = TRANSITIONS[Action.REVIEW].sources
AWAITING_PAYMENT: frozenset[str] = TRANSITIONS[Action.PAY].sources
# Terminal: no action moves the order on without a condition. Completed stays terminal: only an
# unused privilege (``Condition.UNUSED_PRIVILEGE``) may still be cancelled from it.
TERMINAL: frozenset[str] = frozenset(OrderStatus.values) - frozenset().union(
    *(t.sources for t in TRANSITIONS.values() if t.target is not None and t.requires is None)
)

# The tabs of "My orders" (and the order row of the member's page): tab value -> statuses
# (empty: all), in the words members of other malls know (待付款 / 待发货 / 待收货 / 待评价 / 退款).
# "to_review" also needs the order to have no review yet (``TABS_UNREVIEWED``). Labels live with the view.
ORDER_TABS: dict[str, tuple[str, ...]] = {
    "all": (),
    "to_pay": tuple(sorted(AWAITING_PAYMENT)),
    "to_ship": (S.PENDING_REVIEW, S.APPROVED),
    "to_receive": tuple(sorted(RECEIVABLE)),  # shipped, or delivered and not yet confirmed
    # Reviewable once receipt is confirmed: a delivered parcel waits in "to_receive".
    "to_review": tuple(sorted(REVIEWABLE - RECEIVABLE)),
    "done": tuple(sorted(COMPLETED)),
    # A closed order gave its points (and any cash paid) back: the member's "refunds".
    "refund": tuple(sorted(CLOSED)),  # cancelled, rejected
}
TABS_UNREVIEWED: frozenset[str] = frozenset({"to_review"})

# What a member reads for a status, in the words of the malls they know: the one mapping every
# member-facing page and message uses (the admin keeps ``OrderStatus``'s operator words).
MEMBER_STATUS_LABELS: dict[str, Promise] = {
    S.AWAITING_PAYMENT: gettext_lazy("To pay"),
    S.PENDING_REVIEW: gettext_lazy("To ship"),
    S.APPROVED: gettext_lazy("To ship"),
    S.SHIPPED: gettext_lazy("To receive"),
    S.DELIVERED: gettext_lazy("Delivered"),
    S.COMPLETED: gettext_lazy("Completed"),
    S.CANCELLED: gettext_lazy("Cancelled"),
    S.REJECTED: gettext_lazy("Declined"),
}
REFUNDING_LABEL: Promise = gettext_lazy("Refund in progress")


def member_status_label(status: str, *, refund_owed: bool = False) -> str:
    """The member's word for ``status`` in the current language ("To ship", not "Approved").

    ``refund_owed``: a closed order whose cash is still being refunded reads "Refund in progress".
    An unknown status is returned as it is.
    """
    if refund_owed and status in CLOSED:
        return str(REFUNDING_LABEL)
    label = MEMBER_STATUS_LABELS.get(status)
    return str(label) if label is not None else status


# The happy path, for the member's progress stepper (and the demo, which walks orders along it).
ROAD = (S.AWAITING_PAYMENT, S.PENDING_REVIEW, S.APPROVED, S.SHIPPED, S.DELIVERED, S.COMPLETED)


# --- Questions --------------------------------------------------------------------------------


def allows(action: Action, status: str, *, by: Actor | None = None, conditions: Iterable[Condition] = ()) -> bool:
    """Whether ``action`` may be taken on an order in ``status`` (by ``by``, when given).

    An action that requires a condition is allowed only when ``conditions`` holds it.
    """
    transition = TRANSITIONS[action]
    return (
        status in transition.sources
        and (by is None or by in transition.actors)
        and (transition.requires is None or transition.requires in conditions)
    )


def available_actions(status: str, *, by: Actor | None = None, conditions: Iterable[Condition] = ()) -> list[Action]:
    """Every action allowed from ``status`` (by ``by``, given ``conditions``), in table order (oscar's
    ``available_statuses``)."""
    conditions = frozenset(conditions)
    return [action for action in TRANSITIONS if allows(action, status, by=by, conditions=conditions)]


def opening_status(*, awaiting_cash: bool, requires_review: bool, physical: bool) -> str:
    """The status an order starts in (or goes to once its cash part is paid: ``awaiting_cash=False``).

    A cash part is paid first; then review when the product needs it, whatever its kind;
    then a parcel waits to ship, and anything else (a code, a coupon, a privilege) is done.
    """
    if awaiting_cash:
        return S.AWAITING_PAYMENT
    if requires_review:
        return S.PENDING_REVIEW
    if physical:
        return S.APPROVED
    return S.COMPLETED


def transition_target(
    action: Action,
    status: str,
    *,
    by: Actor,
    requires_review: bool = False,
    physical: bool = True,
    conditions: Iterable[Condition] = (),
) -> str:
    """The status ``action`` moves an order in ``status`` to (``status`` itself for an action that
    keeps it). Raises InvalidTransitionError (naming the action and the status) when the table does
    not allow ``by`` to take it from ``status`` (given ``conditions``).

    ``requires_review`` and ``physical`` describe the order's product; only paying needs them.
    """
    transition = TRANSITIONS[action]
    if not allows(action, status, by=by, conditions=conditions):
        raise InvalidTransitionError(action=str(transition.label), status=str(_label(status)))
    if action == Action.PAY:
        return opening_status(awaiting_cash=False, requires_review=requires_review, physical=physical)
    return transition.target or status


def refusal(action: Action, status: str) -> InvalidTransitionError:
    """The error for ``action`` refused in ``status`` (for refusals the table alone can't see)."""
    return InvalidTransitionError(action=str(TRANSITIONS[action].label), status=str(_label(status)))


def _label(status: str) -> str:
    return OrderStatus(status).label if status in OrderStatus.values else status


class _Payable(Protocol):
    status: str
    pay_by: datetime | None


def payment_overdue(order_or_pay_by: _Payable | datetime | None, now: datetime) -> bool:
    """Whether the time to pay ran out: ``pay_by`` has passed (``pay_by <= now``).

    Given an order (anything with ``status`` and ``pay_by``), only an order still awaiting
    payment is overdue; given a bare ``pay_by``, only the time counts. No ``pay_by``: never.
    """
    if order_or_pay_by is None or isinstance(order_or_pay_by, datetime):
        pay_by = order_or_pay_by
    else:
        if order_or_pay_by.status not in AWAITING_PAYMENT:
            return False
        pay_by = order_or_pay_by.pay_by
    return pay_by is not None and pay_by <= now


def overdue_filter(now: datetime) -> Q:
    """``payment_overdue`` as a query filter on Order: still awaiting payment and ``pay_by <= now``.

    Keep the two in step: the sweep lists orders with this, then re-checks each with
    ``payment_overdue`` under its lock.
    """
    return Q(status__in=TRANSITIONS[Action.CANCEL_UNPAID].sources, pay_by__lte=now)


def payable(order, now: datetime) -> bool:
    """The member may still pay: awaiting payment, not paid, time not run out (``status``, ``pay_by``, ``paid_at``)."""
    return order.status in AWAITING_PAYMENT and order.paid_at is None and not payment_overdue(order.pay_by, now)


def progress(status: str, *, has_cash: bool, physical: bool) -> list[tuple[str, bool]]:
    """The member's stepper: (milestone, reached) from placed to completed, for an order not closed.

    Milestones: "placed", "paid" (cash orders), "shipped" and "delivered" (parcels), "completed".
    """
    reached = ROAD.index(status) if status in ROAD else -1
    steps = [("placed", True)]
    if has_cash:
        steps.append(("paid", reached > ROAD.index(S.AWAITING_PAYMENT)))
    if physical:
        steps.append(("shipped", reached >= ROAD.index(S.SHIPPED)))
        steps.append(("delivered", reached >= ROAD.index(S.DELIVERED)))
    steps.append(("completed", reached >= ROAD.index(S.COMPLETED)))
    return steps
