"""Host API: checkout holds (积分抵扣), a member's balance and their points history.

A hold's key is ``host:<client id>:<host order id>``: one hold per host order, and a client
sees only its own holds (another client's is 404 ``hold_not_found``, like one that does not
exist). Rules of capture, release and expiry: docs/decisions/0033-checkout-holds.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema
from pydantic import ConfigDict, StrictStr

from points import notices
from points import selectors as points_selectors
from points import services as points_services
from points.exceptions import AccountNotFoundError
from pointsmall.integration import formats, selectors
from pointsmall.integration.api.schemas import answer, responses
from pointsmall.integration.exceptions import HoldNotFoundError
from pointsmall.integration.idempotency import run_once
from pointsmall.integration.models import Client

router = Router(tags=["holds and balances"])

HOST_ID = r"^[A-Za-z0-9_.:@-]{1,64}$"
ExternalId = Annotated[str, Field(pattern=HOST_ID)]
MAX_POINTS = 10**9
# Ids and page numbers the database can hold: a larger number is 422, never a database error.
HoldId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class HoldIn(Schema):
    # Exactly the documented fields and types: an unknown field or "10" for 10 is 422.
    model_config = ConfigDict(extra="forbid")

    host_order_id: StrictStr = Field(pattern=HOST_ID)
    points: int = Field(ge=1, le=MAX_POINTS, strict=True)
    expires_in_minutes: int = Field(
        default_factory=lambda: settings.INTEGRATION_HOLD_MINUTES, ge=1, le=1440, strict=True
    )


class EntriesQuery(Schema):
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=50, ge=1, le=100)


def _key_prefix(client: Client) -> str:
    return f"host:{client.pk}:"


def _hold_json(hold: Any, *, member: str, prefix: str) -> dict[str, Any]:
    """The API's shape of a hold (a HoldReceipt or a HoldView: the same field names)."""
    body = {
        "id": hold.hold_id,
        "host_order_id": hold.key.removeprefix(prefix),
        "member": member,
        "points": hold.amount,
        "status": str(hold.status),  # the effective status: overdue reads expired (decision 0033)
        "expires_at": formats.instant(hold.expires_at),
    }
    if hold.entry_id is not None:
        body["entry_id"] = hold.entry_id
    return body


def _own_hold(client: Client, hold_id: int) -> tuple[points_selectors.HoldView, str]:
    """The client's hold and the member's external id; HoldNotFoundError for another client's."""
    hold = points_selectors.hold_get(hold_id=hold_id)
    if hold is None or not hold.key.startswith(_key_prefix(client)):
        raise HoldNotFoundError()
    member = selectors.member_external_ids(user_id=hold.user_id).get(client.pk, "")
    return hold, member


class HoldOut(Schema):
    id: int
    host_order_id: str
    member: str
    points: int
    status: str = Field(description="active, captured, released or expired")
    expires_at: datetime
    entry_id: int | None = Field(default=None, description="the spend entry, once captured")


class ExpiringSoonOut(Schema):
    points: int
    by: date | None
    within_days: int


class TierOut(Schema):
    code: str
    name: str


class BalanceOut(Schema):
    member: str
    available: int
    pending: int
    held: int
    owed: int
    expiring_soon: ExpiringSoonOut
    tier: TierOut | None


class EntryOut(Schema):
    id: int
    created_at: datetime
    kind: str = Field(description="earn, vest, spend, refund, reverse, expire, adjust or debt_repay")
    points: int
    pending_points: int
    balance_after: int
    description: str
    reference: str


class EntriesOut(Schema):
    count: int
    page: int
    page_size: int
    next_page: int | None
    results: list[EntryOut]


def _json(request: HttpRequest, body: dict[str, Any], status: int, *, replayed: bool = False) -> HttpResponse:
    return answer(status, body, replayed=replayed)


@router.post(
    "/members/{external_id}/holds", summary="Hold points for a checkout", response=responses({201: HoldOut}, 404, 409)
)
def hold_place(request: HttpRequest, external_id: ExternalId, payload: HoldIn) -> HttpResponse:
    """Reserve points for the host order ``host_order_id`` until it is paid (capture) or cancelled
    (release), at most ``expires_in_minutes``. Exactly once per host order: the same body again
    answers the same (``Idempotent-Replayed: true``), another body 409 ``idempotency_conflict``.
    422 ``insufficient_points`` when the member's available points (balance − held) are fewer."""
    client: Client = request.auth  # type: ignore[attr-defined]
    user_id = selectors.member_user_id(client_id=client.pk, external_id=external_id)
    body = {"member": external_id, **payload.model_dump()}
    prefix = _key_prefix(client)

    def place() -> tuple[int, dict[str, Any]]:
        now = timezone.now()
        receipt = points_services.points_hold_place(
            user_id=user_id,
            amount=payload.points,
            key=prefix + payload.host_order_id,
            reference=f"host.order:{payload.host_order_id}",
            expires_at=now + timedelta(minutes=payload.expires_in_minutes),
            now=now,
        )
        return 201, _hold_json(receipt, member=external_id, prefix=prefix)

    status, response, replayed = run_once(
        client_id=client.pk, scope="hold", key=payload.host_order_id, body=body, operation=place
    )
    return _json(request, response, status, replayed=replayed)


