"""What the mall holds about one member, as the file they download (docs/decisions/0052).

Read-only. It reads each app's tables directly, as the project's cross-app reports do: an export
names every row of the member's, which no app's page-sized selector returns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Address, Notification, Referral
from catalog.models import Order, Review
from lottery.models import Draw
from points.models import Account, Entry
from tasks.models.checkin import Checkin
from tasks.models.task import SurveyResponse, TaskProgress

EXPORT_FORMAT = 1


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(queryset, fields: list[str]) -> list[dict[str, Any]]:
    return [{name: _value(row[name]) for name in fields} for row in queryset.values(*fields)]


def member_data_export(*, user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything the mall keeps about member ``user_id`` and nobody else, as JSON-ready data:
    ``{"format", "exported_at", "profile", "email_addresses", "addresses", "points", "ledger",
    "orders", "reviews", "referrals", "checkins", "tasks", "surveys", "draws", "notifications"}``.
    Dates and times are ISO 8601 strings; points are integers; cash amounts are strings in yuan.
    A referral lists the other member only by their public name. Raises User.DoesNotExist."""
    user = get_user_model().objects.get(pk=user_id)
    account = Account.objects.filter(user_id=user_id).first()
    referrals = Referral.objects.filter(inviter_id=user_id).select_related("invitee").order_by("pk")
    invited_by = Referral.objects.filter(invitee_id=user_id).select_related("inviter").first()
    notifications = Notification.objects.filter(user_id=user_id).order_by("pk")
    orders = _rows(
        Order.objects.filter(member_id=user_id).order_by("pk"),
        [
            "id",
            "product_name",
            "kind",
            "quantity",
            "points_total",
            "cash_total",
            "status",
            "recipient",
            "phone",
            "address",
            "postal_code",
            "carrier",
            "tracking_number",
            "paid_at",
            "created_at",
        ],
    )
    for order in orders:
        order["cash_total"] = str(order["cash_total"])
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _value(now or timezone.now()),
        "profile": {
            "id": user.pk,
            "email": user.own_email,
            "display_name": user.display_name,
            "phone": user.phone or "",
            "phone_verified_at": _value(user.phone_verified_at),
            "language": user.language,
            "avatar": user.avatar.name or "",
            "date_joined": _value(user.date_joined),
            "last_login": _value(user.last_login),
        },
        "email_addresses": _rows(
            EmailAddress.objects.filter(user_id=user_id).order_by("pk"), ["email", "verified", "primary"]
        ),
        "addresses": _rows(
            Address.objects.filter(user_id=user_id).order_by("pk"),
            ["recipient", "phone", "province", "city", "district", "detail", "postal_code", "is_default", "created_at"],
        ),
        "points": None
        if account is None
        else {
            "balance": account.balance,
            "pending": account.pending,
            "owed": account.debt,
            "lifetime_earned": account.lifetime_earned,
            "lifetime_spent": account.lifetime_spent,
            "lifetime_expired": account.lifetime_expired,
        },
        "ledger": _rows(
            Entry.objects.filter(account__user_id=user_id).order_by("pk"),
            [
                "id",
                "kind",
                "amount",
                "pending_amount",
                "debt_change",
                "balance_after",
                "reference",
                "memo_code",
                "memo_params",
                "memo",
                "created_at",
            ],
        ),
        "orders": orders,
        "reviews": _rows(
            Review.objects.filter(member_id=user_id).order_by("pk"), ["order_id", "rating", "text", "created_at"]
        ),
        "referrals": {
            "invited_by": invited_by.inviter.public_name if invited_by else None,
            "invited": [
                {
                    "friend": referral.invitee.public_name,
                    "status": referral.status,
                    "signed_up_at": _value(referral.created_at),
                    "signup_points": referral.signup_points,
                    "first_order_points": referral.first_order_points,
                }
                for referral in referrals
            ],
        },
        "checkins": _rows(
            Checkin.objects.filter(member_id=user_id).order_by("day"),
            ["day", "kind", "streak", "points", "bonus_points", "price", "created_at"],
        ),
        "tasks": [
            {**row, "task": row.pop("task__title")}
            for row in _rows(
                TaskProgress.objects.filter(member_id=user_id).order_by("pk"),
                ["task__title", "period_key", "status", "progress", "completed_at", "claimed_at", "reward_points"],
            )
        ],
        "surveys": _rows(
            SurveyResponse.objects.filter(member_id=user_id).order_by("pk"),
            ["task_id", "period_key", "answers", "submitted_at"],
        ),
        "draws": _rows(
            Draw.objects.filter(member_id=user_id).order_by("pk"),
            ["campaign_id", "number", "free", "cost_points", "outcome", "reward_reference", "created_at"],
        ),
        "notifications": [
            {"title": text.title, "body": text.body, "sent_at": _value(row.created_at), "read_at": _value(row.read_at)}
            for row in notifications
            for text in [row.text()]
        ],
    }
