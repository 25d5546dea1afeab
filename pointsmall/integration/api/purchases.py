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

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema
from pydantic import AwareDatetime, ConfigDict, WithJsonSchema, model_validator

from points import services as points_services
from points.exceptions import IdempotencyConflictError, PurchaseNotFoundError
from pointsmall.integration import formats, idempotency, selectors
from pointsmall.integration.exceptions import OrderIdTakenError
from pointsmall.integration.models import Client

router = Router(tags=["purchases"])

ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
ExternalId = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=64)]
# Yuan as a JSON string ("128.00"): above 0, at most a million, at most two decimals.
# The document says what hosts should send (a string); a JSON number is accepted too.
Money = Annotated[
    Decimal,
    Field(gt=0, le=Decimal(1_000_000), decimal_places=2, max_digits=9),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,7}(\.[0-9]{1,2})?$", "examples": ["128.00"]}),
]
# No NUL: Postgres cannot store it in a text column (the request would fail, not be refused).
Label = Annotated[str, Field(max_length=64, pattern=r"^[^\x00]*$")]
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
    purchased_at: AwareDatetime | None = None


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

    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
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


class ErrorOut(Schema):
    code: str
    message: str


def _yuan(value: Decimal) -> str:
    return f"{value:.2f}"


def _answer(status: int, body: dict[str, Any], replayed: bool) -> HttpResponse:
    from pointsmall.integration.api import api

    response = api.create_response(None, body, status=status)  # type: ignore[arg-type]
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.post(
    "/purchases",
    response={201: PurchaseOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Report a purchase",
)
def purchase_report(request: HttpRequest, body: PurchaseIn) -> HttpResponse:
    """Credits the member's points for the purchase, pending for the returns window.

    ``items`` (optional) must add up to ``amount``; each earns at its SKU's or category's rate
    (some earn nothing) and can later be refunded by SKU. A ``purchased_at`` in the future
    counts as now. 404 ``member_not_found``; 409 ``order_id_taken``, ``idempotency_conflict``;
    422 ``invalid_purchase``, ``invalid_request``.
    """
    client: Client = request.auth  # type: ignore[attr-defined]
    lines = [
        points_services.PurchaseLine(amount=item.amount, sku=item.sku, category=item.category)
        for item in body.items or []
    ]

    def record() -> tuple[int, dict[str, Any]]:
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
            "status": "pending",
            "available_at": formats.instant(result.available_at),
        }

    status, answer, replayed = idempotency.run_once(
        client_id=client.pk,
        scope="purchase",
        key=body.external_order_id,
        body=body.model_dump(mode="json"),
        operation=record,
    )
    return _answer(status, answer, replayed)


@router.post(
    "/purchases/{external_order_id}/refunds",
    response={201: RefundOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
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
    purchase); 409 ``idempotency_conflict``; 422 ``invalid_purchase`` (more than is left, an
    SKU not on the purchase), ``invalid_request``.
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
    return _answer(status, answer, replayed)