@router.get("/holds/{hold_id}", summary="Read a hold", response=responses({200: HoldOut}, 404))
def hold_read(request: HttpRequest, hold_id: HoldId) -> HttpResponse:
    client: Client = request.auth  # type: ignore[attr-defined]
    hold, member = _own_hold(client, hold_id)
    return _json(request, _hold_json(hold, member=member, prefix=_key_prefix(client)), 200)


@router.post(
    "/holds/{hold_id}/capture",
    summary="Spend a hold's points: the order was paid",
    response=responses({200: HoldOut}, 404, 409),
)
def hold_capture(request: HttpRequest, hold_id: HoldId) -> HttpResponse:
    """Spend the held points (the member's history reads "Paid with points at the shop, order …").
    Again: 200, the same answer. 409 ``hold_not_active`` for a released or expired hold (also
    one whose time ran out just now), ``member_unavailable`` once the account is closed or has a
    back-office role; 422 ``insufficient_points`` if expiry or a reversal took the member below
    the hold meanwhile (the hold is then released)."""
    client: Client = request.auth  # type: ignore[attr-defined]
    hold, member = _own_hold(client, hold_id)
    # Spending is acting for the member: refused once the account is closed or has a back-office
    # role, like every endpoint that names a member. Release and read stay open (they only give
    # points back or show them), and so do refunds (taking points back is always allowed).
    selectors.member_check_usable(user_id=hold.user_id)
    prefix = _key_prefix(client)
    receipt = points_services.points_hold_capture(
        hold_id=hold.hold_id, **notices.checkout_paid(order=hold.key.removeprefix(prefix)).memo
    )
    return _json(request, _hold_json(receipt, member=member, prefix=prefix), 200)


@router.post(
    "/holds/{hold_id}/release",
    summary="Give a hold's points back: the order was cancelled",
    response=responses({200: HoldOut}, 404, 409),
)
def hold_release(request: HttpRequest, hold_id: HoldId) -> HttpResponse:
    """Again: 200, the same answer. An active hold past its time answers 200 with status
    ``expired`` (its points are back either way). 409 ``hold_not_active`` for a captured hold."""
    client: Client = request.auth  # type: ignore[attr-defined]
    hold, member = _own_hold(client, hold_id)
    receipt = points_services.points_hold_release(hold_id=hold.hold_id)
    return _json(request, _hold_json(receipt, member=member, prefix=_key_prefix(client)), 200)


@router.get(
    "/members/{external_id}/balance", summary="A member's points", response=responses({200: BalanceOut}, 404, 409)
)
def member_balance(request: HttpRequest, external_id: ExternalId) -> HttpResponse:
    """``available``: spendable now (balance − held); ``held``: reserved by active holds;
    ``owed``: points a reversal could not take back; ``expiring_soon``: available points that
    expire within ``within_days`` days, ``by`` the last day the first of them can be spent."""
    client: Client = request.auth  # type: ignore[attr-defined]
    user_id = selectors.member_user_id(client_id=client.pk, external_id=external_id)
    summary = points_selectors.balance_summary(user_id=user_id)
    if summary is None:
        raise AccountNotFoundError()
    # Written as it is (the declared schema documents it; re-parsing would reformat the instants).
    return answer(
        200,
        {
            "member": external_id,
            "available": summary.available,
            "pending": summary.pending,
            "held": summary.held,
            "owed": summary.owed,
            "expiring_soon": {
                "points": summary.expiring_soon_points,
                "by": summary.expiring_by.isoformat() if summary.expiring_by else None,
                "within_days": summary.within_days,
            },
            "tier": {"code": summary.tier_code, "name": summary.tier_name} if summary.tier_code else None,
        },
    )


@router.get(
    "/members/{external_id}/entries",
    summary="A member's points history",
    response=responses({200: EntriesOut}, 404, 409),
)
def member_entries(request: HttpRequest, external_id: ExternalId, query: Query[EntriesQuery]) -> HttpResponse:
    """Every ledger entry, newest first; ``description`` in the request's language."""
    client: Client = request.auth  # type: ignore[attr-defined]
    user_id = selectors.member_user_id(client_id=client.pk, external_id=external_id)
    page = points_selectors.entries_page(user_id=user_id, page=query.page, page_size=query.page_size)
    body = {
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
        "next_page": page.next_page,
        "results": [
            {
                "id": row.id,
                "created_at": formats.instant(row.created_at),
                "kind": row.kind,
                "points": row.points,
                "pending_points": row.pending_points,
                "balance_after": row.balance_after,
                "description": row.description,
                "reference": row.reference,
            }
            for row in page.results
        ],
    }
    return answer(200, body)
