"""The states of a cash refund (CashRefund.status): which are still owed, and which one an operator
may record as paid back by hand. Pure: no ORM. Asked by the refund service, the back-office
selectors, the admin's refund filter and the member's order page.

    due ──the gateway (or an operator, offline) pays it back──▶ refunded
     │                                                            ▲
     └─the gateway refused─▶ failed ──retried, or paid by hand────┘
"""

from __future__ import annotations

from catalog.enums import RefundStatus

# Owed: the money is still on its way back (due, or failed and being retried).
OWED: frozenset[str] = frozenset({RefundStatus.DUE, RefundStatus.FAILED})


def owed(status: str) -> bool:
    return status in OWED


def recordable_by_hand(status: str, *, refunds_by_gateway: bool) -> bool:
    """Whether an operator may record this refund as paid back outside a gateway.

    A failed refund may; a due one only when its backend does not refund by itself (offline):
    a gateway refund still due is the gateway's, and paying it by hand as well would pay twice.
    """
    return status == RefundStatus.FAILED or (status == RefundStatus.DUE and not refunds_by_gateway)
