"""``POST /purchases`` and ``POST /purchases/{external_order_id}/refunds``: the host reports what
its members bought and what they returned; the ledger credits and takes back the points
(points.services.purchase_record / purchase_refund).

Both are exactly-once per client (pointsmall.integration.idempotency): the same id and body
replay the first answer with ``Idempotent-Replayed: true``; the same id with another body is
409 ``idempotency_conflict``. An order id is the client's that first reported it: another
client (or the CSV import) reporting it again gets 409 ``order_id_taken``, and refunds of a
purchase another client reported are 404 ``purchase_not_found``, as for an unknown one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Path, Router, Schema
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, StrictStr, WithJsonSchema, model_validator

from points import services as points_services
from points.exceptions import IdempotencyConflictError, PurchaseNotFoundError
from pointsmall.integration import formats, idempotency, selectors
from pointsmall.integration.api import schemas
from pointsmall.integration.api.schemas import responses
from pointsmall.integration.exceptions import OrderIdTakenError, PurchaseTooOldError
from pointsmall.integration.models import Client

router = Router(tags=["purchases"])

ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
ExternalId = Annotated[StrictStr, Field(pattern=ID_PATTERN, min_length=1, max_length=64)]
# Yuan, as a JSON string only ("128.00", "5", "0.5"): ASCII digits, no leading zeros, at most two
# decimals. Never a JSON number (0.1 is not exact in binary) and never what Decimal() would also
# read: "1e3", "１００" (full-width), " 5", "5.", ".5", "0005", "NaN".
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,2})?$"
_MONEY = re.compile(MONEY_PATTERN.strip("^$"))


def _money_text(value: Any) -> Decimal:
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise ValueError('yuan as a JSON string of digits with at most two decimals, e.g. "128.00"')
    return Decimal(value)


Money = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    Field(gt=0, le=Decimal(1_000_000)),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["128.00"]}),
]


def _instant_text(value: Any) -> Any:
    # Pydantic would also take a number (Unix seconds) for a datetime: the API documents a string.
    if not isinstance(value, str):
        raise ValueError('an ISO 8601 date and time with its offset, e.g. "2026-01-01T08:00:00+08:00"')
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_instant_text)]
# No NUL: Postgres cannot store it in a text column (the request would fail, not be refused).
Label = Annotated[StrictStr, Field(max_length=64, pattern=r"^[^\x00]*$")]
MAX_ITEMS = 200


class PurchaseItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sku: Label = ""
    category: Label = ""
    amount: Money


class PurchaseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    external_order_id: ExternalId
    member: ExternalId
    amount: Money
    items: list[PurchaseItemIn] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    purchased_at: Instant | None = None


class PurchaseOut(Schema):
    external_order_id: str
    member: str
    amount: str
    points: int
    bonus: int
    status: str
    available_at: datetime


class RefundItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
    amount: Money


class RefundIn(Schema):
    model_config = ConfigDict(extra="forbid")

    refund_id: ExternalId
    amount: Money | None = None
    items: list[RefundItemIn] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def amount_or_items(self) -> RefundIn:
        if self.amount is not None and self.items is not None:
            raise ValueError("give the refund's amount or its items, not both")
        return self


class RefundOut(Schema):
    external_order_id: str
    refund_id: str
    amount: str
    points_taken_back: int
    total_refunded: str
    total_points_taken_back: int


def _yuan(value: Decimal) -> str:
    return f"{value:.2f}"


@router.post(
    "/purchases",
    response=responses({201: PurchaseOut}, 404, 409),
    summary="Report a purchase",
)
def purchase_report(request: HttpRequest, body: PurchaseIn) -> HttpResponse:
    """Credits the member's points for the purchase, pending for the returns window.

    ``items`` (optional) must add up to ``amount``; each earns at its SKU's or category's rate
    (some earn nothing) and can later be refunded by SKU. A ``purchased_at`` in the future
    counts as now; one more than INTEGRATION_PURCHASE_MAX_AGE_DAYS back is 422
    ``purchase_too_old``. ``status`` is ``pending`` while ``available_at`` is ahead, else
    ``available`` (a purchase older than the returns window is spendable at once).
    404 ``member_not_found``; 409 ``order_id_taken``, ``idempotency_conflict``;
    422 ``items_do_not_add_up``, ``purchase_too_old``, ``invalid_purchase``, ``invalid_request``.
    """
    client: Client = request.auth  # type: ignore[attr-defined]
    lines = [
        points_services.PurchaseLine(amount=item.amount, sku=item.sku, category=item.category)
        for item in body.items or []
    ]

    def record() -> tuple[int, dict[str, Any]]:
        now = timezone.now()
        max_age = settings.INTEGRATION_PURCHASE_MAX_AGE_DAYS
        # Checked here, not before run_once: a replay of an accepted purchase still replays.
        if body.purchased_at is not None and body.purchased_at < now - timedelta(days=max_age):
            raise PurchaseTooOldError(days=max_age)
        user_id = selectors.member_user_id(client_id=client.pk, external_id=body.member)
        try:
            result = points_services.purchase_record(
                user_id=user_id,
                external_id=body.external_order_id,
                amount=body.amount,
                lines=lines or None,
                occurred_at=body.purchased_at,
            )
        except (IdempotencyConflictError, IntegrityError):
            # Another client's (or the import's) purchase, possibly committed a moment ago.
            raise OrderIdTakenError() from None
        if result.replayed:
            # Our idempotency record is new, so the purchase that already exists is not ours.
            raise OrderIdTakenError()
        return 201, {
            "external_order_id": body.external_order_id,
            "member": body.member,
            "amount": _yuan(body.amount),
            "points": result.points,
            "bonus": result.bonus,
            # What the ledger did: a purchase older than the returns window vests at once.
            "status": "pending" if result.available_at > timezone.now() else "available",
            "available_at": formats.instant(result.available_at),
        }

    status, answer, replayed = idempotency.run_once(
        client_id=client.pk,
        scope="purchase",
        key=body.external_order_id,
        body=body.model_dump(mode="json"),
        operation=record,
    )
    return schemas.answer(status, answer, replayed=replayed)


@router.post(
    "/purchases/{external_order_id}/refunds",
    response=responses({201: RefundOut}, 404, 409),
    summary="Report a refund",
)
def purchase_refund_report(
    request: HttpRequest,
    body: RefundIn,
    external_order_id: str = Path(..., pattern=ID_PATTERN, min_length=1, max_length=64),
) -> HttpResponse:
    """Takes back the refunded part's points: ``amount`` in proportion over the whole purchase,
    ``items`` by SKU (each item's own points), neither = the rest in full. Pending points are
    cancelled, vested ones reversed. 404 ``purchase_not_found`` (also another client's
    purchase); 409 ``idempotency_conflict``; 422 ``already_fully_refunded``,
    ``refund_exceeds_purchase`` (the message gives the yuan left), ``unknown_item``,
    ``refund_exceeds_item``, ``invalid_purchase``, ``invalid_request``.
    """
    client: Client = request.auth  # type: ignore[attr-defined]
    if idempotency.owner_of(scope="purchase", key=external_order_id) != client.pk:
        raise PurchaseNotFoundError()

    def refund() -> tuple[int, dict[str, Any]]:
        result = points_services.purchase_refund(
            external_id=external_order_id,
            amount=body.amount,
            items=[(item.sku, item.amount) for item in body.items] if body.items else None,
            # Refund ids are the client's own: two clients may both use "r1".
            idempotency_key=f"api:{client.pk}:{body.refund_id}",
        )
        return 201, {
            "external_order_id": external_order_id,
            "refund_id": body.refund_id,
            "amount": _yuan(result.amount),
            "points_taken_back": result.points,
            "total_refunded": _yuan(result.refunded_amount),
            "total_points_taken_back": result.points_taken_back,
        }

    status, answer, replayed = idempotency.run_once(
        client_id=client.pk,
        scope="refund",
        key=body.refund_id,
        body={"external_order_id": external_order_id, **body.model_dump(mode="json")},
        operation=refund,
    )
    return schemas.answer(status, answer, replayed=replayed)
